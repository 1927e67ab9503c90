"""Similarity explorer (lecture 09): the temperature of InfoNCE, seen on one batch.

Two views of 16 test digits (two calls of :func:`course_lib.contrastive.augment`, seeded) are embedded
by an encoder. Left: the cosine similarities cos(u_i, v_j) of the batch (they do not depend on the
temperature). Right: the probabilities softmax_j(cos(u_i, v_j) / T) with which each u_i picks its
partner among the 16 v_j: the positives sit on the diagonal. A low T sharpens every row towards its
most similar candidate (right or wrong), a high T blurs them all towards 1/16.

Numbers: T, the symmetric InfoNCE loss at T (:func:`course_lib.contrastive.info_nce`), log N (the
loss of a blind guess) and the mean probability given to the positive.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_lib.contrastive import DigitEncoder, EncoderConfig, augment, info_nce, simclr_loss
from course_lib.explorers.base import Explorer, slider

N_BATCH = 16


def explorer_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two seeded views (each (16, 64)) of 16 test digits (pixels / 16) and their labels (16,)."""
    from course_lib.data import digits

    x, y = digits("test")
    x, y = x[:N_BATCH].float() / 16, y[:N_BATCH]
    g = torch.Generator().manual_seed(0)
    return augment(x, g), augment(x, g), y


def embed(model: torch.nn.Module, views: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The projections z of both views, float64 on the CPU, without gradients."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        u, v = (model(view.to(device)).double().cpu() for view in views)
    model.train(was_training)
    return u, v


def quick_embeddings() -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings without training, for the quick build: the centred pixels of both views times a
    seeded random (64, 16) matrix (so similar-looking views still get similar embeddings)."""
    u, v, _ = explorer_batch()
    mean = torch.cat([u, v]).mean(0)
    projection = torch.randn(64, 16, generator=torch.Generator().manual_seed(1))
    return ((u - mean) @ projection).double(), ((v - mean) @ projection).double()


def train_small_encoder(epochs: int = 8, seed: int = 0) -> DigitEncoder:
    """A small SimCLR encoder trained on the 1000 training digits for a few seconds on a CPU."""
    from course_lib.data import digits
    from course_lib.train import FitConfig, fit

    torch.manual_seed(seed)
    model = DigitEncoder(EncoderConfig(channels=(16, 32)))
    g = torch.Generator().manual_seed(seed)
    fit(model, lambda m, x: simclr_loss(m, x, 0.1, g), digits("train")[0].float() / 16, None,
        FitConfig(epochs=epochs, batch_size=128, lr=3e-3, seed=seed, progress=False))
    return model.eval()


class SimilarityExplorer(Explorer):
    """Move ``T`` (the temperature) and watch the rows of a batch's softmax matrix sharpen or blur.

    ``u``, ``v``: (N, D) embeddings of two views, row i of u matching row i of v; ``labels``: the
    digit of each row (listed in the title), optional.
    """

    digits = 4

    def __init__(self, u: torch.Tensor, v: torch.Tensor, labels: torch.Tensor | None = None,
                 temperature: float = 0.1):
        self.u, self.v = u.detach().double().cpu(), v.detach().double().cpu()
        self.cos = (torch.nn.functional.normalize(self.u, dim=1)
                    @ torch.nn.functional.normalize(self.v, dim=1).T).numpy()
        self.labels = None if labels is None else [str(int(t)) for t in labels]
        self.probs = None
        super().__init__({"T": slider("T", temperature, 0.02, 2.0, 0.02)}, figsize=(7.0, 3.4),
                         title="Temperature: which partner each view picks")

    def compute(self) -> dict[str, float]:
        t = self.params()["T"]
        logits = self.cos / t
        logits = logits - logits.max(1, keepdims=True)
        self.probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        n = len(self.cos)
        return {"T": t, "InfoNCE": float(info_nce(self.u, self.v, t)), "log N": math.log(n),
                "p(positive)": float(np.diag(self.probs).mean())}

    def draw(self, fig) -> None:
        if not fig.axes:
            ax0, ax1 = fig.subplots(1, 2)
            ax0.imshow(self.cos, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
            digits = "" if self.labels is None else " of digits " + "".join(self.labels)
            ax0.set_title("cos(u_i, v_j)" + digits, fontsize=9)
            self.heat = ax1.imshow(self.probs, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
            self.heading = ax1.set_title("", fontsize=10)
            for ax in (ax0, ax1):
                ax.set_xlabel("v_j (second view)")
                ax.set_ylabel("u_i (first view)")
                ax.set_xticks([0, 5, 10, 15])
                ax.set_yticks([0, 5, 10, 15])
                ax.grid(False)
            fig.tight_layout()
        self.heat.set_data(self.probs)
        self.heading.set_text(f"softmax_j(cos / T), T = {self.values['T']:.2f}")


def similarity_explorer(model: torch.nn.Module | None = None, temperature: float = 0.1) -> SimilarityExplorer:
    """The explorer on two views of 16 test digits embedded by ``model`` (default: a small SimCLR
    encoder trained for a few seconds)."""
    model = train_small_encoder() if model is None else model
    u, v, labels = explorer_batch()
    return SimilarityExplorer(*embed(model, (u, v)), labels, temperature)


def quick_similarity_explorer() -> SimilarityExplorer:
    """The same explorer on an untrained encoder (no training; the browser oracle rebuilds it)."""
    u, v = quick_embeddings()
    return SimilarityExplorer(u, v, explorer_batch()[2])
