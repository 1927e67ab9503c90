"""Oracle of the flow explorer (lecture 06): log-determinants and sample log-densities of the quick flow,
from autograd Jacobians (never from the layers' own log_det)."""

from __future__ import annotations

import math

import torch

from course_lib.explorers.flow import explorer_inputs, quick_flow


def _map_and_logdet(layers, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """z = layers(x) and log|det dz/dx| per row, the 2x2 Jacobian of each row by two backward passes."""
    x = x.detach().double().requires_grad_(True)
    z = x
    for layer in layers:
        z = layer(z)[0]
    rows = [torch.autograd.grad(z[:, i].sum(), x, retain_graph=True)[0] for i in range(2)]   # (B, 2) each
    jac = torch.stack(rows, dim=1)                                                              # (B, 2, 2)
    return z.detach(), torch.linalg.slogdet(jac).logabsdet


# Numbers of the lecture's trained model: compared with this oracle on the quick build only.
TRAINED = {"mean log|det J|", "mean log p(sample)"}


def oracle(values: dict[str, float]) -> dict[str, float]:
    flow = quick_flow().double()
    points, eps = explorer_inputs()
    k, temperature = int(round(values["layer"])), values["T"]
    _, log_det = _map_and_logdet(list(flow.layers)[:k], points)
    with torch.no_grad():
        samples = flow.inverse(temperature * eps.double())
    z, log_det_s = _map_and_logdet(flow.layers, samples)
    log_p = -0.5 * (z ** 2).sum(1) - math.log(2 * math.pi) + log_det_s      # log N(z; 0, I_2) + log|det|
    return {"layer": float(k), "mean log|det J|": log_det.mean().item(), "T": temperature,
            "mean log p(sample)": log_p.mean().item()}
