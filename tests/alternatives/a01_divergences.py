from . import Alternative

KL_BODY = """    var_p, var_q = sigma_p ** 2, sigma_q ** 2
    return torch.log(sigma_q / sigma_p) + (var_p + (mu_p - mu_q) ** 2) / (2 * var_q) - 0.5"""
MVN_BODY = "    d = mu_p.shape[-1]\n"
MC_BODY = """    r = log_p(x) - log_q(x)
    return r.mean(), r.std() / math.sqrt(r.shape[0])"""

ALTERNATIVES = [
    Alternative("torch.distributions' kl_divergence", "kl_normal", KL_BODY,
                "    p = torch.distributions.Normal(mu_p, sigma_p)\n"
                "    q = torch.distributions.Normal(mu_q, sigma_q)\n"
                "    return torch.distributions.kl_divergence(p, q)",
                "divergences.kl_normal", "test_kl_normal"),
    Alternative("log-variance form with a warning (torch.tensor on a tensor)", "kl_normal", KL_BODY,
                "    half = torch.tensor(torch.tensor(0.5))\n"
                "    log_ratio = torch.log(sigma_q ** 2) - torch.log(sigma_p ** 2)\n"
                "    return half * log_ratio + (sigma_p ** 2 + (mu_p - mu_q) ** 2) / (2 * sigma_q ** 2) - half",
                "divergences.kl_normal", "test_kl_normal", warns=True),
    Alternative("Normal.cdf from torch.distributions", "tv_normal",
                "        return 0.5 * (1 + torch.erf((x - mu) / (sigma * math.sqrt(2))))",
                "        return torch.distributions.Normal(mu, sigma).cdf(x)",
                "divergences.tv_normal", "test_tv_normal"),
    Alternative("torch.distributions' MultivariateNormal", "kl_mvn",
                MVN_BODY, "    MVN = torch.distributions.MultivariateNormal\n"
                "    return torch.distributions.kl_divergence(MVN(mu_p, cov_p), MVN(mu_q, cov_q))\n"
                "    d = mu_p.shape[-1]\n",
                "divergences.kl_mvn", "test_kl_mvn"),
    Alternative("a Python loop over the batch with inverse and slogdet", "kl_mvn",
                MVN_BODY, "    out = []\n"
                "    for mp, cp, mq, cq in zip(mu_p, cov_p, mu_q, cov_q):\n"
                "        iq = torch.linalg.inv(cq)\n"
                "        diff = mq - mp\n"
                "        out.append(0.5 * (torch.trace(iq @ cp) + diff @ iq @ diff - mp.shape[0]\n"
                "                          + torch.linalg.slogdet(cq)[1] - torch.linalg.slogdet(cp)[1]))\n"
                "    return torch.stack(out)\n"
                "    d = mu_p.shape[-1]\n",
                "divergences.kl_mvn", "test_kl_mvn"),
    Alternative("numpy inside", "kl_monte_carlo", MC_BODY,
                "    import numpy as np\n"
                "    r = (log_p(x) - log_q(x)).detach().cpu().numpy()\n"
                "    est, se = r.mean(), r.std(ddof=1) / np.sqrt(len(r))\n"
                "    return torch.as_tensor(est, dtype=x.dtype), torch.as_tensor(se, dtype=x.dtype)",
                "divergences.kl_monte_carlo", "test_kl_monte_carlo"),
    Alternative("torch.tensor on a tensor (warns) and the variance by hand", "kl_monte_carlo", MC_BODY,
                "    r = torch.tensor(log_p(x) - log_q(x))\n"
                "    n = r.shape[0]\n"
                "    var = ((r - r.mean()) ** 2).sum() / (n - 1)\n"
                "    return r.mean(), torch.sqrt(var / n)",
                "divergences.kl_monte_carlo", "test_kl_monte_carlo", warns=True),
]
