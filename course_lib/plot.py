"""Pictures shared by the lectures: image grids, 1-D densities, 2-D densities and samples.

Every function draws on an ``ax`` (made if not given) and returns it, so a lecture can add a title
and a sentence of its own.
"""

from __future__ import annotations

from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=float)


def image_grid(images, nrow: int = 10, ax=None, title: str | None = None, cmap: str = "gray_r",
               vmin: float | None = None, vmax: float | None = None, pad: int = 1):
    """Show images (N, H, W) or flat square images (N, H*W) as one grid with ``nrow`` per row."""
    x = _to_numpy(images)
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"flat images must be square, got {x.shape[1]} pixels")
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


def densities_1d(xs, curves: dict, ax=None, title: str | None = None, fill: bool = False,
                 xlabel: str = "x", ylabel: str = "density"):
    """Plot several 1-D densities ``{label: values on xs}``; ``fill`` shades under each curve."""
    xs = _to_numpy(xs)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, ys in curves.items():
        ys = _to_numpy(ys)
        (line,) = ax.plot(xs, ys, label=label)
        if fill:
            ax.fill_between(xs, ys, alpha=0.2, color=line.get_color())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def density_2d(log_prob: Callable[[torch.Tensor], torch.Tensor], lim: float = 3.0, n: int = 200,
               ax=None, title: str | None = None, cmap: str = "viridis"):
    """Heat map of exp(log_prob) on the square [-lim, lim]^2 (``log_prob``: (M, 2) -> (M,))."""
    grid = torch.linspace(-lim, lim, n)
    xx, yy = torch.meshgrid(grid, grid, indexing="xy")
    pts = torch.stack([xx.flatten(), yy.flatten()], dim=1)
    with torch.no_grad():
        dens = log_prob(pts).exp().reshape(n, n)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(_to_numpy(dens), origin="lower", extent=(-lim, lim, -lim, lim), cmap=cmap)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def scatter_2d(points, ax=None, title: str | None = None, s: float = 4, alpha: float = 0.5, **kwargs):
    """Scatter plot of (N, 2) points with equal axes."""
    p = _to_numpy(points)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(p[:, 0], p[:, 1], s=s, alpha=alpha, **kwargs)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax
