"""Pictures shared by the lectures: the course's figure style and image grids.

A lecture calls :func:`style` once, in its first cell, so that every figure is drawn at 100 dpi with
fonts that stay legible in a static render. Every other function draws on an ``ax`` (made if not
given) and returns it, so a lecture can add a title and a sentence of its own. A picture joins this
module when a second lecture draws it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import checks

# The course's matplotlib settings: 100 dpi, fonts readable at that size, a light grid.
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (6.4, 3.6),
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
}

# Inches per image in an image grid: an 8 x 8 digit is drawn about 55 pixels wide at 100 dpi.
INCHES_PER_IMAGE = 0.55


def style() -> None:
    """Apply the course's figure settings (:data:`STYLE`) to matplotlib; call once per notebook."""
    plt.rcParams.update(STYLE)


def grid_size(n: int, nrow: int = 10) -> tuple[float, float]:
    """(width, height) in inches for ``n`` images at ``nrow`` per row, large enough to read.

    Use it to size a figure (or a row of a figure) that holds an :func:`image_grid`.
    """
    n, nrow = checks.positive_int(n, "n"), checks.positive_int(nrow, "nrow")
    cols, rows = min(nrow, n), -(-n // min(nrow, n))
    return 0.4 + INCHES_PER_IMAGE * cols, 0.5 + INCHES_PER_IMAGE * rows


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=float)


def image_grid(images, nrow: int = 10, ax=None, title: str | None = None, cmap: str = "gray_r",
               vmin: float | None = None, vmax: float | None = None, pad: int = 1):
    """Show images (N, H, W) or flat square images (N, H*W) as one grid with ``nrow`` per row.

    Without ``ax`` the figure is sized by :func:`grid_size`; with one, give its figure that room.
    """
    x = _to_numpy(images)
    nrow = checks.positive_int(nrow, "nrow")
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"images given flat, (N, H*W), must be square, got {x.shape[1]} pixels")
        x = x.reshape(-1, side, side)
    if x.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W) or (N, H*W), got {tuple(x.shape)}")
    n, h, w = x.shape
    ncol = min(nrow, n)
    rows = -(-n // ncol)
    lo = float(x.min()) if vmin is None else vmin
    grid = np.full((rows * (h + pad) - pad, ncol * (w + pad) - pad), float(lo))
    for i in range(n):
        r, c = divmod(i, ncol)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = x[i]
    if ax is None:
        width, height = grid_size(n, nrow)
        _, ax = plt.subplots(figsize=(min(width, 12), min(height, 12)))
    ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax
