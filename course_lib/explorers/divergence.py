"""The divergence explorer of lecture 01: two normals, their overlap, and four divergences between them.

Sliders move the means and standard deviations of p = N(mu_p, sigma_p^2) and q = N(mu_q, sigma_q^2);
the numbers are KL(p||q), KL(q||p), TV and JS from :mod:`course_lib.divergences` (float64).
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from .. import divergences as D
from .base import Explorer, slider

X = np.linspace(-7, 7, 400)  # where the densities are drawn


def divergence_values(mu_p: float, sigma_p: float, mu_q: float, sigma_q: float) -> dict[str, float]:
    """The four numbers the explorer shows, from ``course_lib.divergences`` (float64)."""
    t = [torch.tensor(float(v), dtype=torch.float64) for v in (mu_p, sigma_p, mu_q, sigma_q)]
    return {
        "KL(p||q)": float(D.kl_normal(*t)),
        "KL(q||p)": float(D.kl_normal(t[2], t[3], t[0], t[1])),
        "TV": float(D.tv_normal(*t)),
        "JS": float(D.js_normal(*t)),
    }


def _density(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    # N(x; mu, sigma^2) = exp(-(x - mu)^2 / (2 sigma^2)) / (sigma sqrt(2 pi))
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))


class DivergenceExplorer(Explorer):
    """Move the means and standard deviations of p and q: the shaded overlap has area 1 - TV, and
    KL grows without bound while TV and JS saturate.

    p = N(mu_p, sigma_p^2), q = N(mu_q, sigma_q^2); the numbers are KL(p||q), KL(q||p), TV and JS,
    recomputed whenever a slider moves (lecture 01).
    """

    def __init__(self, mu_p: float = 0.0, sigma_p: float = 1.0, mu_q: float = 1.0, sigma_q: float = 1.5):
        sliders = {
            "mu_p": slider("mu_p", mu_p, -4.0, 4.0, 0.1),
            "sigma_p": slider("sigma_p", sigma_p, 0.1, 3.0, 0.05),
            "mu_q": slider("mu_q", mu_q, -4.0, 4.0, 0.1),
            "sigma_q": slider("sigma_q", sigma_q, 0.1, 3.0, 0.05),
        }
        super().__init__(sliders, title="Divergences between two normals")

    def compute(self) -> dict[str, float]:
        return divergence_values(**self.params())

    def build(self, fig: Figure) -> None:
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.11, right=0.97, bottom=0.15, top=0.88)
        self._line_p, = ax.plot(X, np.zeros_like(X), label="p", color="C0")
        self._line_q, = ax.plot(X, np.zeros_like(X), label="q", color="C1")
        self._fill = None
        ax.set_xlim(X[0], X[-1])
        ax.set_xlabel("x")
        ax.set_ylabel("density")

    def draw(self, fig: Figure) -> None:
        p = self.params()
        dens_p = _density(X, p["mu_p"], p["sigma_p"])
        dens_q = _density(X, p["mu_q"], p["sigma_q"])
        ax = fig.axes[0]
        self._line_p.set_ydata(dens_p)
        self._line_q.set_ydata(dens_q)
        if self._fill is not None:
            self._fill.remove()
        self._fill = ax.fill_between(X, np.minimum(dens_p, dens_q), color="C2", alpha=0.3,
                                     label="overlap = 1 - TV")
        ax.set_ylim(0, 1.1 * max(dens_p.max(), dens_q.max()))
        ax.set_title(f"TV = {self.values['TV']:.3f},  KL(p||q) = {self.values['KL(p||q)']:.3f}")
        ax.legend(loc="upper right", fontsize=8)


def divergence_explorer(**initial: float) -> DivergenceExplorer:
    """Build the lecture-01 explorer (see :class:`DivergenceExplorer`); display it as a cell's last line."""
    return DivergenceExplorer(**initial)
