from . import Alternative

ALTERNATIVES = [
    Alternative("sqrt of the variance instead of exp(log_var / 2), torch.tensor on log_var's shape (warns)",
                "reparameterize", "    std = torch.exp(0.5 * log_var)",
                "    std = torch.sqrt(torch.exp(log_var)) * torch.tensor(torch.tensor(1.0, dtype=log_var.dtype))",
                "vae.reparameterize", "test_reparameterize", warns=True),
    Alternative("torch.distributions' kl_divergence to N(0, 1)", "gaussian_kl_standard",
                "    kl = 0.5 * (torch.exp(log_var) + mu ** 2 - 1 - log_var)",
                "    Normal = torch.distributions.Normal\n"
                "    kl = torch.distributions.kl_divergence(Normal(mu, torch.exp(0.5 * log_var)),\n"
                "                                           Normal(torch.zeros_like(mu), torch.ones_like(mu)))",
                "vae.gaussian_kl_standard", "test_gaussian_kl_standard"),
    Alternative("log-mean-exp by hand, shifted by the maximum", "iwae_bound",
                "    return torch.logsumexp(log_w, dim=0) - math.log(k)",
                "    top = log_w.max(dim=0).values\n"
                "    return top + torch.log(torch.exp(log_w - top).mean(dim=0))",
                "vae.iwae_bound", "test_iwae_bound"),
]
