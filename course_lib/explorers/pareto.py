"""The lambda explorer of lecture 02: minimizing L1 + lambda L2 moves the solution along the Pareto front.

:class:`ParetoExplorer` has the sliders "lambda" and "start" (see :mod:`course_lib.explorers.base`).
For the current lambda it runs gradient descent on L1 + lambda L2 from w = (start, 0.5) with
:func:`course_lib.pareto.scalarization_sweep`, and shows where it ends (L1, L2) and how much worse
that end is than the best of three descents: its own and two started at either end of the front
("excess"; 0 when the descent found the global minimum of this problem).
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from ..pareto import pareto_front, pull_left, pull_right, pull_right_bumped, scalarization_sweep
from .base import Explorer, slider

PROBLEMS = {"bumped": (pull_left, pull_right_bumped), "convex": (pull_left, pull_right)}
START_W2 = 0.5                  # second coordinate of every starting point
REFERENCE_STARTS = (-1.5, 1.5)  # descents from both sides: the better end is the global minimum here
STEPS, LR = 300, 0.03           # lr < 2 / (largest curvature of L1 + 4 L2, about 28) keeps descent stable
LAMBDA_RANGE, LAMBDA_STEP = (0.0, 4.0), 0.05
START_RANGE, START_STEP = (-2.0, 2.0), 0.1


def _descents(loss1, loss2, lams: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient descent on L1 + lambda L2 for every (lambda, start) pair and for the two reference
    starts: points (len(lams), len(starts) + 2, 2) and the reached w_1 (len(lams), len(starts) + 2)."""
    every_start = torch.cat([starts, torch.tensor(REFERENCE_STARTS, dtype=starts.dtype)])
    n_lam, n_start = len(lams), len(every_start)
    init = torch.stack([every_start.repeat(n_lam), torch.full((n_lam * n_start,), START_W2, dtype=starts.dtype)], 1)
    # One batched call: the rows of scalarization_sweep do not interact.
    points, params = scalarization_sweep(loss1, loss2, init, lams.repeat_interleave(n_start), steps=STEPS, lr=LR)
    return points.reshape(n_lam, n_start, 2), params[:, 0].reshape(n_lam, n_start)


def _values(lam: float, points: torch.Tensor, w1: torch.Tensor, row: int) -> dict[str, float]:
    objective = points[:, 0] + lam * points[:, 1]
    best = torch.minimum(objective[-len(REFERENCE_STARTS):].min(), objective[row])  # excess >= 0
    return {"L1": float(points[row, 0]), "L2": float(points[row, 1]),
            "excess": float(objective[row] - best), "_w1": float(w1[row])}


def pareto_values(loss1, loss2, lam: float, start: float) -> dict[str, float]:
    """The explorer's numbers: (L1, L2) reached by gradient descent on L1 + lambda L2 from
    (start, 0.5), and its excess L1 + lambda L2 over the best of itself and the descents from
    (-1.5, 0.5) and (1.5, 0.5) (float64; "_w1" is where the descent ended, for the picture)."""
    lams = torch.tensor([lam], dtype=torch.float64)
    points, w1 = _descents(loss1, loss2, lams, torch.tensor([start], dtype=torch.float64))
    return _values(lam, points[0], w1[0], 0)


class ParetoExplorer(Explorer):
    """Move lambda and watch where gradient descent on L1 + lambda L2 lands on the Pareto front; move
    the start near lambda = 1 to see that on a dented front the answer depends on where descent begins.

    Left: the losses (L1(w), L2(w)) of a grid of parameters w in [-2, 2]^2 (grey), their Pareto front
    (black), the line L1 + lambda L2 = its minimum over the grid (dashed: every point of the grey set
    lies on or above it), and the end of gradient descent (red). Right: L1 + lambda L2 along w_2 = 0,
    where the descent started and where it ended. Lecture 02, section 4.
    """

    def __init__(self, problem: str = "bumped", lam: float = 1.5, start: float = -1.5):
        if problem not in PROBLEMS:
            raise ValueError(f"problem must be one of {sorted(PROBLEMS)}, got {problem!r}")
        self.problem = problem
        self.loss1, self.loss2 = PROBLEMS[problem]
        grid = torch.linspace(-2, 2, 121, dtype=torch.float64)
        w = torch.stack(torch.meshgrid(grid, grid, indexing="xy"), dim=-1).reshape(-1, 2)  # (M, 2)
        self.grid_losses = torch.stack([self.loss1(w), self.loss2(w)], dim=1)            # (M, 2)
        self.front = pareto_front(self.grid_losses)
        self.slice_w1 = np.linspace(-2, 2, 401)
        line = torch.tensor(np.stack([self.slice_w1, np.zeros_like(self.slice_w1)], 1))
        self.slice_losses = (self.loss1(line).numpy(), self.loss2(line).numpy())
        # Every slider position is computed now, in one batched descent (about a second), so that
        # moving a slider only looks the answer up; values off the slider grid are computed on demand.
        self._lams = torch.arange(0, round((LAMBDA_RANGE[1] - LAMBDA_RANGE[0]) / LAMBDA_STEP) + 1,
                                  dtype=torch.float64) * LAMBDA_STEP + LAMBDA_RANGE[0]
        self._starts = torch.arange(0, round((START_RANGE[1] - START_RANGE[0]) / START_STEP) + 1,
                                    dtype=torch.float64) * START_STEP + START_RANGE[0]
        self._table = _descents(self.loss1, self.loss2, self._lams, self._starts)
        sliders = {
            "lambda": slider("lambda", lam, *LAMBDA_RANGE, LAMBDA_STEP),
            "start": slider("start", start, *START_RANGE, START_STEP),
        }
        super().__init__(sliders, figsize=(7.5, 3.2), title=f"Minimizing L1 + lambda L2 ({problem} L2)")

    def compute(self) -> dict[str, float]:
        p = self.params()
        i = (p["lambda"] - LAMBDA_RANGE[0]) / LAMBDA_STEP
        j = (p["start"] - START_RANGE[0]) / START_STEP
        on_grid = abs(i - round(i)) < 1e-6 and abs(j - round(j)) < 1e-6
        if on_grid and 0 <= round(i) < len(self._lams) and 0 <= round(j) < len(self._starts):
            points, w1 = self._table
            values = _values(p["lambda"], points[round(i)], w1[round(i)], round(j))
        else:
            values = pareto_values(self.loss1, self.loss2, p["lambda"], p["start"])
        self._w1 = values.pop("_w1")
        return values

    def build(self, fig: Figure) -> None:
        ax, ax2 = fig.subplots(1, 2)
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.86, wspace=0.3)
        cloud = self.grid_losses[::7].numpy()
        ax.scatter(cloud[:, 0], cloud[:, 1], s=2, color="0.8", rasterized=True, label="attainable (L1, L2)")
        front = self.grid_losses[self.front].numpy()
        ax.scatter(front[:, 0], front[:, 1], s=4, color="k", label="Pareto front")
        self._support, = ax.plot([], [], "--", color="C0", label="L1 + lambda L2 = min")
        self._end, = ax.plot([], [], "o", color="C3", ms=8, label="descent ends")
        ax.set_xlim(-0.2, 6)
        ax.set_ylim(-0.2, 6)
        ax.set_xlabel("L1")
        ax.set_ylabel("L2")
        ax.legend(loc="upper right", fontsize=7)
        self._along, = ax2.plot(self.slice_w1, np.zeros_like(self.slice_w1), color="C0")
        self._start, = ax2.plot([], [], "s", color="0.4")
        self._stop, = ax2.plot([], [], "o", color="C3")
        ax2.set_xlabel("$w_1$ (with $w_2 = 0$)")
        ax2.set_ylabel("L1 + lambda L2")
        ax2.set_title("along $w_1$: start (grey square), end (red)", fontsize=9)

    def draw(self, fig: Figure) -> None:
        p = self.params()
        lam, start = p["lambda"], p["start"]
        objective = self.grid_losses[:, 0] + lam * self.grid_losses[:, 1]
        best = float(objective.min())
        along = self.slice_losses[0] + lam * self.slice_losses[1]
        ax, ax2 = fig.axes
        if lam > 0:  # the supporting line L1 + lambda L2 = best
            l1_line = np.array([0.0, 9.0])
            self._support.set_data(l1_line, (best - l1_line) / lam)
        else:  # lambda = 0: the level set of L1 alone is the vertical line L1 = min
            self._support.set_data([best, best], [-1, 10])
        self._end.set_data([self.values["L1"]], [self.values["L2"]])
        self._along.set_ydata(along)
        f = lambda u: float(np.interp(u, self.slice_w1, along))  # noqa: E731 - the curve at u
        self._start.set_data([start], [f(start)])
        self._stop.set_data([self._w1], [f(self._w1)])
        ax2.set_ylim(along.min() - 0.5, min(along.max(), along.min() + 12))
        ax.set_title(f"lambda = {lam:.2f}: ends at L1 = {self.values['L1']:.2f}, L2 = {self.values['L2']:.2f}",
                     fontsize=9)


def pareto_explorer(problem: str = "bumped", lam: float = 1.5, start: float = -1.5) -> ParetoExplorer:
    """Build the lecture-02 explorer (see :class:`ParetoExplorer`); display it as a cell's last line.

    problem: "bumped" (non-convex L2, a dented front) or "convex" (every trade-off reachable).
    """
    return ParetoExplorer(problem, lam, start)
