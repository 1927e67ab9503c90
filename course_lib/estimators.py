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

from collections.abc import Callable

import torch

from . import checks

Objective = Callable[[torch.Tensor], torch.Tensor]


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
        baseline = checks.float_like(baseline, "baseline", values)
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


# ----------------------------------------------------------------------------------------------
# Checks particular to this module, below the formulas (the shared ones are in course_lib.checks).

def _setup(f, mu, log_sigma, n, generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check the arguments; return detached mu, sigma = exp(log_sigma) and eps (n, *mu.shape) ~ N(0, I)."""
    checks.function(f, "f")
    checks.tensor(mu, "mu", floating=True)
    checks.tensor(log_sigma, "log_sigma", floating=True)
    mu, log_sigma = (t.detach() for t in checks.same_shape(mu=mu, log_sigma=log_sigma))
    eps = checks.randn((checks.positive_int(n, "n"), *mu.shape), mu, generator)
    return mu, log_sigma.exp(), eps


def _values(f: Objective, z: torch.Tensor) -> torch.Tensor:
    values = f(z)
    if not isinstance(values, torch.Tensor) or values.shape != (z.shape[0],):
        raise ValueError(f"f(z) must return one value per sample, shape ({z.shape[0]},), "
                         f"got {getattr(values, 'shape', type(values).__name__)}")
    return values
