from . import Mutant

MUTANTS = [
    # hypervolume_2d
    Mutant("points beyond the reference kept (negative widths and heights)", "hypervolume_2d",
           "inside = (points < reference).all(dim=1)",
           "inside = torch.ones(len(points), dtype=torch.bool)",
           "pareto.hypervolume_2d", "test_hypervolume_2d"),
    Mutant("each strip as high as its own point: dominated points cut area off", "hypervolume_2d",
           "lowest = torch.cummin(p[:, 1], dim=0).values", "lowest = p[:, 1]",
           "pareto.hypervolume_2d", "test_hypervolume_2d"),
    Mutant("one rectangle per point, summed: overlaps counted several times", "hypervolume_2d",
           "return ((right - p[:, 0]) * (reference[1] - lowest)).sum()",
           "return (reference - p).prod(dim=1).sum()",
           "pareto.hypervolume_2d", "test_hypervolume_2d"),
    Mutant("points sorted by loss 2 instead of loss 1", "hypervolume_2d",
           "p = p[torch.argsort(p[:, 0])]", "p = p[torch.argsort(p[:, 1])]",
           "pareto.hypervolume_2d", "test_hypervolume_2d"),
    Mutant("the last strip ends at the reference's loss 2 (coordinates mixed up)", "hypervolume_2d",
           "right = torch.cat([p[1:, 0], reference[:1]])", "right = torch.cat([p[1:, 0], reference[1:]])",
           "pareto.hypervolume_2d", "test_hypervolume_2d"),
    Mutant("points clipped to the box in place (the caller's tensor changes)", "hypervolume_2d",
           "inside = (points < reference).all(dim=1)\n    p = points[inside]",
           "p = points.clamp_(max=reference)",
           "pareto.hypervolume_2d", "test_hypervolume_2d"),
    # epsilon_constraint_pick
    Mutant("a row exactly on the budget counted as infeasible (< instead of <=)", "epsilon_constraint_pick",
           "feasible = losses[order, 1][None, :] <= eps[:, None]",
           "feasible = losses[order, 1][None, :] < eps[:, None]",
           "pareto.epsilon_constraint_pick", "test_epsilon_constraint_pick"),
    Mutant("ties in loss 1 broken by index, not by loss 2 (may return a dominated row)",
           "epsilon_constraint_pick",
           "order = torch.argsort(losses[:, 1], stable=True)\n",
           "order = torch.arange(len(losses))\n",
           "pareto.epsilon_constraint_pick", "test_epsilon_constraint_pick"),
    Mutant("no -1 when nothing is feasible", "epsilon_constraint_pick",
           "return torch.where(feasible.any(dim=1), picks, torch.full_like(picks, -1))",
           "return picks",
           "pareto.epsilon_constraint_pick", "test_epsilon_constraint_pick"),
    Mutant("the constraint on loss 1 and loss 2 minimized (columns swapped)", "epsilon_constraint_pick",
           "order = torch.argsort(losses[:, 1], stable=True)\n"
           "    order = order[torch.argsort(losses[order, 0], stable=True)]\n"
           "    # For each budget the answer is the first row of this ranking that meets it.\n"
           "    feasible = losses[order, 1][None, :] <= eps[:, None]",
           "order = torch.argsort(losses[:, 0], stable=True)\n"
           "    order = order[torch.argsort(losses[order, 1], stable=True)]\n"
           "    feasible = losses[order, 0][None, :] <= eps[:, None]",
           "pareto.epsilon_constraint_pick", "test_epsilon_constraint_pick"),
    Mutant("positions in the sorted order returned instead of row indices", "epsilon_constraint_pick",
           "picks = order[first]", "picks = first",
           "pareto.epsilon_constraint_pick", "test_epsilon_constraint_pick"),
]
