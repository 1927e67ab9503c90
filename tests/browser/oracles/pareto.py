"""Oracle of the pareto explorer (lecture 02), for the bumped problem that the lecture displays."""

from __future__ import annotations

import torch

from course_lib import pareto as P
from course_lib.explorers import pareto as W

CALL = r"pareto_explorer\((problem=)?(\"bumped\")?\)"  # the oracle is for the bumped problem


def oracle(values: dict[str, float]) -> dict[str, float]:
    """Where gradient descent on L1 + lambda L2 from (start, 0.5) ends, and its excess over the best of
    it and the descents from (+-1.5, 0.5): a fresh run of course_lib.pareto.scalarization_sweep (the
    explorer looks its answers up in a table precomputed at construction)."""
    loss1, loss2 = W.PROBLEMS["bumped"]
    starts = [values["start"], *W.REFERENCE_STARTS]
    init = torch.tensor([[s, W.START_W2] for s in starts], dtype=torch.float64)        # (3, 2)
    lams = [values["lambda"]] * len(starts)
    points, _ = P.scalarization_sweep(loss1, loss2, init, lams, steps=W.STEPS, lr=W.LR)  # (3, 2)
    objective = points[:, 0] + values["lambda"] * points[:, 1]
    return {"L1": points[0, 0].item(), "L2": points[0, 1].item(),
            "excess": (objective[0] - objective.min()).item()}
