from . import Alternative

LOO_TAIL = """    baseline = (values.sum() - values) / (n - 1)         # (n,): mean of the other n - 1 values
    weight = (values - baseline)[:, None]                # (n, 1): broadcasts over the d coordinates
    return (weight * eps / sigma).mean(0), (weight * (eps ** 2 - 1)).mean(0)"""
CAT_TAIL = """    onehot = torch.nn.functional.one_hot(k, logits.shape[-1]).to(logits.dtype)   # (n, K)
    score = onehot - probs                               # row i: d log p_{k_i} / d logits
    return (values[:, None] * score).mean(0)"""

ALTERNATIVES = [
    Alternative("a Python loop over the samples, the baseline from a mask of the others",
                "score_function_grad_loo", LOO_TAIL,
                "    grad_mu, grad_log_sigma = torch.zeros_like(mu), torch.zeros_like(mu)\n"
                "    for i in range(n):\n"
                "        others = torch.arange(n) != i\n"
                "        b = values[others].mean()\n"
                "        grad_mu = grad_mu + (values[i] - b) * (z[i] - mu) / sigma ** 2 / n\n"
                "        grad_log_sigma = grad_log_sigma + (values[i] - b) * ((z[i] - mu) ** 2 / sigma ** 2 - 1) / n\n"
                "    return grad_mu, grad_log_sigma",
                "estimators.score_function_grad_loo", "test_score_function_grad_loo"),
    Alternative("the batch-mean estimator rescaled by n / (n - 1), score by autograd of torch.distributions",
                "score_function_grad_loo", LOO_TAIL,
                "    m = mu.detach().clone().requires_grad_(True)\n"
                "    s = log_sigma.detach().clone().requires_grad_(True)\n"
                "    log_q = torch.distributions.Normal(m, torch.exp(s)).log_prob(z.detach())   # (n, d)\n"
                "    weight = n / (n - 1) * (values - values.mean())\n"
                "    return torch.autograd.grad((weight[:, None] * log_q).sum() / n, (m, s))",
                "estimators.score_function_grad_loo", "test_score_function_grad_loo"),
    Alternative("numpy inside, torch.tensor on a tensor (warns)", "score_function_grad_loo", LOO_TAIL,
                "    import numpy as np\n"
                "    v, e, s = torch.tensor(values).numpy(), eps.numpy(), sigma.numpy()\n"
                "    w = (v - (v.sum() - v) / (n - 1))[:, None]\n"
                "    return (torch.from_numpy((w * e / s).mean(0)), torch.from_numpy((w * (e * e - 1)).mean(0)))",
                "estimators.score_function_grad_loo", "test_score_function_grad_loo", warns=True),
    Alternative("the score by autograd of torch.distributions.Categorical's log_prob",
                "categorical_score_grad", CAT_TAIL,
                "    ell = logits.detach().clone().requires_grad_(True)\n"
                "    log_q = torch.distributions.Categorical(logits=ell).log_prob(k)   # (n,)\n"
                "    (grad,) = torch.autograd.grad((values * log_q).mean(), ell)\n"
                "    return grad",
                "estimators.categorical_score_grad", "test_categorical_score_grad"),
    Alternative("inverse-CDF sampling and counts per category, torch.tensor on a tensor (warns)",
                "categorical_score_grad",
                "    k = torch.multinomial(probs, n, replacement=True, generator=generator)   # (n,) int64\n"
                "    with torch.no_grad():\n"
                "        values = f(k)                                    # (n,)\n" + CAT_TAIL,
                "    cdf = torch.cumsum(torch.tensor(probs), 0)\n"
                "    u = torch.rand(n, dtype=probs.dtype, generator=generator) * cdf[-1]\n"
                "    k = torch.searchsorted(cdf, u, right=True).clamp(max=len(probs) - 1)\n"
                "    values = f(k)\n"
                "    K = logits.shape[-1]\n"
                "    sums = torch.zeros(K, dtype=logits.dtype).index_add(0, k, values.to(logits.dtype))   # sum of f per category\n"
                "    return sums / n - probs * values.mean()",
                "estimators.categorical_score_grad", "test_categorical_score_grad", warns=True),
]
