"""Monte Carlo gradient estimators (lecture 05).

Both functions estimate the gradient of an expectation with respect to the parameters of the
distribution the expectation is taken over,

    d/d(mu, log_sigma)  E_{z ~ N(mu, sigma^2)} [ f(z) ],   sigma = exp(log_sigma) (elementwise),

and return the n per-sample estimates rather than their mean, so that a lecture (or a test) can
study their mean (both are unbiased) and their variance (which differs by orders of magnitude).

Contract of ``f``: for samples ``z`` of shape ``(n, *mu.shape)`` it returns ``(n,)``, one value per
sample, and value i depends on ``z[i]`` only. :func:`pathwise_grad` needs ``f`` differentiable
(autograd); :func:`score_function_grad` only evaluates it, so ``f`` may be a step function or a
black box (call it under ``torch.no_grad()`` if you like).
"""

from __future__ import annotations

from typing import Callable

import torch

Objective = Callable[[torch.Tensor], torch.Tensor]


def _setup(f, mu, log_sigma, n, generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate; return detached mu, sigma (floating, same shape) and eps (n, *shape) ~ N(0, I)."""
    if not callable(f):
        raise TypeError(f"f must be a function of a tensor of samples, got {type(f).__name__}")
    for name, value in (("mu", mu), ("log_sigma", log_sigma)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, got {type(value).__name__}")
        if not value.dtype.is_floating_point:
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if mu.shape != log_sigma.shape:
        raise ValueError(f"mu and log_sigma must have the same shape, got {tuple(mu.shape)} and {tuple(log_sigma.shape)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    mu, log_sigma = mu.detach(), log_sigma.detach()
    shape = (n, *mu.shape)
    if generator is None:
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device)
    elif isinstance(generator, torch.Generator):
        eps = torch.randn(shape, dtype=mu.dtype, device=generator.device, generator=generator).to(mu.device)
    else:
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return mu, log_sigma.exp(), eps


def _values(f: Objective, z: torch.Tensor) -> torch.Tensor:
    values = f(z)
    if not isinstance(values, torch.Tensor) or values.shape != (z.shape[0],):
        raise ValueError(f"f(z) must return one value per sample, shape ({z.shape[0]},), "
                         f"got {getattr(values, 'shape', type(values).__name__)}")
    return values


def score_function_grad(f: Objective, mu: torch.Tensor, log_sigma: torch.Tensor, n: int,
                        generator: torch.Generator | None = None,
                        baseline: float | torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Score-function (REINFORCE, likelihood-ratio) estimates of the gradient of E f(z), z ~ N(mu, sigma^2).

    grad E f = E[ (f(z) - b) grad log N(z; mu, sigma^2) ],   z = mu + sigma eps, eps ~ N(0, I), with
        d log N / d mu        = (z - mu) / sigma^2 = eps / sigma
        d log N / d log_sigma = (z - mu)^2 / sigma^2 - 1 = eps^2 - 1
    The baseline b (a constant, or a tensor broadcasting to (n,) that does not depend on these
    samples) leaves the estimate unbiased because E[grad log N] = 0; b near E f cuts its variance.
    Shapes: mu, log_sigma (*S) -> (grad_mu, grad_log_sigma), each (n, *S): one estimate per sample.
    f is only evaluated (never differentiated). Lecture 05, section 3.
    """
    mu, sigma, eps = _setup(f, mu, log_sigma, n, generator)
    z = mu + sigma * eps                                    # (n, *S)
    with torch.no_grad():
        values = _values(f, z)                              # (n,)
    if baseline is not None:
        if not isinstance(baseline, (torch.Tensor, float, int)) or isinstance(baseline, bool):
            raise TypeError(f"baseline must be a float, a tensor or None, got {type(baseline).__name__}")
        baseline = torch.as_tensor(baseline, dtype=values.dtype, device=values.device)
        if baseline.ndim > 1 or baseline.numel() not in (1, n):
            raise ValueError(f"baseline must be a number or a tensor of shape ({n},), got shape {tuple(baseline.shape)}")
        values = values - baseline
    weight = values.reshape(n, *([1] * mu.ndim))            # (n, 1, ..., 1) to broadcast over *S
    return weight * eps / sigma, weight * (eps ** 2 - 1)


def pathwise_grad(f: Objective, mu: torch.Tensor, log_sigma: torch.Tensor, n: int,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pathwise (reparameterization) estimates of the gradient of E f(z), z ~ N(mu, sigma^2).

    z = mu + sigma eps  =>  grad E f = E[ grad_z f(z) dz/dtheta ], with
        dz/dmu = 1,  dz/dlog_sigma = sigma eps = z - mu
    so the per-sample estimates are grad_z f(z_i) and grad_z f(z_i) * (z_i - mu), by autograd.
    Shapes: mu, log_sigma (*S) -> (grad_mu, grad_log_sigma), each (n, *S). Needs f differentiable
    in z; sample i's gradient is read off the gradient of sum_i f(z_i) (samples are independent).
    Lecture 05, section 2.
    """
    mu, sigma, eps = _setup(f, mu, log_sigma, n, generator)
    with torch.enable_grad():
        z = (mu + sigma * eps).requires_grad_(True)          # (n, *S), a leaf
        values = _values(f, z)
        if not values.requires_grad:
            raise ValueError("f(z) does not depend differentiably on z; use score_function_grad for such f")
        (grad_z,) = torch.autograd.grad(values.sum(), z)      # (n, *S): row i is grad f(z_i)
    return grad_z, grad_z * sigma * eps
