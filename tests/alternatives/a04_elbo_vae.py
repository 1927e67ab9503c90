from . import Alternative

KL_BODY = """    var_ratio = torch.exp(log_var_q - log_var_p)                     # sigma_q^2 / sigma_p^2
    mahalanobis = (mu_q - mu_p) ** 2 / torch.exp(log_var_p)          # (mu_q - mu_p)^2 / sigma_p^2
    kl = 0.5 * (var_ratio + mahalanobis - 1 - (log_var_q - log_var_p))
    return kl.sum(dim=-1)"""

IWAE_BODY = """    K, B = log_w.shape
    groups = log_w.reshape(K // k, k, B)                      # group g: rows g k .. g k + k - 1
    top = groups.amax(dim=1, keepdim=True)                    # (K / k, 1, B): largest log-weight per group
    # log (1/k) sum_i exp(a_i) = top + log sum_i exp(a_i - top) - log k, and every exp(a_i - top) <= 1
    bound = top + torch.log(torch.exp(groups - top).sum(dim=1, keepdim=True)) - math.log(k)
    return bound.squeeze(1).mean(dim=0)                       # (K / k, B) -> (B,)"""

ALTERNATIVES = [
    Alternative("torch.distributions' kl_divergence of two Independent Normals", "kl_diag_gaussians", KL_BODY,
                "    D = torch.distributions\n"
                "    mu_p, log_var_p = mu_p.expand(mu_q.shape), log_var_p.expand(mu_q.shape)\n"
                "    q = D.Independent(D.Normal(mu_q, torch.exp(0.5 * log_var_q)), 1)\n"
                "    p = D.Independent(D.Normal(mu_p, torch.exp(0.5 * log_var_p)), 1)\n"
                "    return D.kl_divergence(q, p)",
                "vae.kl_diag_gaussians", "test_kl_diag_gaussians"),
    Alternative("standard deviations and a cross-entropy minus an entropy, torch.tensor on a tensor (warns)",
                "kl_diag_gaussians", KL_BODY,
                "    s_q, s_p = torch.exp(log_var_q / 2), torch.exp(log_var_p / 2)\n"
                "    cross = torch.log(s_p) + 0.5 * math.log(2 * math.pi) + (s_q ** 2 + (mu_q - mu_p) ** 2) / (2 * s_p ** 2)\n"
                "    entropy = torch.log(s_q) + 0.5 * math.log(2 * math.pi) + 0.5\n"
                "    return torch.tensor(cross - entropy).sum(-1)",
                "vae.kl_diag_gaussians", "test_kl_diag_gaussians", warns=True),
    Alternative("torch.logsumexp over each group", "iwae_from_log_weights", IWAE_BODY,
                "    K, B = log_w.shape\n"
                "    return (torch.logsumexp(log_w.reshape(K // k, k, B), dim=1) - math.log(k)).mean(dim=0)",
                "vae.iwae_from_log_weights", "test_iwae_from_log_weights"),
    Alternative("a Python loop over the groups, numpy's logaddexp.reduce inside", "iwae_from_log_weights", IWAE_BODY,
                "    import numpy as np\n"
                "    a = log_w.detach().cpu().numpy()\n"
                "    values = [np.logaddexp.reduce(a[g:g + k], axis=0) - np.log(k) for g in range(0, a.shape[0], k)]\n"
                "    return torch.as_tensor(np.mean(values, axis=0), dtype=log_w.dtype)",
                "vae.iwae_from_log_weights", "test_iwae_from_log_weights"),
]
