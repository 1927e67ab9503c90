"""Distances and divergences between probability distributions (lecture 01).

Closed forms for normals (:func:`kl_normal`, :func:`tv_normal`, :func:`kl_mvn`), the discrete
family over the last axis (:func:`kl_discrete`, :func:`tv_discrete`, :func:`js_discrete`,
:func:`hellinger_discrete`, :func:`f_divergence`), and sample-based estimates
(:func:`kl_monte_carlo`, :func:`wasserstein_1d`, :func:`mmd`).

All functions take tensors (floats are accepted where noted), broadcast, follow the device and
dtype of their inputs and let gradients flow; bad input raises ``TypeError`` (wrong type) or
``ValueError`` (wrong value) naming the argument (``course_lib.checks``). Divergences are in nats.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from . import checks

_SQRT2 = math.sqrt(2.0)


# ----------------------------------------------------------------------------------------------
# Univariate normals

def kl_normal(mu_p, sigma_p, mu_q, sigma_q) -> torch.Tensor:
    """KL(p || q) for p = N(mu_p, sigma_p^2), q = N(mu_q, sigma_q^2), elementwise.

    KL = log(sigma_q / sigma_p) + (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2) - 1/2
    Shapes: any broadcastable shapes (floats accepted) -> their broadcast shape. Lecture 01, section 3.
    """
    mu_p, sigma_p, mu_q, sigma_q = checks.floats(mu_p=mu_p, sigma_p=sigma_p, mu_q=mu_q, sigma_q=sigma_q)
    checks.positive(sigma_p, "sigma_p")
    checks.positive(sigma_q, "sigma_q")
    return torch.log(sigma_q / sigma_p) + (sigma_p ** 2 + (mu_p - mu_q) ** 2) / (2 * sigma_q ** 2) - 0.5


def _normal_cdf(x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    # Phi((x - mu) / sigma) = (1 + erf((x - mu) / (sigma sqrt 2))) / 2
    return 0.5 * (1 + torch.erf((x - mu) / (sigma * _SQRT2)))


def tv_normal(mu_p, sigma_p, mu_q, sigma_q) -> torch.Tensor:
    """Total variation TV(p, q) = 1/2 int |p - q| for two univariate normals, exactly, elementwise.

    TV = sup_A |P(A) - Q(A)| is attained on A = {p > q}, whose ends are where the densities cross:
    log p(x) = log q(x) is the quadratic a x^2 + b x + c = 0 with
        a = 1/(2 sigma_q^2) - 1/(2 sigma_p^2),  b = mu_p/sigma_p^2 - mu_q/sigma_q^2,
        c = mu_q^2/(2 sigma_q^2) - mu_p^2/(2 sigma_p^2) + log(sigma_q / sigma_p).
    With roots x1, x2:  TV = |(P(x2) - P(x1)) - (Q(x2) - Q(x1))|  (CDFs P, Q).
    Equal sigmas cross once, at the midpoint m:  TV = erf(|mu_p - mu_q| / (2 sqrt 2 sigma)).
    Shapes: broadcastable (floats accepted) -> broadcast shape. No grid, no integration.
    """
    mu_p, sigma_p, mu_q, sigma_q = checks.floats(mu_p=mu_p, sigma_p=sigma_p, mu_q=mu_q, sigma_q=sigma_q)
    checks.positive(sigma_p, "sigma_p")
    checks.positive(sigma_q, "sigma_q")
    vp, vq = sigma_p ** 2, sigma_q ** 2
    a = 1 / (2 * vq) - 1 / (2 * vp)
    b = mu_p / vp - mu_q / vq
    c = mu_q ** 2 / (2 * vq) - mu_p ** 2 / (2 * vp) + torch.log(sigma_q / sigma_p)
    equal = a == 0
    # Equal variances: one crossing.
    tv_equal = torch.erf((mu_p - mu_q).abs() / (2 * _SQRT2 * sigma_p))
    # Unequal variances: two crossings, by the numerically stable quadratic formula
    # s = -(b + sign(b) sqrt(b^2 - 4ac)) / 2,  roots s / a and c / s.
    a_safe = torch.where(equal, torch.ones_like(a), a)
    disc = (b ** 2 - 4 * a_safe * c).clamp_min(0)
    sign_b = torch.where(b >= 0, torch.ones_like(b), -torch.ones_like(b))
    s = -(b + sign_b * disc.sqrt()) / 2
    s_safe = torch.where(s == 0, torch.ones_like(s), s)
    r1, r2 = s / a_safe, torch.where(s == 0, torch.zeros_like(c), c / s_safe)
    lo, hi = torch.minimum(r1, r2), torch.maximum(r1, r2)
    mass_p = _normal_cdf(hi, mu_p, sigma_p) - _normal_cdf(lo, mu_p, sigma_p)
    mass_q = _normal_cdf(hi, mu_q, sigma_q) - _normal_cdf(lo, mu_q, sigma_q)
    tv_unequal = (mass_p - mass_q).abs()
    return torch.where(equal, tv_equal, tv_unequal)   # in [0, 1]: CDF differences lie in [0, 1]


def js_normal(mu_p, sigma_p, mu_q, sigma_q, points: int = 4001) -> torch.Tensor:
    """Jensen-Shannon divergence of two univariate normals, by quadrature, elementwise (nats).

    JS = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2; no closed form exists, so the integral
    is a trapezoid rule on ``points`` nodes covering both densities to 12 standard deviations.
    0 <= JS <= log 2. Shapes: broadcastable (floats accepted) -> broadcast shape.
    """
    mu_p, sigma_p, mu_q, sigma_q = checks.floats(mu_p=mu_p, sigma_p=sigma_p, mu_q=mu_q, sigma_q=sigma_q)
    checks.positive(sigma_p, "sigma_p")
    checks.positive(sigma_q, "sigma_q")
    mu_p, sigma_p, mu_q, sigma_q = torch.broadcast_tensors(mu_p, sigma_p, mu_q, sigma_q)
    lo = torch.minimum(mu_p - 12 * sigma_p, mu_q - 12 * sigma_q)
    hi = torch.maximum(mu_p + 12 * sigma_p, mu_q + 12 * sigma_q)
    t = torch.linspace(0, 1, points, dtype=mu_p.dtype, device=mu_p.device)
    x = lo[..., None] + (hi - lo)[..., None] * t  # (..., points)

    def log_density(mu, sigma):
        return -0.5 * ((x - mu[..., None]) / sigma[..., None]) ** 2 - torch.log(sigma[..., None]) - 0.5 * math.log(2 * math.pi)

    lp, lq = log_density(mu_p, sigma_p), log_density(mu_q, sigma_q)
    lm = torch.logaddexp(lp, lq) - math.log(2)
    # integrand: 1/2 p log(p/m) + 1/2 q log(q/m)
    integrand = 0.5 * (lp.exp() * (lp - lm) + lq.exp() * (lq - lm))
    return torch.trapezoid(integrand, x, dim=-1).clamp(0, math.log(2))


# ----------------------------------------------------------------------------------------------
# Multivariate normals

def kl_mvn(mu_p, cov_p, mu_q, cov_q) -> torch.Tensor:
    """KL(p || q) for p = N(mu_p, cov_p), q = N(mu_q, cov_q) in d dimensions, batched.

    KL = 1/2 [ tr(cov_q^-1 cov_p) + (mu_q - mu_p)^T cov_q^-1 (mu_q - mu_p) - d
               + log det cov_q - log det cov_p ]
    computed through Cholesky factors cov = L L^T:
        tr(cov_q^-1 cov_p) = ||L_q^-1 L_p||_F^2,  quadratic term = ||L_q^-1 (mu_q - mu_p)||^2,
        log det cov = 2 sum log diag L.
    Shapes: mu (..., d), cov (..., d, d), batch dimensions broadcast -> (...).
    """
    mu_p, cov_p, mu_q, cov_q = checks.float_tensors(mu_p=mu_p, cov_p=cov_p, mu_q=mu_q, cov_q=cov_q)
    d = checks.tensor(mu_p, "mu_p", min_dim=1).shape[-1]
    if mu_q.shape[-1:] != (d,):
        raise ValueError(f"mu_q must have shape (..., {d}) like mu_p, got {tuple(mu_q.shape)}")
    for name, cov in (("cov_p", cov_p), ("cov_q", cov_q)):
        if cov.shape[-2:] != (d, d):
            raise ValueError(f"{name} must have shape (..., {d}, {d}), got {tuple(cov.shape)}")
    try:
        batch = torch.broadcast_shapes(mu_p.shape[:-1], cov_p.shape[:-2], mu_q.shape[:-1], cov_q.shape[:-2])
    except RuntimeError:
        raise ValueError(f"batch shapes do not broadcast: mu_p{tuple(mu_p.shape)}, cov_p{tuple(cov_p.shape)}, "
                         f"mu_q{tuple(mu_q.shape)}, cov_q{tuple(cov_q.shape)}") from None
    l_p, l_q = _cholesky(cov_p, "cov_p"), _cholesky(cov_q, "cov_q")
    l_p, l_q = l_p.expand(*batch, d, d), l_q.expand(*batch, d, d)
    diff = (mu_q - mu_p).expand(*batch, d).unsqueeze(-1)  # (..., d, 1)
    m = torch.linalg.solve_triangular(l_q, l_p, upper=False)       # L_q^-1 L_p   (..., d, d)
    v = torch.linalg.solve_triangular(l_q, diff, upper=False)      # L_q^-1 diff  (..., d, 1)
    trace = (m ** 2).sum(dim=(-2, -1))
    quad = (v ** 2).sum(dim=(-2, -1))
    logdet_p = 2 * torch.log(torch.diagonal(l_p, dim1=-2, dim2=-1)).sum(-1)
    logdet_q = 2 * torch.log(torch.diagonal(l_q, dim1=-2, dim2=-1)).sum(-1)
    return 0.5 * (trace + quad - d + logdet_q - logdet_p)


# ----------------------------------------------------------------------------------------------
# Discrete distributions (probability vectors on the last axis)

def kl_discrete(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) = sum_i p_i log(p_i / q_i) over the last axis, with 0 log 0 = 0.

    +inf where some q_i = 0 < p_i. Shapes: (..., K) and (..., K) broadcast -> (...).
    """
    p, q = _pair(p, q)
    # xlogy(p, p) - xlogy(p, q): both terms vanish where p = 0, and -p log 0 = +inf where q = 0 < p.
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)


def tv_discrete(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """TV(p, q) = 1/2 sum_i |p_i - q_i| over the last axis. Shapes: (..., K) -> (...)."""
    p, q = _pair(p, q)
    return 0.5 * (p - q).abs().sum(-1)


def js_discrete(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """JS(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, in nats (0 <= JS <= log 2)."""
    p, q = _pair(p, q)
    m = (p + q) / 2
    return 0.5 * ((torch.xlogy(p, p) - torch.xlogy(p, m)).sum(-1) + (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(-1))


def hellinger_discrete(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Squared Hellinger distance H^2 = 1/2 sum_i (sqrt p_i - sqrt q_i)^2 = 1 - sum_i sqrt(p_i q_i)."""
    p, q = _pair(p, q)
    return 0.5 * ((p.sqrt() - q.sqrt()) ** 2).sum(-1)


def _f_at_infinity(f: Callable, dtype: torch.dtype, device) -> torch.Tensor:
    """lim_{t -> inf} f(t) / t (the cost of mass where q = 0), +inf if it grows without bound."""
    t = torch.tensor([1e150, 1e300], dtype=torch.float64, device=device)
    ratio = f(t) / t
    a, b = float(ratio[0]), float(ratio[1])
    if not math.isfinite(b) or abs(b - a) > 1e-6 * max(1.0, abs(a)):
        return torch.tensor(math.inf, dtype=dtype, device=device)
    return torch.tensor(b, dtype=dtype, device=device)


def f_divergence(p: torch.Tensor, q: torch.Tensor, f: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """D_f(p || q) = sum_i q_i f(p_i / q_i) over the last axis, for convex f with f(1) = 0.

    Where q_i = 0 the term is p_i lim_{t->inf} f(t)/t (0 where p_i = 0 too; +inf for KL).
    f(t) = t log t gives KL, |t - 1| / 2 gives TV, (sqrt t - 1)^2 / 2 squared Hellinger,
    1/2 [t log(2t/(t+1)) + log(2/(t+1))] Jensen-Shannon. Shapes: (..., K) -> (...).
    """
    checks.function(f, "f")
    p, q = _pair(p, q)
    f_one = float(f(torch.ones((), dtype=torch.float64)))
    if abs(f_one) > 1e-9:
        raise ValueError(f"f must satisfy f(1) = 0, got f(1) = {f_one}")
    positive = q > 0
    q_safe = torch.where(positive, q, torch.ones_like(q))
    inside = q_safe * f(p / q_safe)
    slope = _f_at_infinity(f, p.dtype, p.device)
    outside = torch.where(p > 0, p * slope, torch.zeros_like(p))
    return torch.where(positive, inside, outside).sum(-1)


# ----------------------------------------------------------------------------------------------
# Estimates from samples

def kl_monte_carlo(log_p: Callable[[torch.Tensor], torch.Tensor], log_q: Callable[[torch.Tensor], torch.Tensor],
                   x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo estimate of KL(p || q) = E_{x ~ p}[log p(x) - log q(x)] from samples x ~ p.

    Returns (estimate, standard error): the mean of r_i = log p(x_i) - log q(x_i) over the first axis,
    and std(r) / sqrt(N) with the unbiased (N - 1) standard deviation.
    Shapes: x (N, ...) with N >= 2; log_p(x), log_q(x) -> (N,) or (N, ...) -> results (...).
    """
    checks.function(log_p, "log_p")
    checks.function(log_q, "log_q")
    if checks.tensor(x, "x", min_dim=1).shape[0] < 2:
        raise ValueError(f"x must hold at least 2 samples along its first axis, got shape {tuple(x.shape)}")
    lp, lq = log_p(x), log_q(x)
    if lp.shape != lq.shape or lp.shape[:1] != x.shape[:1]:
        raise ValueError(f"log_p(x) and log_q(x) must both have shape (N, ...) with N = {x.shape[0]}, "
                         f"got {tuple(lp.shape)} and {tuple(lq.shape)}")
    r = lp - lq
    n = r.shape[0]
    return r.mean(0), r.std(0, unbiased=True) / math.sqrt(n)


def wasserstein_1d(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Wasserstein-1 distance between the empirical distributions of 1-D samples x and y.

    W1 = int |F_x(t) - F_y(t)| dt over the merged sorted samples (sizes may differ; for equal sizes
    it equals mean |sort(x) - sort(y)|). Shapes: x (n,), y (m,) -> scalar.
    """
    x, y = checks.float_tensors(x=x, y=y)
    for name, t in (("x", x), ("y", y)):
        if t.ndim != 1 or t.numel() == 0:
            raise ValueError(f"{name} must be a non-empty 1-D tensor of samples, got shape {tuple(t.shape)}")
    dtype = x.dtype
    xs, ys = torch.sort(x).values, torch.sort(y).values
    allv = torch.sort(torch.cat([xs, ys])).values
    deltas = allv[1:] - allv[:-1]
    cdf_x = torch.searchsorted(xs.detach(), allv[:-1].detach(), right=True).to(dtype) / xs.numel()
    cdf_y = torch.searchsorted(ys.detach(), allv[:-1].detach(), right=True).to(dtype) / ys.numel()
    return ((cdf_x - cdf_y).abs() * deltas).sum()


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidth) -> torch.Tensor:
    """Unbiased estimate of the squared maximum mean discrepancy with a Gaussian kernel.

    k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2))
    MMD^2 = sum_{i != j} k(x_i, x_j) / (n (n-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1))
            - 2 sum_{i, j} k(x_i, y_j) / (n m)          (can be slightly negative when p = q).
    Shapes: x (n, d) or (n,), y (m, d) or (m,), n, m >= 2 -> scalar.
    """
    x, y = checks.float_tensors(x=x, y=y)
    h = checks.positive(checks.float_like(bandwidth, "bandwidth", x), "bandwidth")
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"x and y must have shape (n, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"x and y need at least 2 samples each, got {x.shape[0]} and {y.shape[0]}")

    def gram(a, b):
        # (n, 1, d) - (1, m, d) -> (n, m)
        return torch.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * h ** 2))

    n, m = x.shape[0], y.shape[0]
    kxx, kyy, kxy = gram(x, x), gram(y, y), gram(x, y)
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return term_x + term_y - 2 * kxy.mean()


# ----------------------------------------------------------------------------------------------
# Checks particular to this module, below the formulas (the shared ones are in course_lib.checks):
# probability vectors, the last axis holding the outcomes.

def _probabilities(p, name: str) -> torch.Tensor:
    """``p``: non-negative, summing to 1 over its last axis (up to rounding in p's dtype)."""
    p = checks.nonnegative(checks.as_floating(checks.tensor(p, name, min_dim=1)), name)
    atol = 1e-4 if p.dtype in (torch.float16, torch.bfloat16, torch.float32) else 1e-8
    total = p.sum(-1)
    if bool(((total - 1).abs() > atol).any()):
        worst = total.flatten()[(total - 1).abs().flatten().argmax()].item()
        raise ValueError(f"{name} must sum to 1 over its last axis, got a sum of {worst}")
    return p


def _pair(p, q) -> list[torch.Tensor]:
    """Two tensors of probability vectors with as many outcomes, on one device, in one dtype."""
    p, q = checks.same_device(p=_probabilities(p, "p"), q=_probabilities(q, "q"))
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p and q must have the same number of outcomes, got {p.shape[-1]} and {q.shape[-1]}")
    return checks.floats(p=p, q=q)


def _cholesky(cov: torch.Tensor, name: str) -> torch.Tensor:
    """The lower Cholesky factor L of a symmetric positive definite cov = L L^T, (..., d, d)."""
    scale = cov.abs().amax(dim=(-2, -1), keepdim=True).clamp_min(1e-30)
    tol = 1e-5 if cov.dtype in (torch.float16, torch.bfloat16, torch.float32) else 1e-10
    if bool(((cov - cov.transpose(-1, -2)).abs() > tol * scale).any()):
        raise ValueError(f"{name} must be symmetric")
    chol, info = torch.linalg.cholesky_ex(cov)
    if bool((info != 0).any()):
        raise ValueError(f"{name} must be positive definite (its Cholesky factorization failed)")
    return chol
