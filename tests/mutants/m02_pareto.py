from . import Mutant

MUTANTS = [
    Mutant("maximizing instead of minimizing", "pareto_front",
           "no_worse = (losses[None, :, :] <= losses[:, None, :]).all(-1)\n"
           "    better = (losses[None, :, :] < losses[:, None, :]).any(-1)",
           "no_worse = (losses[None, :, :] >= losses[:, None, :]).all(-1)\n"
           "    better = (losses[None, :, :] > losses[:, None, :]).any(-1)",
           "pareto.pareto_front", "test_pareto_front"),
    Mutant("equal rows eliminate each other (<= everywhere counts as dominating)", "pareto_front",
           "dominated = (no_worse & better).any(1)",
           "dominated = (no_worse & ~torch.eye(len(losses), dtype=torch.bool)).any(1)",
           "pareto.pareto_front", "test_pareto_front"),
    Mutant("weak dominance: only rows strictly better in every loss dominate", "pareto_front",
           "better = (losses[None, :, :] < losses[:, None, :]).any(-1)\n"
           "    dominated = (no_worse & better).any(1)",
           "better = (losses[None, :, :] < losses[:, None, :]).all(-1)\n"
           "    dominated = better.any(1)",
           "pareto.pareto_front", "test_pareto_front"),
    Mutant("returns the dominated rows instead of the front", "pareto_front",
           "return ~dominated", "return dominated",
           "pareto.pareto_front", "test_pareto_front"),
    Mutant("compares in the wrong direction: row j against the rows it dominates", "pareto_front",
           "dominated = (no_worse & better).any(1)", "dominated = (no_worse & better).any(0)",
           "pareto.pareto_front", "test_pareto_front"),
]
