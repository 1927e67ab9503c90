"""Contrastive learning: representations without generation (lecture 09).

Two views of the same thing should land close together, views of different things far apart.
:func:`info_nce` is the loss (the symmetric form of SimCLR and CLIP), :func:`augment` makes the two
views of an 8x8 digit, :class:`DigitEncoder` maps a digit to a representation ``h`` and a projected
embedding ``z``, :func:`simclr_loss` ties them together for :func:`course_lib.train.fit`, and
:func:`linear_probe` measures a representation by how well a linear classifier reads labels off it.

Conventions: embeddings are rows, ``u`` and ``v`` have shape (N, D) and row i of ``u`` matches row
i of ``v``; digits are rows of 64 pixels scaled to [0, 1] (``digits()[0] / 16``). Functions follow
the device and dtype of their inputs; randomness only through ``generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib import checks
from course_lib.nets import mlp


def _embeddings(u, v) -> tuple[torch.Tensor, torch.Tensor]:
    checks.tensor(u, "u", floating=True)
    checks.tensor(v, "v", floating=True)
    if u.ndim != 2 or v.ndim != 2 or u.shape != v.shape:
        raise ValueError(f"u and v must both have shape (N, D), got {tuple(u.shape)} and {tuple(v.shape)}")
    if u.shape[0] < 1 or u.shape[1] < 1:
        raise ValueError(f"u and v must hold at least one row of at least one number, got {tuple(u.shape)}")
    return u, v


def similarity_logits(u: torch.Tensor, v: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """The similarity matrix of two batches of embeddings, divided by the temperature.

    S_ij = cos(u_i, v_j) / temperature = (u_i / ||u_i||) . (v_j / ||v_j||) / temperature
    Shapes: u (N, D), v (M, D) -> (N, M). Lecture 09, section 2.
    """
    checks.tensor(u, "u", floating=True)
    checks.tensor(v, "v", floating=True)
    if u.ndim != 2 or v.ndim != 2 or u.shape[1] != v.shape[1]:
        raise ValueError(f"u and v must have shapes (N, D) and (M, D), got {tuple(u.shape)} and {tuple(v.shape)}")
    temperature = checks.number(temperature, "temperature", low=0.0, open_low=True)
    return F.normalize(u, dim=1) @ F.normalize(v, dim=1).T / temperature


def info_nce(u: torch.Tensor, v: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Symmetric InfoNCE (the loss of SimCLR's two views and of CLIP), averaged over the batch.

    S = similarity_logits(u, v, temperature)           (N, N), the positives on the diagonal
    L_uv = (1/N) sum_i -log( exp S_ii / sum_j exp S_ij )   (find v_i among all v for each u_i)
    L_vu = (1/N) sum_j -log( exp S_jj / sum_i exp S_ij )   (find u_j among all u for each v_j)
    info_nce = (L_uv + L_vu) / 2
    Each direction is an N-way classification of the positive among N - 1 negatives: chance is
    log N, and I(U; V) >= log N - L_uv. Shapes: u, v (N, D) -> () scalar. Lecture 09, section 2.
    """
    u, v = _embeddings(u, v)
    logits = similarity_logits(u, v, temperature)                  # (N, N)
    targets = torch.arange(u.shape[0], device=u.device)             # row i's positive is column i
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


# ----------------------------------------------------------------------------------------------
# Two views of a digit

def augment(x: torch.Tensor, generator: torch.Generator | None = None, *, shift: float = 1.0,
            rotation: float = 15.0, noise: float = 0.1, cutout: int = 3,
            cutout_prob: float = 0.5) -> torch.Tensor:
    """A random view of each 8x8 digit: rotate, shift, add noise, blank out a square.

    Each image independently: rotate by an angle ~ U(-rotation, rotation) degrees and shift by
    (dx, dy) ~ U(-shift, shift)^2 pixels (bilinear resampling, zeros outside), then with probability
    ``cutout_prob`` set a random ``cutout`` x ``cutout`` square to 0, then add ``noise`` * N(0, 1) to
    every pixel. Any of them is switched off by setting it to 0. Pixels are expected in [0, 1].
    Shapes: x (N, 64) or (N, 8, 8) -> same shape, device and dtype. Lecture 09, section 3.
    """
    checks.tensor(x, "x", floating=True)
    if x.shape[-2:] != (8, 8) and (x.ndim != 2 or x.shape[1] != 64):
        raise ValueError(f"x must have shape (N, 64) or (N, 8, 8), got {tuple(x.shape)}")
    shift = checks.number(shift, "shift", low=0.0)
    rotation = checks.number(rotation, "rotation", low=0.0, high=180.0)
    noise = checks.number(noise, "noise", low=0.0)
    cutout = checks.positive_int(cutout, "cutout", minimum=0)
    cutout_prob = checks.number(cutout_prob, "cutout_prob", low=0.0, high=1.0)
    checks.generator(generator)
    n = x.shape[0]
    images = x.reshape(n, 1, 8, 8)
    # Affine map of the sampling grid in normalized coordinates: one pixel is 2/8 = 0.25.
    angle = (2 * checks.rand((n,), x, generator) - 1) * math.radians(rotation)
    offset = (2 * checks.rand((n, 2), x, generator) - 1) * shift * 0.25
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1),
                         torch.stack([sin, cos, offset[:, 1]], 1)], 1)        # (N, 2, 3)
    grid = F.affine_grid(theta, (n, 1, 8, 8), align_corners=False)            # (N, 8, 8, 2)
    out = F.grid_sample(images, grid, padding_mode="zeros", align_corners=False)
    if cutout > 0 and cutout_prob > 0:
        size = min(cutout, 8)
        corner = (checks.rand((n, 2), x, generator) * (9 - size)).floor()      # top-left in 0..8-size
        apply = checks.rand((n,), x, generator) < cutout_prob
        pos = torch.arange(8, device=x.device, dtype=x.dtype)
        rows = (pos >= corner[:, :1]) & (pos < corner[:, :1] + size)           # (N, 8)
        cols = (pos >= corner[:, 1:]) & (pos < corner[:, 1:] + size)           # (N, 8)
        hole = rows[:, :, None] & cols[:, None, :] & apply[:, None, None]      # (N, 8, 8)
        out = out.masked_fill(hole[:, None], 0.0)
    if noise > 0:
        out = out + noise * checks.randn(out.shape, x, generator)
    return out.reshape(x.shape)


# ----------------------------------------------------------------------------------------------
# The encoder and the SimCLR loss

@dataclass
class EncoderConfig:
    channels: tuple[int, int] = (32, 64)  # convolution widths: 8x8 -> 8x8 -> 4x4
    features: int = 128                   # size of the representation h (what the probe reads)
    embedding: int = 32                   # size of the projection z (what the loss sees)


class DigitEncoder(nn.Module):
    """A small convolutional encoder of 8x8 digits with a projection head (SimCLR's layout).

    h = features(x): conv3x3(1 -> c1) ReLU, conv3x3 stride 2 (c1 -> c2) ReLU, flatten, linear -> F
    z = forward(x) = head(h): linear F -> F, ReLU, linear F -> E
    The loss sees z; downstream tasks read h (the head absorbs what the loss needs but h need not
    keep). Shapes: x (N, 64) -> h (N, F) -> z (N, E).
    """

    def __init__(self, config: EncoderConfig | None = None):
        super().__init__()
        self.config = c = config or EncoderConfig()
        c1, c2 = c.channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(c2 * 16, c.features))
        self.head = mlp([c.features, c.features, c.embedding])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.reshape(-1, 1, 8, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.features(x)))


def simclr_loss(model: nn.Module, x: torch.Tensor, temperature: float = 0.2,
                generator: torch.Generator | None = None, **augmentation) -> torch.Tensor:
    """SimCLR on one batch: two independent views of every image, InfoNCE between their embeddings.

    loss = info_nce(model(augment(x)), model(augment(x)), temperature); ``augmentation`` goes to
    :func:`augment` (e.g. ``rotation=0`` to drop rotations). Shapes: x (N, 64) -> () scalar.
    """
    u = model(augment(x, generator, **augmentation))
    v = model(augment(x, generator, **augmentation))
    return info_nce(u, v, temperature)


# ----------------------------------------------------------------------------------------------
# Measuring a representation

def linear_probe(train_features: torch.Tensor, train_labels: torch.Tensor, test_features: torch.Tensor,
                 test_labels: torch.Tensor, c: float = 1.0, max_iter: int = 300) -> float:
    """Test accuracy of a multinomial logistic regression fitted on frozen features.

    Features are standardized with the training mean and standard deviation (a constant feature is
    left centred), then W, b minimize
        sum_i -log softmax(W^T f_i + b)_{y_i} + ||W||^2 / (2 c)
    (scikit-learn's ``LogisticRegression(C=c)``, bias unpenalized) by L-BFGS in float64.
    Returns the fraction of test rows whose most probable class is their label (a float in [0, 1]).
    Shapes: train_features (N, D), train_labels (N,) int, test_features (M, D), test_labels (M,) int.
    """
    for name, f, y in (("train", train_features, train_labels), ("test", test_features, test_labels)):
        checks.tensor(f, f"{name}_features")
        checks.tensor(y, f"{name}_labels")
        if f.ndim != 2 or y.ndim != 1 or f.shape[0] != y.shape[0] or f.shape[0] < 1:
            raise ValueError(f"{name}_features must be (N, D) and {name}_labels (N,) with N >= 1, "
                             f"got {tuple(f.shape)} and {tuple(y.shape)}")
        if y.dtype.is_floating_point or y.dtype == torch.bool:
            raise TypeError(f"{name}_labels must be an integer tensor, got dtype {y.dtype}")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"train and test features must have the same width, got "
                         f"{train_features.shape[1]} and {test_features.shape[1]}")
    c = checks.number(c, "c", low=0.0, open_low=True)
    max_iter = checks.positive_int(max_iter, "max_iter")
    classes, y = torch.unique(train_labels.detach().cpu(), return_inverse=True)
    f_train = train_features.detach().cpu().to(torch.float64)
    f_test = test_features.detach().cpu().to(torch.float64)
    mean, std = f_train.mean(0), f_train.std(0, unbiased=False)
    std = torch.where(std > 0, std, torch.ones_like(std))
    f_train, f_test = (f_train - mean) / std, (f_test - mean) / std
    if len(classes) == 1:  # one class seen: every prediction is that class
        return float((test_labels.cpu() == classes[0]).double().mean())
    w = torch.zeros(f_train.shape[1], len(classes), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=max_iter, tolerance_grad=1e-6,
                            tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

    def objective():
        opt.zero_grad()
        # the objective of the docstring divided by N (same minimizer, gradients of order 1)
        loss = F.cross_entropy(f_train @ w + b, y) + (w ** 2).sum() / (2 * c * len(y))
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(objective)
    predicted = classes[(f_test @ w.detach() + b.detach()).argmax(1)]
    return float((predicted == test_labels.cpu()).double().mean())


def few_labels(labels: torch.Tensor, per_class: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices of ``per_class`` examples of every class, drawn at random without replacement.

    The labelled set of a few-label probe: all of a class when it has fewer examples. Indices are
    grouped by class (classes in increasing order), on ``labels``' device.
    Shapes: labels (N,) int -> (about n_classes * per_class,) int64.
    """
    checks.tensor(labels, "labels")
    if labels.ndim != 1 or labels.dtype.is_floating_point:
        raise ValueError(f"labels must be a 1-D integer tensor, got shape {tuple(labels.shape)}, dtype {labels.dtype}")
    per_class = checks.positive_int(per_class, "per_class")
    checks.generator(generator)
    chosen = []
    for c in torch.unique(labels):
        rows = torch.nonzero(labels == c)[:, 0]
        order = checks.rand((len(rows),), labels, generator).argsort()
        chosen.append(rows[order[:per_class]])
    return torch.cat(chosen)


def probe_features(model: DigitEncoder, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """The representation h of every row of x, without gradients, in eval mode. (N, 64) -> (N, F)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        h = torch.cat([model.features(x[i:i + batch]) for i in range(0, len(x), batch)])
    model.train(was_training)
    return h
