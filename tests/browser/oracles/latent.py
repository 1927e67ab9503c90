"""Oracle of the latent explorer (lecture 04): how typical z is under the prior N(0, I_2)."""

from __future__ import annotations

import torch
from scipy import stats


def oracle(values: dict[str, float]) -> dict[str, float]:
    """log p(z) for p = N(0, I_2) (torch.distributions) and P(|Z| > |z|) = P(chi^2_2 > |z|^2) (scipy)."""
    z = torch.tensor([values["z1"], values["z2"]], dtype=torch.float64)
    prior = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64),
                                                   torch.eye(2, dtype=torch.float64))
    return {"log p(z)": prior.log_prob(z).item(),
            "P(|Z|>|z|)": float(stats.chi2.sf((z ** 2).sum().item(), df=2))}
