"""Interactive explorers for JupyterLab (ipywidgets 8), with a static picture everywhere else.

Convention shared by every explorer of the course:
- an ``ipywidgets.VBox`` subclass with one ``FloatSlider`` per parameter (distinct ``description``),
  ``continuous_update=False`` so a drag asks for one redraw when it ends, not hundreds on the way;
- the figure is an ``ipywidgets.Image`` holding a small PNG (one redraw is one matplotlib render);
- the numbers are an ``ipywidgets.HTML`` of ``<span class="course-value" data-name="NAME">VALUE</span>``,
  so a browser test (tests/browser) can read exactly what the learner sees;
- ``_repr_mimebundle_`` adds that PNG, so without a widget front end (nbconvert, CI, a static viewer)
  the notebook still shows the explorer's picture.
"""

from __future__ import annotations

import html
import io
import time

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import divergences as D


def values_html(values: dict[str, float], digits: int = 4) -> str:
    """The numbers of an explorer as HTML spans ``class="course-value" data-name=NAME``."""
    items = "".join(
        f'<div class="course-row"><b>{html.escape(name)}</b> = '
        f'<span class="course-value" data-name="{html.escape(name)}">{value:.{digits}f}</span></div>'
        for name, value in values.items())
    return f'<div class="course-values" style="font-family: monospace; font-size: 14px">{items}</div>'


def figure_png(fig: Figure, dpi: int = 72) -> bytes:
    """Render a matplotlib figure to PNG bytes (Agg, no pyplot state)."""
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class Explorer(widgets.VBox):
    """Base class: sliders + picture + numbers; subclasses define ``compute()`` and ``draw(fig)``."""

    digits = 4

    def __init__(self, sliders: dict[str, widgets.FloatSlider], figsize=(6.0, 3.2), title: str = ""):
        self.sliders = sliders
        self.figure = Figure(figsize=figsize)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{int(figsize[0] * 72)}px"))
        self.numbers = widgets.HTML()
        self.redraw_seconds = 0.0
        header = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        controls = widgets.VBox(list(sliders.values()) + [self.numbers])
        super().__init__(header + [widgets.HBox([controls, self.image])])
        for slider in sliders.values():
            slider.observe(self._on_change, names="value")
        self.update()

    def params(self) -> dict[str, float]:
        return {name: float(s.value) for name, s in self.sliders.items()}

    def compute(self) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, fig: Figure) -> None:  # pragma: no cover - abstract
        """Draw the current state on ``fig`` (kept between calls: update artists, don't rebuild)."""
        raise NotImplementedError

    def update(self) -> dict[str, float]:
        """Recompute the numbers and redraw the picture for the current slider values."""
        start = time.perf_counter()
        self.values = self.compute()
        self.numbers.value = values_html(self.values, self.digits)
        self.draw(self.figure)
        self.png = figure_png(self.figure)
        self.image.value = self.png
        self.redraw_seconds = time.perf_counter() - start
        return self.values

    def _on_change(self, change) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data = dict(data)
        data["image/png"] = self.png
        data["text/plain"] = ", ".join(f"{k} = {v:.{self.digits}f}" for k, v in self.values.items())
        return data


def _slider(description: str, value: float, lo: float, hi: float, step: float) -> widgets.FloatSlider:
    return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                               continuous_update=False, readout_format=".2f",
                               style={"description_width": "60px"})


class DivergenceExplorer(Explorer):
    """Two normals p = N(mu_p, sigma_p^2) and q = N(mu_q, sigma_q^2), their overlap, and
    KL(p||q), KL(q||p), TV and JS, recomputed whenever a slider moves (lecture 01)."""

    NAMES = ("KL(p||q)", "KL(q||p)", "TV", "JS")

    def __init__(self, mu_p: float = 0.0, sigma_p: float = 1.0, mu_q: float = 1.0, sigma_q: float = 1.5):
        sliders = {
            "mu_p": _slider("mu_p", mu_p, -4.0, 4.0, 0.1),
            "sigma_p": _slider("sigma_p", sigma_p, 0.1, 3.0, 0.05),
            "mu_q": _slider("mu_q", mu_q, -4.0, 4.0, 0.1),
            "sigma_q": _slider("sigma_q", sigma_q, 0.1, 3.0, 0.05),
        }
        super().__init__(sliders, title="Divergences between two normals")

    def compute(self) -> dict[str, float]:
        return divergence_values(**self.params())

    def draw(self, fig: Figure) -> None:
        p = self.params()
        x = np.linspace(-7, 7, 400)
        dens_p = np.exp(-0.5 * ((x - p["mu_p"]) / p["sigma_p"]) ** 2) / (p["sigma_p"] * np.sqrt(2 * np.pi))
        dens_q = np.exp(-0.5 * ((x - p["mu_q"]) / p["sigma_q"]) ** 2) / (p["sigma_q"] * np.sqrt(2 * np.pi))
        if not fig.axes:  # first call: build the axes once; later calls only move the artists
            ax = fig.add_subplot()
            fig.subplots_adjust(left=0.11, right=0.97, bottom=0.15, top=0.88)
            self._line_p, = ax.plot(x, dens_p, label="p", color="C0")
            self._line_q, = ax.plot(x, dens_q, label="q", color="C1")
            self._fill = None
            ax.set_xlim(-7, 7)
            ax.set_xlabel("x")
            ax.set_ylabel("density")
        ax = fig.axes[0]
        self._line_p.set_ydata(dens_p)
        self._line_q.set_ydata(dens_q)
        if self._fill is not None:
            self._fill.remove()
        self._fill = ax.fill_between(x, np.minimum(dens_p, dens_q), color="C2", alpha=0.3,
                                     label="overlap = 1 - TV")
        ax.set_ylim(0, 1.1 * max(dens_p.max(), dens_q.max()))
        ax.set_title(f"TV = {self.values['TV']:.3f},  KL(p||q) = {self.values['KL(p||q)']:.3f}")
        ax.legend(loc="upper right", fontsize=8)


def divergence_values(mu_p: float, sigma_p: float, mu_q: float, sigma_q: float) -> dict[str, float]:
    """The four numbers the explorer shows, from ``course_lib.divergences`` (float64)."""
    t = [torch.tensor(float(v), dtype=torch.float64) for v in (mu_p, sigma_p, mu_q, sigma_q)]
    return {
        "KL(p||q)": float(D.kl_normal(*t)),
        "KL(q||p)": float(D.kl_normal(t[2], t[3], t[0], t[1])),
        "TV": float(D.tv_normal(*t)),
        "JS": float(D.js_normal(*t)),
    }


def divergence_explorer(**initial: float) -> DivergenceExplorer:
    """Build the lecture-01 explorer (see :class:`DivergenceExplorer`); display it as a cell's last line."""
    return DivergenceExplorer(**initial)
