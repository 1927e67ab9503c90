from . import Alternative

HV = """    # Only a point strictly inside the box dominates any area of it.
    inside = (points < reference).all(dim=1)
    p = points[inside]
    # The region is a staircase. Cut it into vertical strips, one per point taken left to right: a
    # strip runs from its point's loss 1 to the next point's (the last one to the reference), and
    # reaches down to the smallest loss 2 of all the points so far.
    p = p[torch.argsort(p[:, 0])]
    lowest = torch.cummin(p[:, 1], dim=0).values      # (K,) the bottom of each strip
    right = torch.cat([p[1:, 0], reference[:1]])      # (K,) the right edge of each strip
    return ((right - p[:, 0]) * (reference[1] - lowest)).sum()"""

PICK = """    # Rank the rows by (loss 1, loss 2, index): stable sorts, the last key first.
    order = torch.argsort(losses[:, 1], stable=True)
    order = order[torch.argsort(losses[order, 0], stable=True)]
    # For each budget the answer is the first row of this ranking that meets it.
    feasible = losses[order, 1][None, :] <= eps[:, None]   # (E, N), columns in ranked order
    first = torch.argmax(feasible.to(torch.int8), dim=1)   # (E,) the first True (0 if none)
    picks = order[first]
    return torch.where(feasible.any(dim=1), picks, torch.full_like(picks, -1))"""

ALTERNATIVES = [
    Alternative("points clipped onto the box (a copy), then a Python loop over the staircase",
                "hypervolume_2d", HV,
                "    clipped = torch.minimum(points, reference)  # a point beyond the box lands on its edge\n"
                "    area, lowest = 0.0, float(reference[1])\n"
                "    rows = sorted(clipped.tolist())\n"
                "    for k, (x, y) in enumerate(rows):\n"
                "        lowest = min(lowest, y)\n"
                "        x_next = rows[k + 1][0] if k + 1 < len(rows) else float(reference[0])\n"
                "        area += (x_next - x) * (float(reference[1]) - lowest)\n"
                "    return torch.tensor(area, dtype=points.dtype)",
                "pareto.hypervolume_2d", "test_hypervolume_2d"),
    Alternative("horizontal strips in numpy, with torch.tensor on a tensor (warns)", "hypervolume_2d",
                HV,
                "    import numpy as np\n"
                "    a, r = torch.tensor(points).numpy(), reference.numpy()\n"
                "    a = a[(a < r).all(axis=1)]\n"
                "    a = a[np.lexsort((a[:, 0], a[:, 1]))]               # bottom to top\n"
                "    left = np.minimum.accumulate(a[:, 0]) if len(a) else a[:, 0]\n"
                "    top = np.append(a[1:, 1], r[1])\n"
                "    return torch.tensor(float(((top - a[:, 1]) * (r[0] - left)).sum()), dtype=points.dtype)",
                "pareto.hypervolume_2d", "test_hypervolume_2d", warns=True),
    Alternative("masked minima, one loss after the other", "epsilon_constraint_pick", PICK,
                "    inf = torch.tensor(float('inf'), dtype=losses.dtype)\n"
                "    feasible = losses[None, :, 1] <= eps[:, None]                               # (E, N)\n"
                "    best1 = torch.where(feasible, losses[None, :, 0], inf).min(1, keepdim=True).values\n"
                "    tied = feasible & (losses[None, :, 0] == best1)\n"
                "    best2 = torch.where(tied, losses[None, :, 1], inf).min(1, keepdim=True).values\n"
                "    first = (tied & (losses[None, :, 1] == best2)).to(torch.int8).argmax(1)\n"
                "    return torch.where(feasible.any(1), first, -1)",
                "pareto.epsilon_constraint_pick", "test_epsilon_constraint_pick"),
    Alternative("a Python loop with min and a key", "epsilon_constraint_pick", PICK,
                "    rows = losses.tolist()\n"
                "    picks = []\n"
                "    for budget in eps.tolist():\n"
                "        ok = [i for i, (l1, l2) in enumerate(rows) if l2 <= budget]\n"
                "        picks.append(min(ok, key=lambda i: (rows[i][0], rows[i][1], i)) if ok else -1)\n"
                "    return torch.tensor(picks, dtype=torch.int64)",
                "pareto.epsilon_constraint_pick", "test_epsilon_constraint_pick"),
]
