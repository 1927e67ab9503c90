"""Hidden tests of exercise 02 (``check("pareto.pareto_front", fn)``).

The expected mask comes from the definition, checked pair by pair in plain numpy (brute force
O(N^2)), after the submitted function has returned. The inputs are small integers, so that many
rows tie in one loss and some rows are exact duplicates: a submission must handle "no worse
everywhere and strictly better somewhere" exactly.
"""

from __future__ import annotations

import numpy as np
import torch

from . import Case, Failure, as_tensor

# Every reference implementation in course_lib.pareto is disabled while a submission runs.
REFERENCES = tuple(f"course_lib.pareto.{name}" for name in (
    "pareto_front", "scalarization_sweep", "pull_left", "pull_right", "pull_right_bumped"))

N = 30


def _brute_force(losses: np.ndarray) -> np.ndarray:
    n = len(losses)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            if np.all(losses[i] <= losses[j]) and np.any(losses[i] < losses[j]):
                keep[j] = False
    return keep


def _inputs(g: torch.Generator) -> dict:
    """(N, M) losses: M = 2 or 3, integer levels 0..5 stored as floats (so many ties), with exact
    copies of two rows on the front and of one row off it, at random places."""
    m = 2 + int(torch.randint(0, 2, (1,), generator=g))
    losses = torch.randint(0, 6, (N - 3, m), generator=g).to(torch.float64)
    front = _brute_force(losses.numpy())
    on, off = np.flatnonzero(front), np.flatnonzero(~front)
    copies = [int(on[0]), int(on[-1]), int(off[0]) if off.size else 0]
    losses = torch.cat([losses, losses[copies]])
    return {"losses": losses[torch.randperm(N, generator=g)]}


def _call(fn, inputs: dict):
    result = fn(**inputs)
    if type(result) is not torch.Tensor or result.dtype != torch.bool:
        raise Failure("pareto_front must return a torch.Tensor of dtype torch.bool "
                      "(a mask: True for the rows on the front)")
    return result.to(torch.int64)  # the record holds numbers


def _judge(inputs: dict, output) -> None:
    actual = as_tensor(output, (N,), "pareto_front(losses)")
    losses = inputs["losses"].numpy()
    expected = _brute_force(losses)
    wrong = np.flatnonzero(actual.numpy().astype(bool) != expected)
    if wrong.size:
        kept_dominated = int(np.sum(actual.numpy()[wrong] == 1))
        raise Failure(
            f"pareto_front is wrong for {wrong.size} of {N} rows of a random (N, {losses.shape[1]}) input "
            f"({kept_dominated} dominated rows kept, {wrong.size - kept_dominated} front rows dropped). "
            "Losses are minimized; row i dominates row j when it is <= in every column and < in at "
            "least one; equal rows do not dominate each other.")


CASES = {
    "pareto_front": Case(_inputs, _judge, REFERENCES, call=_call, trials=6),
}
