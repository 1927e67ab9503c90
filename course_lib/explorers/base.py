"""The base of every explorer: sliders, a picture and numbers (ipywidgets 8), a still picture elsewhere.

A subclass passes its sliders (made with :func:`slider`) to ``__init__`` and fills in the hooks
that :meth:`Explorer.update` calls, in this order, whenever a slider moves:

- ``compute() -> dict[str, float]``: the numbers shown, for the current ``params()``;
- ``build(fig)`` (optional, called once, before the first ``draw``): create the axes and artists;
- ``draw(fig)``: move the artists to the current values (``self.values`` holds what ``compute``
  returned). An explorer without ``build`` creates its axes in ``draw`` when ``fig.axes`` is empty.

The first paragraph of the subclass's docstring is its caption on ``lectures/explorers.ipynb``: say
what to move and what to watch.

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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


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
    """Base class: sliders + picture + numbers; subclasses define ``compute()``, ``draw(fig)`` and
    optionally ``build(fig)``."""

    digits = 4

    def __init__(self, sliders: dict[str, widgets.FloatSlider], figsize=(6.0, 3.2), title: str = ""):
        self.sliders = sliders
        self.figure = Figure(figsize=figsize)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{int(figsize[0] * 72)}px"))
        self.numbers = widgets.HTML()
        self.redraw_seconds = 0.0
        self._built = False
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

    def build(self, fig: Figure) -> None:
        """Create the axes and artists on ``fig``; called once, before the first ``draw``."""

    def draw(self, fig: Figure) -> None:  # pragma: no cover - abstract
        """Draw the current state on ``fig`` (kept between calls: update artists, don't rebuild)."""
        raise NotImplementedError

    def update(self) -> dict[str, float]:
        """Recompute the numbers and redraw the picture for the current slider values."""
        start = time.perf_counter()
        self.values = self.compute()
        self.numbers.value = values_html(self.values, self.digits)
        if not self._built:
            self.build(self.figure)
            self._built = True
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


def slider(description: str, value: float, lo: float, hi: float, step: float,
           readout_format: str = ".2f") -> widgets.FloatSlider:
    """A slider that redraws once per drag end or arrow key; the readout shows every digit of the step."""
    return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                               continuous_update=False, readout_format=readout_format,
                               style={"description_width": "60px"})
