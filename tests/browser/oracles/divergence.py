"""Oracle of the divergence explorer (lecture 01): KL both ways, TV and JS of two normals."""

from __future__ import annotations

import math

import torch
from scipy import integrate, stats


def oracle(values: dict[str, float]) -> dict[str, float]:
    """KL from torch.distributions; TV and JS by numerical integration of the densities (scipy)."""
    mu_p, sigma_p, mu_q, sigma_q = (values[k] for k in ("mu_p", "sigma_p", "mu_q", "sigma_q"))
    p = torch.distributions.Normal(torch.tensor(mu_p, dtype=torch.float64), torch.tensor(sigma_p, dtype=torch.float64))
    q = torch.distributions.Normal(torch.tensor(mu_q, dtype=torch.float64), torch.tensor(sigma_q, dtype=torch.float64))
    dens_p, dens_q = stats.norm(mu_p, sigma_p).pdf, stats.norm(mu_q, sigma_q).pdf
    lo = min(mu_p - 12 * sigma_p, mu_q - 12 * sigma_q)
    hi = max(mu_p + 12 * sigma_p, mu_q + 12 * sigma_q)

    def integral(f) -> float:
        return integrate.quad(f, lo, hi, points=[mu_p, mu_q], limit=400, epsabs=1e-12)[0]

    def js_term(a, b):  # a log(2a / (a + b)), 0 where a = 0
        return lambda x: a(x) * (math.log(2 * a(x) / (a(x) + b(x))) if a(x) > 0 else 0.0)

    return {
        "KL(p||q)": torch.distributions.kl_divergence(p, q).item(),
        "KL(q||p)": torch.distributions.kl_divergence(q, p).item(),
        "TV": 0.5 * integral(lambda x: abs(dens_p(x) - dens_q(x))),
        "JS": 0.5 * integral(js_term(dens_p, dens_q)) + 0.5 * integral(js_term(dens_q, dens_p)),
    }
