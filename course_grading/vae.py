"""Hidden tests of exercise 04 (``check("vae.<name>", fn)``).

Oracles, all computed after the submitted function has returned:

- ``reparameterize``: the sample mean and variance of many draws against mu and exp(log_var), with
  tolerances from the sample size, and the gradients that reach mu and log_var against the chain
  rule (d z / d mu = 1, d z / d log_var = (z - mu) / 2).
- ``gaussian_kl_standard``: ``torch.distributions.kl_divergence``.
- ``elbo`` and ``iwae_bound``: a linear-Gaussian model z ~ N(0, I), x | z ~ N(W z + b, s^2 I), whose
  evidence log p(x) = log N(x; b, W W^T + s^2 I) and posterior p(z | x) are exact. With the exact
  posterior as encoder the ELBO equals log p(x); with another encoder it is log p(x) - KL(q || p(z|x)),
  and the IWAE bound approaches log p(x). Tolerances come from the exact variance of the estimators.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from course_grading.threads import one_thread

from . import Case, Failure, as_items, as_tensor, assert_close

REFERENCES = tuple(f"course_lib.vae.{name}" for name in (
    "reparameterize", "gaussian_kl_standard", "elbo", "log_weights", "iwae_bound",
    "expected_image", "binarize", "latent_grid"))

Z = 5.5  # width of the confidence bands, in standard errors


# --- reparameterize ----------------------------------------------------------------------------

N_SAMPLES, L_REPARAM = 4000, 5


def _require_seeded(fn_name: str, run) -> None:
    """The documented use of ``generator``: ``run(seed)`` twice with one seed agrees, another seed differs."""
    with torch.no_grad():
        a, b, c = (torch.as_tensor(run(s)).detach().double().reshape(-1) for s in (11, 11, 12))
    if not torch.equal(a, b):
        raise Failure(f"{fn_name}: two calls with equally seeded generators gave different results: draw "
                      "every random number from `generator` (torch.randn(..., generator=generator))")
    if torch.equal(a, c):
        raise Failure(f"{fn_name}: generators with different seeds gave the same result: draw the noise "
                      "from `generator`")


def _reparam_inputs(g: torch.Generator) -> dict:
    mu = 2 * torch.randn(L_REPARAM, generator=g, dtype=torch.float64)
    # log-variances away from 0, so that a variance mistaken for a standard deviation shows
    sign = torch.where(torch.rand(L_REPARAM, generator=g) < 0.5, -1.0, 1.0).double()
    log_var = sign * (0.6 + torch.rand(L_REPARAM, generator=g, dtype=torch.float64))
    weights = torch.randn(L_REPARAM, generator=g, dtype=torch.float64)
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    return {"mu": mu, "log_var": log_var, "weights": weights, "seed": seed}


@one_thread
def _call_reparameterize(fn, inputs: dict):
    mu_leaf = inputs["mu"].clone().requires_grad_(True)
    log_var_leaf = inputs["log_var"].clone().requires_grad_(True)
    mu = mu_leaf.expand(N_SAMPLES, L_REPARAM)            # n rows of the same Gaussian
    log_var = log_var_leaf.expand(N_SAMPLES, L_REPARAM)
    _require_seeded("reparameterize", lambda s: fn(inputs["mu"], inputs["log_var"],
                                                   generator=torch.Generator().manual_seed(s)))
    z = fn(mu, log_var, generator=torch.Generator().manual_seed(inputs["seed"]))
    if type(z) is not torch.Tensor or tuple(z.shape) != (N_SAMPLES, L_REPARAM):
        raise Failure(f"reparameterize(mu, log_var) must return a tensor of the shape of mu, "
                      f"{(N_SAMPLES, L_REPARAM)}, got {getattr(z, 'shape', type(z).__name__)}")
    if not z.requires_grad:
        raise Failure("no gradient reaches mu or log_var from your sample: build z from mu and "
                      "log_var with differentiable operations (do not sample it with torch.normal)")
    grad_mu, grad_log_var = torch.autograd.grad((z * inputs["weights"]).sum(), [mu_leaf, log_var_leaf],
                                                allow_unused=True)
    if grad_mu is None or grad_log_var is None:
        raise Failure("the gradient does not reach " + ("mu" if grad_mu is None else "log_var")
                      + ": z must be computed from both mu and log_var")
    z = z.detach()
    return (z.mean(0), z.var(0), (z - inputs["mu"]).sum(0), grad_mu, grad_log_var)


@one_thread
def _judge_reparameterize(inputs: dict, output) -> None:
    items = as_items(output, 5, "the probe of reparameterize")
    mean, var, offset, grad_mu, grad_log_var = (as_tensor(t, (L_REPARAM,), name) for t, name in zip(
        items, ("the sample mean", "the sample variance", "the summed offsets", "the gradient for mu",
                "the gradient for log_var")))
    mu, log_var, w = inputs["mu"], inputs["log_var"], inputs["weights"]
    sigma2 = log_var.exp()
    n = N_SAMPLES
    if not bool(torch.isfinite(torch.stack([mean, var, grad_mu, grad_log_var])).all()):
        raise Failure("reparameterize returns NaN or inf for valid inputs")
    if bool(((mean - mu).abs() > Z * (sigma2 / n).sqrt()).any()):
        raise Failure("the samples do not have mean mu: z = mu + (standard deviation) * eps with eps ~ N(0, 1)")
    # Var of a sample variance of n normal draws: 2 sigma^4 / (n - 1)
    if bool(((var / sigma2 - 1).abs() > Z * math.sqrt(2 / (n - 1))).any()):
        raise Failure("the samples do not have variance exp(log_var): log_var is the log of the variance, "
                      "so the standard deviation is exp(log_var / 2)")
    # z = mu + exp(log_var / 2) eps: d sum(w z) / d mu = n w, d / d log_var = w sum (z - mu) / 2
    assert_close(grad_mu, n * w, "the gradient of sum(w * z) with respect to mu", rtol=1e-6, atol=1e-9,
                 hint="z must depend on mu as z = mu + ..., so that d z / d mu = 1.")
    assert_close(grad_log_var, w * offset / 2, "the gradient of sum(w * z) with respect to log_var",
                 rtol=1e-6, atol=1e-6 * n,
                 hint="With z = mu + exp(log_var / 2) eps, d z / d log_var = (z - mu) / 2.")


# --- gaussian_kl_standard ----------------------------------------------------------------------

B_KL, L_KL = 6, 3


def _kl_inputs(g: torch.Generator) -> dict:
    return {"mu": 1.5 * torch.randn(B_KL, L_KL, generator=g),
            "log_var": 3 * torch.rand(B_KL, L_KL, generator=g) - 1.5}


@one_thread
def _judge_kl(inputs: dict, output) -> None:
    actual = as_tensor(output, (B_KL,), "gaussian_kl_standard(mu, log_var) for mu of shape (6, 3)")
    mu, log_var = inputs["mu"].double(), inputs["log_var"].double()
    q = Independent(Normal(mu, (0.5 * log_var).exp()), 1)
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    assert_close(actual, kl_divergence(q, prior), "gaussian_kl_standard", rtol=1e-4, atol=1e-5,
                 hint="One KL per example: sum over the latent axis (the last one), not over the batch; "
                      "exp(log_var) is the variance; the KL is never negative.")


# --- the linear-Gaussian model of elbo and iwae_bound --------------------------------------------

B_TOY, L_TOY, D_TOY = 4, 2, 3


class LinearGaussianDecoder:
    """z (..., L) -> Independent(Normal(z W^T + b, s^2), 1): p(x | z) of the toy model."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, noise: float):
        self.weight, self.bias, self.noise = weight, bias, noise

    def __call__(self, z: torch.Tensor):
        return Independent(Normal(z @ self.weight.T + self.bias, self.noise), 1)


class AffineEncoder:
    """x (B, D) -> (x A^T + c, log_var repeated over the batch): a diagonal Gaussian q(z | x)."""

    def __init__(self, matrix: torch.Tensor, offset: torch.Tensor, log_var: torch.Tensor):
        self.matrix, self.offset, self.log_var = matrix, offset, log_var

    def __call__(self, x: torch.Tensor):
        mu = x @ self.matrix.T + self.offset
        return mu, self.log_var.expand(mu.shape).clone()


def _toy_inputs(g: torch.Generator, k: int) -> dict:
    """Toy model with W = Q diag(d) (orthogonal columns), so that the exact posterior is diagonal."""
    q_mat, _ = torch.linalg.qr(torch.randn(D_TOY, L_TOY, generator=g, dtype=torch.float64))
    noise = 0.5 + 0.5 * float(torch.rand((), generator=g))
    scales = noise * (1.5 + 1.5 * torch.rand(L_TOY, generator=g, dtype=torch.float64))   # d / s in [1.5, 3]
    weight = q_mat * scales                                                               # (D, L)
    bias = torch.randn(D_TOY, generator=g, dtype=torch.float64)
    z = torch.randn(B_TOY, L_TOY, generator=g, dtype=torch.float64)
    x = z @ weight.T + bias + noise * torch.randn(B_TOY, D_TOY, generator=g, dtype=torch.float64)
    # exact posterior: variance 1 / (1 + d^2 / s^2), mean = var * W^T (x - b) / s^2
    post_var = 1 / (1 + (scales / noise) ** 2)
    matrix = post_var[:, None] * weight.T / noise ** 2                                    # (L, D)
    exact = AffineEncoder(matrix, -matrix @ bias, post_var.log())
    # an imperfect encoder: mean off by about one posterior standard deviation, variance off by 0.9..1.5
    shift = (0.8 + 0.4 * torch.rand(L_TOY, generator=g, dtype=torch.float64)) * post_var.sqrt()
    shift = shift * torch.where(torch.rand(L_TOY, generator=g) < 0.5, -1.0, 1.0).double()
    ratio = 0.9 + 0.6 * torch.rand(L_TOY, generator=g, dtype=torch.float64)
    other = AffineEncoder(matrix, -matrix @ bias + shift, (post_var * ratio).log())
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    return {"x": x, "decoder": LinearGaussianDecoder(weight, bias, noise), "exact": exact, "other": other,
            "k": k, "seed": seed}


def _exact_quantities(inputs: dict, encoder: AffineEncoder):
    """log p(x), the exact posterior (mean, cov), q's (mean, var) -- oracles by torch.distributions."""
    dec, x = inputs["decoder"], inputs["x"]
    w, b, s = dec.weight, dec.bias, dec.noise
    evidence = MultivariateNormal(b, w @ w.T + s ** 2 * torch.eye(D_TOY, dtype=w.dtype)).log_prob(x)   # (B,)
    post_cov = torch.linalg.inv(torch.eye(L_TOY, dtype=w.dtype) + w.T @ w / s ** 2)                    # (L, L)
    post_mean = (x - b) @ w @ post_cov.T / s ** 2                                                      # (B, L)
    q_mean = x @ encoder.matrix.T + encoder.offset
    q_var = encoder.log_var.exp().expand(q_mean.shape)
    return evidence, post_mean, post_cov, q_mean, q_var


def _quadratic_variance(linear: torch.Tensor, quad: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """Var of a + linear^T u + u^T quad u for u ~ N(0, diag var): l^T V l + 2 tr((A V)^2), per example."""
    v = torch.diag_embed(var)                                   # (B, L, L)
    av = quad @ v
    return (linear * var * linear).sum(-1) + 2 * (av @ av).diagonal(dim1=-2, dim2=-1).sum(-1)


def _elbo_std(inputs: dict, encoder: AffineEncoder) -> torch.Tensor:
    """Standard deviation of one sample of either ELBO estimator (closed-form KL or log-weights)."""
    dec, x = inputs["decoder"], inputs["x"]
    w, b, s = dec.weight, dec.bias, dec.noise
    _, _, _, q_mean, q_var = _exact_quantities(inputs, encoder)
    # log p(x | mu + u) = const + r^T W u / s^2 - u^T W^T W u / (2 s^2),   r = x - b - W mu
    r = x - b - q_mean @ w.T
    lin = r @ w / s ** 2
    quad = (-w.T @ w / (2 * s ** 2)).expand(x.shape[0], L_TOY, L_TOY)
    var_reconstruction = _quadratic_variance(lin, quad, q_var)
    # log w = log p(x | z) + log N(z; 0, I) - log N(z; mu, diag var): extra -mu^T u - u^T u / 2 + sum u^2 / (2 var)
    quad_w = quad - 0.5 * torch.eye(L_TOY, dtype=w.dtype) + torch.diag_embed(0.5 / q_var)
    var_weights = _quadratic_variance(lin - q_mean, quad_w, q_var)
    return torch.maximum(var_reconstruction, var_weights).sqrt()


def _gaussian_kl(mean_q, var_q, mean_p, cov_p) -> torch.Tensor:
    return kl_divergence(MultivariateNormal(mean_q, torch.diag_embed(var_q)),
                         MultivariateNormal(mean_p, cov_p.expand(mean_q.shape[0], L_TOY, L_TOY)))


@one_thread
def _call_bound(fn, inputs: dict):
    """Evaluate the bound with the exact posterior and with the imperfect encoder."""
    _require_seeded(getattr(fn, "__name__", "your function"), lambda s: fn(
        inputs["x"], inputs["other"], inputs["decoder"], 8, generator=torch.Generator().manual_seed(s)))
    out = []
    for i, name in enumerate(("exact", "other")):
        gen = torch.Generator().manual_seed(inputs["seed"] + i)
        with torch.no_grad():
            value = fn(inputs["x"], inputs[name], inputs["decoder"], inputs["k"], generator=gen)
        out.append(value)
    return tuple(out)


# --- elbo --------------------------------------------------------------------------------------

K_ELBO = 4000


@one_thread
def _judge_elbo(inputs: dict, output) -> None:
    exact_out, other_out = as_items(output, 2, "elbo on the toy model")
    k = inputs["k"]
    for name, plain in (("exact", exact_out), ("other", other_out)):
        what = ("elbo(x, encoder, decoder, k) with the exact posterior as encoder" if name == "exact"
                else "elbo(x, encoder, decoder, k) with an imperfect encoder")
        actual = as_tensor(plain, (B_TOY,), what)
        evidence, post_mean, post_cov, q_mean, q_var = _exact_quantities(inputs, inputs[name])
        expected = evidence - _gaussian_kl(q_mean, q_var, post_mean, post_cov)   # log p(x) - KL(q || posterior)
        tol = Z * _elbo_std(inputs, inputs[name]) / math.sqrt(k) + 1e-6 * (1 + expected.abs())
        if not bool(torch.isfinite(actual).all()):
            raise Failure(f"{what} contains NaN or inf")
        if bool(((actual - expected).abs() > tol).any()):
            hint = ("When q(z | x) is the exact posterior the ELBO equals log p(x)." if name == "exact" else
                    "The ELBO is log p(x) - KL(q(z|x) || p(z|x)).")
            raise Failure(f"{what} is wrong for {int(((actual - expected).abs() > tol).sum())} of {B_TOY} "
                          f"examples (largest error {float((actual - expected).abs().max()):.3g} nats, more "
                          f"than {k} samples allow). {hint} Check: the average of log p(x | z) over the k "
                          "samples, minus (not plus) one KL per example, and samples z with standard "
                          "deviation exp(log_var / 2).")


# --- iwae_bound --------------------------------------------------------------------------------

K_IWAE = 5000


def _log_second_moment(q_mean, q_var, post_mean, post_cov) -> torch.Tensor:
    """log E_q[(p(z|x) / q(z))^2] = log int p^2 / q, for Gaussians p = N(m, S), q = N(mu, diag v)."""
    s_inv = torch.linalg.inv(post_cov)                              # (L, L)
    q_prec = torch.diag_embed(1 / q_var)                            # (B, L, L)
    prec = 2 * s_inv - q_prec                                       # must be positive definite
    h = 2 * post_mean @ s_inv - q_mean / q_var                      # (B, L)
    c0 = 2 * ((post_mean @ s_inv) * post_mean).sum(-1) - (q_mean ** 2 / q_var).sum(-1)
    const = (-torch.logdet(2 * math.pi * post_cov) + 0.5 * torch.log(2 * math.pi * q_var).sum(-1)
             + 0.5 * L_TOY * math.log(2 * math.pi))
    quad = (h[:, None, :] @ torch.linalg.solve(prec, h[:, :, None])).flatten()
    return const - 0.5 * c0 - 0.5 * torch.logdet(prec) + 0.5 * quad


SHIFT = -1000.0  # log p(x | z) moved by this much: exp(log w) underflows to 0 in float64


class _ShiftedLikelihood:
    """A distribution whose ``log_prob`` is the wrapped one's plus ``shift`` (everything else forwarded)."""

    def __init__(self, dist, shift: float):
        self.dist, self.shift = dist, shift

    def log_prob(self, x):
        return self.dist.log_prob(x) + self.shift

    def __getattr__(self, name):
        return getattr(self.__dict__["dist"], name)


class _ShiftedDecoder:
    def __init__(self, decoder, shift: float):
        self.decoder, self.shift = decoder, shift

    def __call__(self, z):
        return _ShiftedLikelihood(self.decoder(z), self.shift)


@one_thread
def _call_iwae(fn, inputs: dict):
    """The two bounds of ``_call_bound``, then the imperfect encoder's again with every log-weight
    moved by SHIFT (same generator seed, so the same samples): the bound must move by SHIFT exactly."""
    exact_out, other_out = _call_bound(fn, inputs)
    gen = torch.Generator().manual_seed(inputs["seed"] + 1)
    with torch.no_grad():
        shifted = fn(inputs["x"], inputs["other"], _ShiftedDecoder(inputs["decoder"], SHIFT), inputs["k"],
                     generator=gen)
    return exact_out, other_out, shifted


@one_thread
def _judge_iwae(inputs: dict, output) -> None:
    exact_out, other_out, shifted_out = as_items(output, 3, "iwae_bound on the toy model")
    other = as_tensor(other_out, (B_TOY,), "iwae_bound with an imperfect encoder")
    shifted = as_tensor(shifted_out, (B_TOY,), "iwae_bound with log-weights near -1000")
    if not bool(torch.isfinite(shifted).all()) or bool(((shifted - other) - SHIFT).abs().max() > 1e-6):
        raise Failure("iwae_bound with log-weights near -1000 (log p(x | z) lowered by 1000) must be the "
                      "bound without that shift, minus 1000; got "
                      f"{[round(v, 4) for v in shifted.tolist()]} for {[round(v - 1000, 4) for v in other.tolist()]}. "
                      "exp(-1000) underflows to 0: compute log (1/k) sum_i w_i as logsumexp_i(log w_i) - log k "
                      "(subtract the largest log-weight before exponentiating), never log(mean(exp(log w))).")
    k = inputs["k"]
    evidence, post_mean, post_cov, q_mean, q_var = _exact_quantities(inputs, inputs["exact"])
    actual = as_tensor(exact_out, (B_TOY,), "iwae_bound with the exact posterior as encoder")
    assert_close(actual, evidence, "iwae_bound(x, encoder, decoder, k) with the exact posterior as encoder",
                 rtol=1e-6, atol=1e-6,
                 hint="With the exact posterior every weight p(x, z) / q(z | x) equals p(x), so the bound is "
                      "log p(x) exactly: check log p(x | z) + log p(z) - log q(z | x), and subtract log k.")
    evidence, post_mean, post_cov, q_mean, q_var = _exact_quantities(inputs, inputs["other"])
    actual = as_tensor(other_out, (B_TOY,), "iwae_bound with an imperfect encoder")
    # normalized weights r = p(z|x) / q(z): mean 1, variance chi2 = E r^2 - 1; IWAE - log p(x) = log mean r
    chi2 = _log_second_moment(q_mean, q_var, post_mean, post_cov).exp() - 1
    tol = Z * (chi2 / k).sqrt() + chi2 / k + 1e-6
    if not bool(torch.isfinite(actual).all()):
        raise Failure("iwae_bound with an imperfect encoder contains NaN or inf")
    err = actual - evidence
    if bool((err.abs() > tol).any()):
        raise Failure(f"iwae_bound with k = {k} samples and an imperfect encoder is off log p(x) by up to "
                      f"{float(err.abs().max()):.3g} nats, more than the samples allow. The bound is "
                      "log (1/k) sum_i w_i = logsumexp_i(log w_i) - log k, over the k samples of each "
                      "example (the mean of the log-weights is only the ELBO).")


CASES = {
    "reparameterize": Case(_reparam_inputs, _judge_reparameterize, REFERENCES, call=_call_reparameterize),
    "gaussian_kl_standard": Case(_kl_inputs, _judge_kl, REFERENCES),
    "elbo": Case(lambda g: _toy_inputs(g, K_ELBO), _judge_elbo, REFERENCES, call=_call_bound),
    "iwae_bound": Case(lambda g: _toy_inputs(g, K_IWAE), _judge_iwae, REFERENCES, call=_call_iwae),
}
