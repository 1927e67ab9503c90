from . import Alternative

KL_BODY = """    delta = (mu_p - mu_q).abs()
    return torch.log(b_q / b_p) + (delta + b_p * torch.exp(-delta / b_p)) / b_q - 1"""
TV_BODY = "    mu_p, b_p, mu_q, b_q = torch.broadcast_tensors(mu_p, b_p, mu_q, b_q)\n"
CV_BODY = """    log_r = log_q(x) - log_p(x)
    terms = torch.expm1(log_r) - log_r
    return terms.mean(), terms.std() / math.sqrt(terms.shape[0])"""

ALTERNATIVES = [
    Alternative("torch.distributions' kl_divergence", "kl_laplace", KL_BODY,
                "    p = torch.distributions.Laplace(mu_p, b_p)\n"
                "    q = torch.distributions.Laplace(mu_q, b_q)\n"
                "    return torch.distributions.kl_divergence(p, q)",
                "divergences.kl_laplace", "test_kl_laplace"),
    Alternative("the cross-entropy minus the entropy, with a warning (torch.tensor on a tensor)", "kl_laplace",
                KL_BODY,
                "    one = torch.tensor(torch.tensor(1.0))\n"
                "    gap = torch.abs(mu_q - mu_p)\n"
                "    entropy = torch.log(2 * b_p) + one                                         # H(p)\n"
                "    cross = torch.log(2 * b_q) + (gap + b_p * torch.exp(-gap / b_p)) / b_q   # H(p, q)\n"
                "    return cross - entropy",
                "divergences.kl_laplace", "test_kl_laplace", warns=True),
    Alternative("a Python loop: bisection for the crossings, float64, then the CDFs", "tv_laplace", TV_BODY,
                "    shape = torch.broadcast_shapes(*(torch.as_tensor(a).shape for a in (mu_p, b_p, mu_q, b_q)))\n"
                "    rows = zip(*(torch.as_tensor(a).expand(shape).flatten().tolist() for a in (mu_p, b_p, mu_q, b_q)))\n"
                "    out = []\n"
                "    for mp, bp, mq, bq in rows:\n"
                "        if bp > bq:                       # TV is symmetric: let p be the narrower\n"
                "            mp, bp, mq, bq = mq, bq, mp, bp\n"
                "        F = lambda x, m, b: 0.5 * math.exp((x - m) / b) if x < m else 1 - 0.5 * math.exp(-(x - m) / b)\n"
                "        ell = lambda x: math.log(bq / bp) - abs(x - mp) / bp + abs(x - mq) / bq\n"
                "        if bp == bq:\n"
                "            mid = (mp + mq) / 2\n"
                "            out.append(abs(F(mid, mp, bp) - F(mid, mq, bq)))\n"
                "            continue\n"
                "        def root(inside, outside):        # ell(inside) > 0 >= ell(outside)\n"
                "            for _ in range(200):\n"
                "                mid = (inside + outside) / 2\n"
                "                inside, outside = (mid, outside) if ell(mid) > 0 else (inside, mid)\n"
                "            return inside\n"
                "        far = abs(mp) + abs(mq) + 100 * bq\n"
                "        lo, hi = root(mp, -far), root(mp, far)\n"
                "        out.append(F(hi, mp, bp) - F(lo, mp, bp) - F(hi, mq, bq) + F(lo, mq, bq))\n"
                "    return torch.tensor(out, dtype=torch.as_tensor(mu_p).dtype).reshape(shape)\n"
                "    mu_p, b_p, mu_q, b_q = torch.broadcast_tensors(mu_p, b_p, mu_q, b_q)\n",
                "divergences.tv_laplace", "test_tv_laplace"),
    Alternative("numpy and scipy: the root of every linear piece, then the sign between the roots", "tv_laplace",
                TV_BODY,
                "    import numpy as np\n"
                "    from scipy import stats\n"
                "    args = torch.broadcast_tensors(*map(torch.as_tensor, (mu_p, b_p, mu_q, b_q)))\n"
                "    out = []\n"
                "    for mp, bp, mq, bq in zip(*(a.double().flatten().numpy() for a in args)):\n"
                "        ell = lambda x: np.log(bq / bp) - abs(x - mp) / bp + abs(x - mq) / bq\n"
                "        far = 1e6                            # p and q hold nothing out there\n"
                "        edges = [-far, *sorted({mp, mq}), far]\n"
                "        roots = []\n"
                "        for a, b in zip(edges[:-1], edges[1:]):  # ell is linear on [a, b]\n"
                "            fa, fb = ell(a), ell(b)\n"
                "            if (fa > 0) != (fb > 0):\n"
                "                roots.append(a + (b - a) * fa / (fa - fb))\n"
                "        points = [-far, *sorted(roots), far]\n"
                "        total = 0.0\n"
                "        for a, b in zip(points[:-1], points[1:]):\n"
                "            if ell((a + b) / 2) > 0:\n"
                "                total += (stats.laplace.cdf(b, mp, bp) - stats.laplace.cdf(a, mp, bp)\n"
                "                          - stats.laplace.cdf(b, mq, bq) + stats.laplace.cdf(a, mq, bq))\n"
                "        out.append(total)\n"
                "    return torch.tensor(np.array(out).reshape(args[0].shape), dtype=args[0].dtype)\n"
                "    mu_p, b_p, mu_q, b_q = torch.broadcast_tensors(mu_p, b_p, mu_q, b_q)\n",
                "divergences.tv_laplace", "test_tv_laplace"),
    Alternative("numpy, with r itself and the N - 1 standard deviation by hand", "kl_control_variate", CV_BODY,
                "    import numpy as np\n"
                "    log_r = (log_q(x) - log_p(x)).numpy()\n"
                "    r = np.exp(log_r)\n"
                "    t = (r - 1) - log_r\n"
                "    n = len(t)\n"
                "    sd = np.sqrt(((t - t.mean()) ** 2).sum() / (n - 1))\n"
                "    return torch.tensor(t.mean()), torch.tensor(sd / np.sqrt(n))",
                "divergences.kl_control_variate", "test_kl_control_variate"),
    Alternative("a Python loop over the draws", "kl_control_variate", CV_BODY,
                "    lp, lq = log_p(x), log_q(x)\n"
                "    terms = []\n"
                "    for i in range(len(x)):\n"
                "        log_r = float(lq[i] - lp[i])\n"
                "        terms.append(math.expm1(log_r) - log_r)\n"
                "    t = torch.tensor(terms, dtype=x.dtype)\n"
                "    return t.mean(), torch.sqrt(t.var(correction=1) / len(terms))",
                "divergences.kl_control_variate", "test_kl_control_variate"),
]
