"""Trading off two losses (lecture 02).

:func:`pareto_front` finds the non-dominated points among candidate loss vectors, and
:func:`scalarization_sweep` runs the usual recipe of machine learning: minimize
L1 + lambda L2 by gradient descent for a range of lambdas and see which trade-offs come out.

Losses are always minimized. Functions follow the device and dtype of their inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from . import checks

LossFn = Callable[[torch.Tensor], torch.Tensor]


def pareto_front(losses: torch.Tensor) -> torch.Tensor:
    """Boolean mask of the non-dominated rows of losses (N, M), every column a loss to minimize.

    Row i dominates row j when it is no worse in every loss and strictly better in one:
        all_m L[i, m] <= L[j, m]  and  any_m L[i, m] < L[j, m].
    The front is the set of rows that no row dominates. Equal rows do not dominate each other,
    so every copy of a front point is kept. Shapes: (N, M) -> (N,) bool. Lecture 02, section 1.
    M = 2 takes O(N log N) (a sort and a running minimum); other M compare all pairs in blocks.
    """
    losses = _losses(losses)
    n, m = losses.shape
    if n == 0:
        return torch.zeros(0, dtype=torch.bool, device=losses.device)
    if m == 2:
        return _front_two(losses if losses.dtype.is_floating_point else losses.to(torch.float64))
    dominated = torch.zeros(n, dtype=torch.bool, device=losses.device)
    block = max(1, 4_000_000 // (n * m))
    for start in range(0, n, block):
        cand = losses[start:start + block, None, :]      # (B, 1, M) candidates j
        no_worse = (losses[None] <= cand).all(-1)        # (B, N): row i <= row j everywhere
        better = (losses[None] < cand).any(-1)           # (B, N): row i < row j somewhere
        dominated[start:start + block] = (no_worse & better).any(1)
    return ~dominated


def _front_two(losses: torch.Tensor) -> torch.Tensor:
    """pareto_front for M = 2 in O(N log N): sort lexicographically, then a running minimum."""
    n = losses.shape[0]
    # Lexicographic order by (L1, L2): stable sort by L2, then stable sort by L1.
    by_second = torch.sort(losses[:, 1], stable=True).indices
    order = by_second[torch.sort(losses[by_second, 0], stable=True).indices]
    s = losses[order]  # (N, 2) sorted
    # Equal rows sit next to each other; each group of equal rows gets the index of its first row.
    new_group = torch.ones(n, dtype=torch.bool, device=losses.device)
    new_group[1:] = (s[1:] != s[:-1]).any(1)
    starts = torch.nonzero(new_group).squeeze(1)        # (G,)
    group = torch.cumsum(new_group.long(), 0) - 1       # (N,) group of each sorted row
    # Rows strictly before a group in this order are exactly its potential dominators:
    # L1_i < L1_j, or L1_i = L1_j and L2_i < L2_j. Row j is dominated iff one of them has L2_i <= L2_j.
    running_min = torch.cummin(s[:, 1], 0).values
    before = running_min[(starts - 1).clamp_min(0)]     # (G,) min L2 over the rows before group g
    dominated = (before[group] <= s[:, 1]) & (group > 0)  # nothing comes before the first group
    mask = torch.empty(n, dtype=torch.bool, device=losses.device)
    mask[order] = ~dominated
    return mask


def scalarization_sweep(loss1: LossFn, loss2: LossFn, init: torch.Tensor,
                        lambdas: torch.Tensor | Sequence[float], steps: int = 1000,
                        lr: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimize L1(w) + lambda L2(w) by plain gradient descent, for every lambda at once.

    w_{t+1} = w_t - lr * grad_w [L1(w_t) + lambda L2(w_t)],  t = 0 .. steps - 1
    loss1, loss2: batched losses, parameters (L, P) -> losses (L,) (one row per lambda).
    init: (P,) the same start for every lambda, or (L, P) one start each.
    lambdas: (L,) weights >= 0 (a tensor or a list of floats).
    Returns (points, params): points (L, 2) the reached (L1, L2), params (L, P) the reached w.
    Each row descends on its own objective: the rows do not interact. Lecture 02, section 2.
    """
    checks.function(loss1, "loss1")
    checks.function(loss2, "loss2")
    init = checks.as_floating(checks.tensor(init, "init", min_dim=1))
    steps = checks.positive_int(steps, "steps", minimum=0)
    lr = checks.number(lr, "lr", low=0, open_low=True)
    lambdas = checks.nonnegative(torch.as_tensor(lambdas, dtype=init.dtype, device=init.device), "lambdas")
    n = lambdas.numel()
    if lambdas.ndim != 1 or n == 0:
        raise ValueError(f"lambdas must be a non-empty 1-D sequence, got shape {tuple(lambdas.shape)}")
    if init.shape[:-1] not in ((), (n,)):
        raise ValueError(f"init must have shape (P,) or one row per lambda (L = {n}, P), got {tuple(init.shape)}")
    w = init.expand(n, init.shape[-1]).clone()  # (L, P)

    def losses(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        l1, l2 = loss1(w), loss2(w)
        if l1.shape != (n,) or l2.shape != (n,):
            raise ValueError(f"loss1 and loss2 must map parameters ({n}, P) to losses ({n},), "
                             f"got {tuple(l1.shape)} and {tuple(l2.shape)}")
        return l1, l2

    with torch.enable_grad():
        for step in range(steps):
            w.requires_grad_(True)
            l1, l2 = losses(w)
            # The rows are independent, so the gradient of the sum is every row's own gradient.
            (grad,) = torch.autograd.grad((l1 + lambdas * l2).sum(), w)
            w = (w - lr * grad).detach()
            if not bool(torch.isfinite(w).all()):
                raise FloatingPointError(f"gradient descent diverged at step {step}: lower lr (now {lr})")
    with torch.no_grad():
        l1, l2 = losses(w)
    return torch.stack([l1, l2], dim=1), w


# ----------------------------------------------------------------------------------------------
# The two-parameter examples of lecture 02: L1 pulls w towards (-1, 0), L2 towards (1, 0).

def pull_left(w: torch.Tensor) -> torch.Tensor:
    """L1(w) = (w_1 + 1)^2 + w_2^2, convex. Shapes: (..., 2) -> (...)."""
    return (w[..., 0] + 1) ** 2 + w[..., 1] ** 2


def pull_right(w: torch.Tensor) -> torch.Tensor:
    """L2(w) = (w_1 - 1)^2 + w_2^2, convex: with :func:`pull_left`, every trade-off is reachable.

    argmin L1 + lambda L2 = ((lambda - 1) / (lambda + 1), 0). Shapes: (..., 2) -> (...).
    """
    return (w[..., 0] - 1) ** 2 + w[..., 1] ** 2


def pull_right_bumped(w: torch.Tensor, height: float = 1.0, width: float = 0.2) -> torch.Tensor:
    """L2(w) = (w_1 - 1)^2 + w_2^2 + height * exp(-w_1^2 / width), not convex.

    The ridge across w_1 = 0 dents the Pareto front of (pull_left, pull_right_bumped): for
    0.75 < lambda < 2.2 (defaults) L1 + lambda L2 has two wells along w_2 = 0 (equally deep at
    lambda = 1, at w_1 = +-sqrt(width log(height / (2 width)))), so which one gradient descent
    reaches depends on where it starts. Shapes: (..., 2) -> (...).
    """
    return pull_right(w) + height * torch.exp(-w[..., 0] ** 2 / width)


# ----------------------------------------------------------------------------------------------
# Checks particular to this module, below the formulas (the shared ones are in course_lib.checks).

def _losses(losses) -> torch.Tensor:
    """``losses``: real numbers (N, M), M >= 1, no NaN (+inf is a loss like any other)."""
    if checks.matrix(losses, "losses", "(N, M)").shape[1] < 1:
        raise ValueError(f"losses must have shape (N, M) with M >= 1, got {tuple(losses.shape)}")
    if losses.dtype == torch.bool or losses.is_complex():
        raise TypeError(f"losses must be real numbers, got dtype {losses.dtype}")
    if bool(torch.isnan(losses).any()):
        raise ValueError(f"losses must not contain NaN, got NaN in row {int(torch.isnan(losses).any(1).nonzero()[0])}")
    return losses
