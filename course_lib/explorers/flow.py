"""Flow explorer (lecture 06): step through the layers of a trained 2-D flow; sample at a temperature.

Left: test points of the ring of 8 Gaussians after the first ``layer`` layers of the flow (layer 0 is
the data, the last layer is z, which should look like N(0, I)), coloured by the angle of each point
in the data, so you can follow each mode through the layers. Right: the flow's density and samples
x = f^{-1}(T eps), eps ~ N(0, I), for the temperature T (T < 1 keeps the samples near the modes).

Numbers: the layer, the mean log|det J| of the first ``layer`` layers over the points, the
temperature, and the mean log-density the flow gives its own samples at that temperature.
"""

from __future__ import annotations

import numpy as np
import torch

from course_lib.data import ring_of_gaussians
from course_lib.explorers.base import Explorer, slider
from course_lib.flows import AffineCoupling, Flow, realnvp
from course_lib.train import FitConfig, fit

N_POINTS = 1000
LIM = 3.2
GRID = 80


def ring_flow(n_layers: int = 8, hidden: int = 32, seed: int = 0) -> Flow:
    """The explorer's flow for the ring: realnvp(2, n_layers, hidden), seeded."""
    torch.manual_seed(seed)
    return realnvp(2, n_layers, hidden)


def train_ring_flow(epochs: int = 20, seed: int = 0) -> Flow:
    """A small ring flow trained for a few seconds (4000 points, early stopped on 1000 more)."""
    flow = ring_flow(seed=seed)
    fit(flow, lambda m, x: -m.log_prob(x).mean(), ring_of_gaussians(4000, seed=10),
        ring_of_gaussians(1000, seed=11), FitConfig(epochs=epochs, batch_size=128, lr=3e-3, progress=False))
    return flow.eval()


def quick_flow(seed: int = 0) -> Flow:
    """The ring flow without training: ActNorm set from the data, couplings with small seeded weights
    (so every layer moves the points a little, and the browser oracle can rebuild it)."""
    flow = ring_flow(seed=seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        flow.train()
        flow(ring_of_gaussians(N_POINTS, seed=12))          # ActNorm's data-dependent initialisation
        for layer in flow.layers:
            if isinstance(layer, AffineCoupling):
                last = layer.net[-1]
                last.weight.copy_(0.3 * torch.randn(last.weight.shape, generator=g))
                last.bias.copy_(0.3 * torch.randn(last.bias.shape, generator=g))
    return flow.eval()


def explorer_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """The explorer's fixed points (ring test points) and base noise (seeded)."""
    points = ring_of_gaussians(N_POINTS, seed=12)
    eps = torch.randn(N_POINTS, 2, generator=torch.Generator().manual_seed(13))
    return points, eps


class FlowExplorer(Explorer):
    """Move ``layer`` to follow the ring's points through a trained 2-D flow, one layer at a time, until
    they look like N(0, I); move ``T`` to sample at a temperature (T < 1: samples crowd into the modes).

    Sliders: ``layer`` (0 .. number of layers) and ``T``; numbers: the mean log|det J| of the first
    ``layer`` layers over the points, and the mean log-density of the samples.
    """

    digits = 3

    def __init__(self, flow: Flow, points: torch.Tensor | None = None):
        flow = flow.eval()
        default_points, self.eps = explorer_inputs()
        self.points = default_points if points is None else points[:N_POINTS].float()
        self.flow = flow
        n = len(flow.layers)
        with torch.no_grad():
            self.path = [p.numpy() for p in flow.steps(self.points)]
            dets = [torch.zeros(len(self.points))]
            x = self.points
            for layer in flow.layers:
                x, ld = layer(x)
                dets.append(dets[-1] + ld)
            self.log_dets = [float(d.mean()) for d in dets]
            grid = torch.linspace(-LIM, LIM, GRID)
            xx, yy = torch.meshgrid(grid, grid, indexing="xy")
            self.density = flow.log_prob(torch.stack([xx.flatten(), yy.flatten()], 1)).exp().reshape(GRID, GRID).numpy()
        self.names = ["data"] + [type(layer).__name__ for layer in flow.layers]
        self.colour = np.arctan2(self.points[:, 1].numpy(), self.points[:, 0].numpy())
        self.samples = None
        super().__init__({"layer": slider("layer", 0.0, 0.0, float(n), 1.0, readout_format=".0f"),
                          "T": slider("T", 1.0, 0.1, 1.5, 0.1, readout_format=".1f")},
                         figsize=(6.6, 3.4), title="A 2-D flow, layer by layer, and its samples")

    def compute(self) -> dict[str, float]:
        p = self.params()
        k, temperature = int(round(p["layer"])), p["T"]
        with torch.no_grad():
            self.samples = self.flow.inverse(temperature * self.eps)
            log_p = self.flow.log_prob(self.samples)
        self.layer = k
        return {"layer": float(k), "mean log|det J|": self.log_dets[k], "T": temperature,
                "mean log p(sample)": float(log_p.mean())}

    def draw(self, fig) -> None:
        k = self.layer
        pts, smp = self.path[k], self.samples.numpy()
        if not fig.axes:
            ax0, ax1 = fig.subplots(1, 2)
            self.cloud = ax0.scatter(pts[:, 0], pts[:, 1], c=self.colour, cmap="hsv", s=3, alpha=0.6)
            ax0.set_xlim(-4, 4)
            ax0.set_ylim(-4, 4)
            ax0.set_xlabel("coordinate 1")
            ax0.set_ylabel("coordinate 2")
            ax1.imshow(self.density, origin="lower", extent=(-LIM, LIM, -LIM, LIM), cmap="Greys")
            self.dots = ax1.scatter(smp[:, 0], smp[:, 1], s=3, color="C1", alpha=0.6, label="samples")
            ax1.set_xlim(-LIM, LIM)
            ax1.set_ylim(-LIM, LIM)
            ax1.set_xlabel("$x_1$")
            ax1.set_ylabel("$x_2$")
            ax1.legend(loc="upper right", fontsize=7)
            for ax in (ax0, ax1):   # few tick labels: text is most of a redraw's time
                ax.set_xticks([-3, 0, 3])
                ax.set_yticks([-3, 0, 3])
        first = not hasattr(self, "_laid_out")
        ax0, ax1 = fig.axes[:2]
        self.cloud.set_offsets(pts)
        self.dots.set_offsets(smp)
        ax0.set_title(f"after {k} layers ({self.names[k]})" if k else "data (layer 0)", fontsize=9)
        ax1.set_title(f"density and samples, T = {self.params()['T']:.1f}", fontsize=9)
        if first:   # after the titles exist, so that they fit
            fig.tight_layout()
            self._laid_out = True


def flow_explorer(flow: Flow | None = None, points: torch.Tensor | None = None) -> FlowExplorer:
    """The explorer for ``flow`` (by default a ring flow trained here in a few seconds)."""
    return FlowExplorer(flow if flow is not None else train_ring_flow(), points)


def quick_flow_explorer() -> FlowExplorer:
    """The same explorer on the untrained :func:`quick_flow` (tests, widget benchmark)."""
    return FlowExplorer(quick_flow())
