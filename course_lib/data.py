"""Data sets of the course: all offline, all small, all seeded.

A generator takes an ``int`` ``seed`` and turns it into a ``torch.Generator`` once (the one place in
``course_lib`` where a seed is an int: see ``course_lib/__init__.py``).

- :func:`digits`: scikit-learn's 8x8 handwritten digits (ships with scikit-learn).
- :func:`ring_of_gaussians`, :func:`two_moons`: 2-D toy sets for density pictures.
- :func:`manifold16`: 4x4 images that live on a one-dimensional manifold, plus noise.
- :func:`mnist`: MNIST read straight from its IDX files when they are on disk (never downloads).
"""

from __future__ import annotations

import gzip
import math
import os
import struct
from pathlib import Path

import numpy as np
import torch

from . import checks

DIGITS_SPLITS = {"train": slice(0, 1000), "val": slice(1000, 1350), "test": slice(1350, 1797)}
DIGITS_LEVELS = 17  # pixel values are integers 0..16


def digits(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits as ``(x, y)``.

    x: (N, 64) int64 with levels 0..16; y: (N,) int64 labels 0..9.
    Splits follow scikit-learn's order: first 1000 ``"train"``, next 350 ``"val"``, last 447
    ``"test"`` (the split of the Deep Generative Modeling book's code, so NLLs compare), or ``"all"``.
    """
    from sklearn.datasets import load_digits

    if split != "all" and split not in DIGITS_SPLITS:
        raise ValueError(f"split must be one of {sorted(DIGITS_SPLITS)} or 'all', got {split!r}")
    bunch = load_digits()
    x = torch.from_numpy(bunch.data.astype(np.int64))
    y = torch.from_numpy(bunch.target.astype(np.int64))
    if split == "all":
        return x, y
    rows = DIGITS_SPLITS[split]
    return x[rows], y[rows]


def ring_of_gaussians(n: int, k: int = 8, radius: float = 2.0, std: float = 0.2,
                      seed: int = 0) -> torch.Tensor:
    """n points from an equal-weight mixture of k Gaussians whose means sit on a circle.

    Mean j = radius * (cos(2 pi j / k), sin(2 pi j / k)); covariance std^2 I.
    Returns (n, 2) float32.
    """
    n, k = checks.positive_int(n, "n"), checks.positive_int(k, "k")
    std = checks.number(std, "std", low=0, open_low=True)
    g = torch.Generator().manual_seed(checks.positive_int(seed, "seed", minimum=0))
    j = torch.randint(0, k, (n,), generator=g)
    angle = 2 * math.pi * j.float() / k
    means = radius * torch.stack([angle.cos(), angle.sin()], dim=1)
    return means + std * torch.randn(n, 2, generator=g)


def two_moons(n: int, noise: float = 0.08, seed: int = 0) -> torch.Tensor:
    """n points of scikit-learn's two interleaving half circles, (n, 2) float32."""
    from sklearn.datasets import make_moons

    n, noise = checks.positive_int(n, "n"), checks.number(noise, "noise", low=0)
    x, _ = make_moons(n_samples=n, noise=noise, random_state=checks.positive_int(seed, "seed", minimum=0))
    return torch.from_numpy(x.astype(np.float32))


# Phase of each of the 16 pixels of a 4x4 image: every row and column holds the four phases once,
# like a Latin square of four grey levels.
_MANIFOLD_PHASES = torch.tensor([[0, 1, 2, 3],
                                 [2, 0, 3, 1],
                                 [1, 3, 0, 2],
                                 [3, 2, 1, 0]], dtype=torch.float32).flatten() * (math.pi / 2)


def manifold16(n: int, noise: float = 0.05, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """16-pixel (4x4) images on a one-dimensional manifold, plus noise.

    z ~ Uniform[0, 4); pixel j = 1/2 + 1/2 cos(2 pi z / 4 + phase_j) + noise * N(0, 1).
    One number z explains each 16-dimensional image. Returns x: (n, 16), z: (n,), float32.
    """
    n, noise = checks.positive_int(n, "n"), checks.number(noise, "noise", low=0)
    g = torch.Generator().manual_seed(checks.positive_int(seed, "seed", minimum=0))
    z = 4 * torch.rand(n, generator=g)
    # (n, 1) + (16,) -> (n, 16)
    x = 0.5 + 0.5 * torch.cos(2 * math.pi * z[:, None] / 4 + _MANIFOLD_PHASES)
    return x + noise * torch.randn(n, 16, generator=g), z


_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """Read one IDX file (optionally .gz) into a tensor of its stored shape (uint8 data)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    if dtype_code != 0x08:
        raise ValueError(f"{path}: only unsigned-byte IDX files are supported, got type 0x{dtype_code:02x}")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != math.prod(shape):
        raise ValueError(f"{path}: expected {math.prod(shape)} values for shape {shape}, found {body.size}")
    return torch.from_numpy(body.reshape(shape).copy())


def mnist(root: str | os.PathLike = "data/MNIST", split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST from its IDX files under ``root`` (also ``root/raw``, ``.gz`` or not), never downloading.

    Returns x: (N, 28, 28) uint8, y: (N,) int64. Put the four files from the MNIST site in
    ``data/MNIST`` (torchvision's ``MNIST(root="data", download=True)`` leaves them in the
    ``raw/`` folder below, which is read too).
    """
    if split not in _MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)

    def find(stem: str) -> Path:
        for folder in (root, root / "raw"):
            for name in (stem, stem + ".gz"):
                if (folder / name).exists():
                    return folder / name
        raise FileNotFoundError(
            f"MNIST file {stem}[.gz] not found under {root} (or {root / 'raw'}); "
            "this course never downloads at run time: place the IDX files there first")

    images_file, labels_file = _MNIST_FILES[split]
    x = read_idx(find(images_file))
    y = read_idx(find(labels_file)).long()
    if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"MNIST files under {root} disagree: images {tuple(x.shape)}, labels {tuple(y.shape)}")
    return x, y
