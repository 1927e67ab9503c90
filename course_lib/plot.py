"""Pictures shared by the lectures: image grids.

Every function draws on an ``ax`` (made if not given) and returns it, so a lecture can add a title
and a sentence of its own. A picture joins this module when a second lecture draws it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import checks


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=float)


def image_grid(images, nrow: int = 10, ax=None, title: str | None = None, cmap: str = "gray_r",
               vmin: float | None = None, vmax: float | None = None, pad: int = 1):
    """Show images (N, H, W) or flat square images (N, H*W) as one grid with ``nrow`` per row."""
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
        _, ax = plt.subplots(figsize=(min(1 + 0.5 * ncol, 10), min(1 + 0.5 * rows, 10)))
    ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax
