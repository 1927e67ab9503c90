from . import Alternative

BODY = """    no_worse = (losses[None, :, :] <= losses[:, None, :]).all(-1)
    better = (losses[None, :, :] < losses[:, None, :]).any(-1)
    dominated = (no_worse & better).any(1)
    return ~dominated"""

ALTERNATIVES = [
    Alternative("a Python double loop", "pareto_front", BODY,
                "    n = losses.shape[0]\n"
                "    keep = [True] * n\n"
                "    for j in range(n):\n"
                "        for i in range(n):\n"
                "            if bool((losses[i] <= losses[j]).all()) and bool((losses[i] < losses[j]).any()):\n"
                "                keep[j] = False\n"
                "                break\n"
                "    return torch.tensor(keep, dtype=torch.bool)",
                "pareto.pareto_front", "test_pareto_front"),
    Alternative("numpy inside, with torch.tensor on a tensor (warns)", "pareto_front", BODY,
                "    import numpy as np\n"
                "    a = torch.tensor(losses).cpu().numpy()\n"
                "    dom = (a[None] <= a[:, None]).all(-1) & (a[None] < a[:, None]).any(-1)\n"
                "    return torch.from_numpy(~dom.any(1))",
                "pareto.pareto_front", "test_pareto_front", warns=True),
]
