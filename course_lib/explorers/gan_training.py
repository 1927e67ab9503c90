"""Lecture 08's explorer: a GAN on the ring of 8 Gaussians, step by step.

One slider moves through snapshots stored while the GAN trained (nothing is retrained on the slider):
the generator's samples from fixed noise, the discriminator's D(x) over the plane, and the number of
modes the samples cover. :func:`ring_snapshot` builds the snapshot function the lecture's training run
stores; :func:`gan_training_explorer` trains that run (a few seconds) when given no snapshots.
"""

from __future__ import annotations

import numpy as np
import torch

from ..gan import mode_coverage, ring_means
from .base import Explorer, slider

LIM = 3.2          # the plane shown: [-LIM, LIM]^2
GRID = 48          # discriminator surface resolution
N_SAMPLES = 400
RING_STD = 0.2
SNAPSHOT_EVERY = 100   # training steps between snapshots (the slider's step)


def ring_snapshot(latent_dim: int = 2, n_samples: int = N_SAMPLES, seed: int = 99, pack: int = 1):
    """``snapshot(step, G, D) -> dict`` for :func:`course_lib.gan.train_gan`: samples of G from fixed
    noise (n, 2), D(x) = sigmoid(logit) on a GRID x GRID grid, modes covered, high-quality fraction.
    With packing (pack > 1) the surface is D of a pack holding the same point ``pack`` times."""
    z = torch.randn(n_samples, latent_dim, generator=torch.Generator().manual_seed(seed))
    axis = torch.linspace(-LIM, LIM, GRID)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    points = torch.stack([xx.flatten(), yy.flatten()], dim=1)          # (GRID^2, 2)
    means = ring_means()

    def snapshot(step, generator, discriminator) -> dict:
        ref = next(generator.parameters())
        x = generator(z.to(ref)).cpu().float()
        surface = torch.sigmoid(discriminator(points.to(ref).repeat(1, pack))).reshape(GRID, GRID).cpu().float()
        modes, quality = mode_coverage(x, means, RING_STD)
        return {"samples": x.numpy(), "surface": surface.numpy(), "modes": modes, "quality": quality}

    return snapshot


class GANTrainingExplorer(Explorer):
    """Slider ``step`` over stored snapshots [(step, snapshot dict), ...]."""

    digits = 3

    def __init__(self, snapshots: list, data: torch.Tensor | None = None, title: str = "A GAN on the ring, step by step"):
        if len(snapshots) < 2:
            raise ValueError(f"snapshots must hold at least 2 training steps, got {len(snapshots)}")
        self.steps = np.array([s for s, _ in snapshots])
        self.states = [state for _, state in snapshots]
        self.data = data.numpy() if data is not None else None
        every = int(self.steps[1] - self.steps[0])
        last = int(self.steps[-1])
        sliders = {"step": slider("step", float(last), 0.0, float(last), float(every), readout_format=".0f")}
        self._artists = None
        super().__init__(sliders, figsize=(3.8, 3.8), title=title)

    def state(self) -> tuple[int, dict]:
        i = int(np.abs(self.steps - self.params()["step"]).argmin())
        return int(self.steps[i]), self.states[i]

    def compute(self) -> dict[str, float]:
        step, s = self.state()
        return {"step": float(step), "modes covered": float(s["modes"]), "within 3 std": s["quality"]}

    def draw(self, fig) -> None:
        step, s = self.state()
        if self._artists is None:
            ax = fig.add_axes([0.15, 0.13, 0.8, 0.78])
            image = ax.imshow(s["surface"], origin="lower", extent=(-LIM, LIM, -LIM, LIM), cmap="RdBu",
                              vmin=0, vmax=1, alpha=0.5, interpolation="nearest")
            if self.data is not None:
                ax.scatter(self.data[:, 0], self.data[:, 1], s=3, c="k", alpha=0.15, label="data")
            dots = ax.scatter(s["samples"][:, 0], s["samples"][:, 1], s=4, c="C1", label="G(z)")
            ax.set_xlim(-LIM, LIM), ax.set_ylim(-LIM, LIM)
            ax.set_xlabel("$x_1$"), ax.set_ylabel("$x_2$")
            ax.legend(loc="upper right", fontsize=8)
            self._artists = (ax, image, dots)
        ax, image, dots = self._artists
        image.set_data(s["surface"])
        dots.set_offsets(s["samples"])
        ax.set_title(f"step {step}: {s['modes']}/8 modes; blue = D says real", fontsize=9)


def gan_training_explorer(snapshots: list | None = None, data: torch.Tensor | None = None) -> GANTrainingExplorer:
    """The lecture's explorer. Without ``snapshots`` it trains the lecture's ring GAN (seconds)."""
    if snapshots is None:
        from ..gan import RING_FIX, train_ring_gan

        _, _, history = train_ring_gan(RING_FIX, seed=0, snapshot_every=SNAPSHOT_EVERY)
        snapshots = history["snapshots"]
    if data is None:
        from ..data import ring_of_gaussians

        data = ring_of_gaussians(300, seed=1)
    return GANTrainingExplorer(snapshots, data)


def quick_gan_training_explorer() -> GANTrainingExplorer:
    """The same explorer, same slider step, on the first 200 steps of the run (about a second)."""
    from dataclasses import replace

    from ..gan import RING_FIX, train_ring_gan

    _, _, history = train_ring_gan(replace(RING_FIX, steps=2 * SNAPSHOT_EVERY), seed=0,
                                   snapshot_every=SNAPSHOT_EVERY)
    return gan_training_explorer(history["snapshots"])
