"""Hidden tests of exercise 02 (``check("pareto.<name>", fn)``).

Oracles, all computed in plain numpy / Python after the submitted function has returned:

- ``hypervolume_2d``: the area is cut along every distinct coordinate of the points and of the
  reference into a grid of rectangular cells; a cell is inside the dominated region exactly when
  some point is <= its lower-left corner in both losses, so the area is the sum of those cells
  (brute force over cells, no sorting, no staircase). Inputs mix continuous points with points on a
  half-unit lattice (ties in one loss, points exactly on the reference's edges), and always hold
  dominated points, exact copies, and points beyond the reference in one loss or in both.
- ``epsilon_constraint_pick``: for every budget, a Python loop over the rows that meet it and
  ``min`` with the key (loss 1, loss 2, index). Losses are small integers stored as floats (many ties
  in each loss, exact copies); budgets sit exactly on loss levels, between them, below every row (no
  row qualifies) and above every row.
"""

from __future__ import annotations

import numpy as np
import torch

from . import Case, Failure, as_tensor

# Every function of course_lib.pareto is switched off while a submission runs.
REFERENCES = tuple(f"course_lib.pareto.{name}" for name in (
    "pareto_front", "scalarization_sweep", "pull_left", "pull_right", "pull_right_bumped"))

# --- hypervolume_2d ---------------------------------------------------------------------------------

N_HV = 23   # points per input (differs from the dimension 2)


def _hv_inputs(g: torch.Generator) -> dict:
    """23 points: 8 continuous (4 near the anti-diagonal of the box), 6 on a half-unit lattice, 3 dominated, 2 copies, 4 beyond the
    reference (2 in one loss only but better than everything in the other, 2 in both)."""
    f64 = torch.float64
    reference = torch.tensor([4.0, 3.5], dtype=f64) + torch.randint(0, 4, (2,), generator=g).to(f64) / 2
    # 4 points anywhere in the box, 4 near its anti-diagonal (so that several are on the front)
    anywhere = torch.rand(4, 2, generator=g, dtype=f64) * reference
    t = torch.rand(4, 1, generator=g, dtype=f64)
    diagonal = torch.cat([t, 1 - t], dim=1) * reference * (0.6 + 0.4 * torch.rand(4, 2, generator=g, dtype=f64))
    free = torch.cat([anywhere, diagonal])
    lattice = torch.randint(0, 2 * 4 + 1, (6, 2), generator=g).to(f64) / 2     # 0, 0.5, .., 4
    base = torch.cat([free, lattice])                                        # (14, 2)
    pick = torch.randint(0, len(base), (5,), generator=g)
    dominated = base[pick[:3]] + torch.rand(3, 2, generator=g, dtype=f64) * 0.5
    copies = base[pick[3:]]
    small = torch.rand(2, generator=g, dtype=f64) * 0.2                       # better than everything
    beyond_one = torch.stack([torch.stack([reference[0] + 0.5, small[0]]),
                              torch.stack([small[1], reference[1] + 1.0])])
    beyond_both = reference + 0.25 + torch.rand(2, 2, generator=g, dtype=f64)
    points = torch.cat([base, dominated, copies, beyond_one, beyond_both])
    return {"points": points[torch.randperm(N_HV, generator=g)], "reference": reference}


def _grid_area(points: np.ndarray, reference: np.ndarray) -> float:
    """Area of {z <= reference : p <= z for some p}, summed over the cells of the coordinate grid."""
    inside = points[(points < reference).all(axis=1)]
    if len(inside) == 0:
        return 0.0
    xs = np.unique(np.append(inside[:, 0], reference[0]))
    ys = np.unique(np.append(inside[:, 1], reference[1]))
    area = 0.0
    for x0, x1 in zip(xs[:-1], xs[1:]):
        for y0, y1 in zip(ys[:-1], ys[1:]):
            if np.any((inside[:, 0] <= x0) & (inside[:, 1] <= y0)):
                area += (x1 - x0) * (y1 - y0)
    return area


def _call_hv(fn, inputs: dict):
    result = fn(**inputs)
    if type(result) is torch.Tensor and result.numel() == 1 and result.dim() > 0:
        raise Failure(f"hypervolume_2d must return a 0-d tensor (a scalar), got shape {tuple(result.shape)}")
    return result


def _judge_hv(inputs: dict, output) -> None:
    actual = float(as_tensor(output, (), "hypervolume_2d(points, reference)"))
    points, reference = inputs["points"].numpy(), inputs["reference"].numpy()
    expected = _grid_area(points, reference)
    if abs(actual - expected) <= 1e-9 * max(1.0, abs(expected)):
        return
    clipped = np.minimum(points, reference)
    boxes = np.prod(reference - clipped, axis=1)
    if np.isclose(actual, boxes.sum()):
        hint = ("It looks like the sum of one rectangle per point: where the rectangles overlap, the "
                "area is counted several times. Count every piece of the region once.")
    elif np.isclose(actual, np.prod(reference - points, axis=1).sum()) or not np.isfinite(actual):
        hint = "Points beyond the reference must add nothing (no negative widths or heights)."
    elif actual > expected:
        hint = ("Too large: is some area counted twice (overlaps, copies of a point), or is area beyond "
                "the reference counted (a point with loss 1 >= reference[0] or loss 2 >= reference[1] "
                "adds nothing)?")
    else:
        hint = ("Too small: does a dominated point, or a point beyond the reference in one loss, cut "
                "area off? The region is the union over all points; a point beyond the reference or "
                "dominated by another adds nothing, and removes nothing either.")
    raise Failure(f"hypervolume_2d is wrong for a random set of {N_HV} points (with dominated points, "
                  f"copies, ties and points beyond the reference). {hint}")


# --- epsilon_constraint_pick ------------------------------------------------------------------------

N_EPS, E_EPS = 27, 13   # 27 candidates, 13 budgets (differ from each other and from 2)


def _eps_inputs(g: torch.Generator) -> dict:
    """(27, 2) integer losses as float64: loss 1 in 0..6 and loss 2 = 6 - loss 1 + 0..2, so that
    the rows trade off, many share a loss 1 with different losses 2, and many are exact copies (three
    copies are forced). 13 budgets from -1, -0.5, .., 9 that always include one below every row and
    one exactly on the smallest loss 2 + 1."""
    l1 = torch.randint(0, 7, (N_EPS - 3,), generator=g)
    l2 = 6 - l1 + torch.randint(0, 3, (N_EPS - 3,), generator=g)
    losses = torch.stack([l1, l2], dim=1).to(torch.float64)
    losses = torch.cat([losses, losses[torch.randint(0, N_EPS - 3, (3,), generator=g)]])
    losses = losses[torch.randperm(N_EPS, generator=g)]
    lowest = float(losses[:, 1].min())
    levels = torch.randint(-2, 19, (E_EPS - 2,), generator=g).to(torch.float64) / 2
    eps = torch.cat([levels, torch.tensor([lowest - 0.5, lowest + 1.0], dtype=torch.float64)])
    return {"losses": losses, "eps": eps[torch.randperm(E_EPS, generator=g)]}


def _loop_pick(losses: np.ndarray, budget: float) -> int:
    rows = [i for i in range(len(losses)) if losses[i, 1] <= budget]
    return min(rows, key=lambda i: (losses[i, 0], losses[i, 1], i)) if rows else -1


def _call_eps(fn, inputs: dict):
    result = fn(**inputs)
    if type(result) is not torch.Tensor or result.dtype.is_floating_point or result.dtype == torch.bool:
        raise Failure("epsilon_constraint_pick must return a torch.Tensor of integer row indices "
                      f"(dtype torch.int64), got {type(result).__name__} {getattr(result, 'dtype', '')}")
    return result


def _why_eps(losses: np.ndarray, budget: float, got: int, want: int) -> str:
    if want == -1:
        return "for a budget that no row meets, return -1"
    if got != -1 and not 0 <= got < len(losses):
        return f"{got} is not a row index of a table of {len(losses)} rows"
    if got != -1 and losses[got, 1] > budget:
        return ("the returned row breaks the constraint loss 2 <= eps "
                "(is the constraint on the wrong column?)")
    if losses[want, 1] == budget and (got == -1 or tuple(losses[got]) != tuple(losses[want])):
        return "a row whose loss 2 equals eps meets the budget (loss 2 <= eps)"
    if got == -1:
        return "a row meets the budget, yet -1 came back"
    if losses[got, 0] > losses[want, 0]:
        return "another row that meets the budget has a smaller loss 1"
    if losses[got, 1] > losses[want, 1]:
        return ("among the rows with the smallest loss 1, take the one with the smallest loss 2 "
                "(the other is dominated)")
    return "among rows equal in both losses, return the lowest index"


def _judge_eps(inputs: dict, output) -> None:
    actual = as_tensor(output, (E_EPS,), "epsilon_constraint_pick(losses, eps) for 13 budgets")
    losses, eps = inputs["losses"].numpy(), inputs["eps"].numpy()
    expected = [_loop_pick(losses, float(b)) for b in eps]
    wrong = [k for k in range(E_EPS) if float(actual[k]) != expected[k]]
    if wrong:
        ranked = sorted(range(len(losses)), key=lambda i: (losses[i, 0], losses[i, 1], i))
        positions = [ranked.index(w) if w >= 0 else -1 for w in expected]
        if all(float(actual[k]) == positions[k] for k in range(E_EPS) if expected[k] >= 0):
            raise Failure("epsilon_constraint_pick returns positions in a sorted order, not row indices "
                          "of losses: map them back through the order you sorted by.")
        k = wrong[0]
        got = float(actual[k])
        reason = _why_eps(losses, float(eps[k]), int(got) if got.is_integer() else -2, expected[k])
        raise Failure(f"epsilon_constraint_pick is wrong for {len(wrong)} of {E_EPS} budgets on a random "
                      f"(27, 2) table with ties and copies; for the first of them: {reason}.")


CASES = {
    "hypervolume_2d": Case(_hv_inputs, _judge_hv, REFERENCES, call=_call_hv, trials=6),
    "epsilon_constraint_pick": Case(_eps_inputs, _judge_eps, REFERENCES, call=_call_eps, trials=6),
}
