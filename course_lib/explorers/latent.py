"""The latent explorer of lecture 04: two sliders move a point z in the 2-D latent space of a VAE and
the decoder's image of z is redrawn.

:class:`LatentExplorer` has the sliders "z1" and "z2" (see :mod:`course_lib.explorers.base`).
Left: the means of q(z | x) of training digits (coloured by label) and the current z; right: the
expected image E[x | z] of the decoder. The numbers say how typical z is under the prior p(z) = N(0, I):
log p(z) = -|z|^2 / 2 - log(2 pi), and P(|Z| > |z|) = exp(-|z|^2 / 2) for Z ~ p(z).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.figure import Figure

from ..vae import VAE, VAEConfig, expected_image
from .base import Explorer, slider

LIM, STEP = 3.0, 0.05


def prior_values(z1: float, z2: float) -> dict[str, float]:
    """The explorer's numbers: log N(z; 0, I) in 2-D and P(|Z| > |z|) = exp(-|z|^2 / 2) (float64)."""
    r2 = float(z1) ** 2 + float(z2) ** 2
    return {"log p(z)": -0.5 * r2 - math.log(2 * math.pi), "P(|Z|>|z|)": math.exp(-0.5 * r2)}


def train_latent_vae(epochs: int = 60, seed: int = 0, progress: bool = False) -> VAE:
    """A VAE with a 2-D latent on the digits' training split, seeded (a few seconds on a CPU)."""
    from ..data import digits
    from ..train import FitConfig, fit

    torch.manual_seed(seed)
    model = VAE(VAEConfig(latent_dim=2, hidden=128, level_rank=2))
    x_train, _ = digits("train")
    x_val, _ = digits("val")
    fit(model, VAE.loss, x_train, x_val,
        FitConfig(epochs=epochs, batch_size=64, lr=2e-3, seed=seed, progress=progress,
                  description="2-D VAE"))
    return model


class LatentExplorer(Explorer):
    """Move z = (z1, z2) across the latent plane of a small VAE: the cross moves over the encoded
    digits, the right picture is what the decoder draws at z, and the numbers say how typical z is
    under the prior p(z) = N(0, I).

    ``model``: a :class:`course_lib.vae.VAE` with ``latent_dim == 2`` (its decoder returns a
    distribution; the picture shows its expected image). ``x``, ``labels``: digits whose encoder
    means are drawn as the map of the latent space (default: the first 500 training digits).
    """

    digits = 4

    def __init__(self, model: VAE, x: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                 z1: float = 0.0, z2: float = 0.0):
        if not isinstance(model, VAE) or model.config.latent_dim != 2:
            raise ValueError("model must be a course_lib.vae.VAE with latent_dim == 2")
        if x is None:
            from ..data import digits
            x, labels = digits("train")
            x, labels = x[:500], labels[:500]
        self.model = model.eval()
        device = next(model.parameters()).device
        self.device = device
        with torch.no_grad():
            self.codes = model.encoder(x.to(device))[0].cpu().numpy()              # (N, 2) means of q(z|x)
        self.labels = None if labels is None else np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
        self.side = int(round(math.sqrt(model.config.data_dim)))
        sliders = {"z1": slider("z1", z1, -LIM, LIM, STEP), "z2": slider("z2", z2, -LIM, LIM, STEP)}
        super().__init__(sliders, figsize=(6.4, 3.2), title="Decoding a point of the 2-D latent space")

    def compute(self) -> dict[str, float]:
        p = self.params()
        return prior_values(p["z1"], p["z2"])

    def decoded_image(self) -> np.ndarray:
        """The decoder's expected image at the current z, (side, side) on [0, 1]."""
        p = self.params()
        z = torch.tensor([[p["z1"], p["z2"]]], device=self.device,
                         dtype=next(self.model.parameters()).dtype)
        with torch.no_grad():
            img = expected_image(self.model.decoder(z))[0]
        return img.reshape(self.side, self.side).cpu().numpy()

    def build(self, fig: Figure) -> None:
        ax, ax2 = fig.subplots(1, 2)
        fig.subplots_adjust(left=0.1, right=0.97, bottom=0.15, top=0.86, wspace=0.25)
        ax.scatter(self.codes[:, 0], self.codes[:, 1], c=self.labels, cmap="tab10", s=4, alpha=0.6,
                   rasterized=True)
        self._marker, = ax.plot([], [], "x", color="k", ms=12, mew=2.5)
        ax.set_xlim(-LIM, LIM)
        ax.set_ylim(-LIM, LIM)
        ax.set_aspect("equal")
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
        ax.set_title("encoded digits (colour: label) and z", fontsize=9)
        self._image = ax2.imshow(np.zeros((self.side, self.side)), cmap="gray_r", vmin=0, vmax=1,
                                 interpolation="nearest")
        ax2.set_xticks([])
        ax2.set_yticks([])

    def draw(self, fig: Figure) -> None:
        p = self.params()
        self._marker.set_data([p["z1"]], [p["z2"]])
        self._image.set_data(self.decoded_image())
        fig.axes[1].set_title(f"E[x | z] at z = ({p['z1']:.2f}, {p['z2']:.2f})", fontsize=9)


def latent_explorer(model: VAE | None = None, **initial: float) -> LatentExplorer:
    """Build the lecture-04 explorer (see :class:`LatentExplorer`); display it as a cell's last line.

    Without a model it trains the small 2-D VAE of :func:`train_latent_vae` first (seconds).
    """
    return LatentExplorer(model if model is not None else train_latent_vae(), **initial)


def untrained_latent_explorer() -> LatentExplorer:
    """The explorer around an untrained 2-D VAE: the same sliders, numbers and update cost as
    :func:`latent_explorer` without its training (the registry's quick build, for tests and benchmarks)."""
    return LatentExplorer(VAE(VAEConfig(latent_dim=2, hidden=128, level_rank=2)))
