"""Hidden tests of exercise 01 (``check("divergences.<name>", fn)``).

Expected values come from independent oracles -- torch.distributions' KL registry, numerical
integration on a fine grid and plain numpy/scipy -- computed after the submitted function has returned.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from . import Case, Failure, as_items, as_tensor, assert_close

# Every reference implementation in course_lib.divergences is disabled while a submission runs.
REFERENCES = tuple(f"course_lib.divergences.{name}" for name in (
    "kl_normal", "tv_normal", "js_normal", "kl_mvn", "kl_discrete", "tv_discrete", "js_discrete",
    "hellinger_discrete", "f_divergence", "kl_monte_carlo", "wasserstein_1d", "mmd"))

N = 6  # elements per trial


def _normal_params(g: torch.Generator) -> dict:
    mu_p = 2 * torch.randn(N, generator=g)
    mu_q = 2 * torch.randn(N, generator=g)
    sigma_p = torch.exp(torch.rand(N, generator=g) * 2 - 1)
    sigma_q = torch.exp(torch.rand(N, generator=g) * 2 - 1)
    return {"mu_p": mu_p, "sigma_p": sigma_p, "mu_q": mu_q, "sigma_q": sigma_q}


def _f64(inputs: dict) -> dict:
    return {k: v.double() for k, v in inputs.items()}


# --- kl_normal ---------------------------------------------------------------------------------

def _judge_kl_normal(inputs: dict, output) -> None:
    actual = as_tensor(output, (N,), "kl_normal(mu_p, sigma_p, mu_q, sigma_q)")
    x = _f64(inputs)
    expected = kl_divergence(Normal(x["mu_p"], x["sigma_p"]), Normal(x["mu_q"], x["sigma_q"]))
    assert_close(actual, expected, "kl_normal", rtol=1e-4, atol=1e-5,
                 hint="Compare with the formula: which sigma is in the denominator, is sigma a "
                      "standard deviation or a variance, and is KL(p || q) = KL(q || p)?")


# --- tv_normal ---------------------------------------------------------------------------------

def _tv_inputs(g: torch.Generator) -> dict:
    inputs = _normal_params(g)
    inputs["sigma_q"][0] = inputs["sigma_p"][0]  # one pair with equal variances (a single crossing)
    return inputs


def _tv_by_grid(mu_p, sigma_p, mu_q, sigma_q, points: int = 100_001) -> np.ndarray:
    """1/2 int |p - q| by the trapezoid rule on a fine grid (numpy, float64), one row per pair.

    Independent of the closed form: no crossing points are used. The kinks of |p - q| make the rule
    accurate to about 1e-8 here, far inside the tolerance of the judge.
    """
    out = []
    for mp, sp, mq, sq in zip(mu_p, sigma_p, mu_q, sigma_q):
        lo, hi = min(mp - 12 * sp, mq - 12 * sq), max(mp + 12 * sp, mq + 12 * sq)
        x = np.linspace(lo, hi, points)
        p = np.exp(-0.5 * ((x - mp) / sp) ** 2) / (sp * np.sqrt(2 * np.pi))
        q = np.exp(-0.5 * ((x - mq) / sq) ** 2) / (sq * np.sqrt(2 * np.pi))
        out.append(0.5 * np.trapezoid(np.abs(p - q), x))
    return np.array(out)


def _judge_tv_normal(inputs: dict, output) -> None:
    actual = as_tensor(output, (N,), "tv_normal(mu_p, sigma_p, mu_q, sigma_q)")
    x = {k: v.double().numpy() for k, v in inputs.items()}
    expected = _tv_by_grid(x["mu_p"], x["sigma_p"], x["mu_q"], x["sigma_q"])
    assert_close(actual, torch.from_numpy(expected), "tv_normal", rtol=1e-4, atol=1e-6,
                 hint="TV is half the integral of |p - q|; mind the case of equal variances, where "
                      "the densities cross only once.")


# --- kl_mvn ------------------------------------------------------------------------------------

B, D = 4, 3  # batch differs from d: reading d from the batch axis shows


def _spd(g: torch.Generator) -> torch.Tensor:
    a = torch.randn(B, D, D, generator=g)
    return a @ a.transpose(-1, -2) + 0.5 * torch.eye(D)


def _mvn_inputs(g: torch.Generator) -> dict:
    return {"mu_p": torch.randn(B, D, generator=g), "cov_p": _spd(g),
            "mu_q": torch.randn(B, D, generator=g), "cov_q": _spd(g)}


def _judge_kl_mvn(inputs: dict, output) -> None:
    actual = as_tensor(output, (B,), "kl_mvn(mu_p, cov_p, mu_q, cov_q)")
    x = _f64(inputs)
    expected = kl_divergence(MultivariateNormal(x["mu_p"], x["cov_p"]), MultivariateNormal(x["mu_q"], x["cov_q"]))
    assert_close(actual, expected, "kl_mvn", rtol=1e-3, atol=1e-4,
                 hint="Check each of the trace, quadratic and log-determinant terms, the - d, and "
                      "the factor 1/2; which covariance is inverted?")


# --- kl_monte_carlo ----------------------------------------------------------------------------

SAMPLES = 400


class _LogDensity:
    """A picklable, deep-copyable log-density of N(mu, sigma^2) on (N,) samples."""

    def __init__(self, mu: float, sigma: float):
        self.mu, self.sigma = mu, sigma

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return Normal(torch.tensor(self.mu, dtype=x.dtype), torch.tensor(self.sigma, dtype=x.dtype)).log_prob(x)


def _mc_inputs(g: torch.Generator) -> dict:
    mu_p, mu_q = (2 * torch.randn(2, generator=g)).tolist()
    sigma_p, sigma_q = torch.exp(torch.rand(2, generator=g) - 0.5).tolist()
    x = mu_p + sigma_p * torch.randn(SAMPLES, generator=g, dtype=torch.float64)
    return {"log_p": _LogDensity(mu_p, sigma_p), "log_q": _LogDensity(mu_q, sigma_q), "x": x}


def _judge_kl_monte_carlo(inputs: dict, output) -> None:
    estimate, stderr = as_items(output, 2, "kl_monte_carlo(log_p, log_q, x)")
    estimate = as_tensor(estimate, (), "the estimate")
    stderr = as_tensor(stderr, (), "the standard error")
    p, q, x = inputs["log_p"], inputs["log_q"], inputs["x"].numpy()
    r = stats.norm.logpdf(x, p.mu, p.sigma) - stats.norm.logpdf(x, q.mu, q.sigma)
    assert_close(estimate, torch.tensor(np.mean(r)), "the estimate", rtol=1e-6, atol=1e-8,
                 hint="The estimate averages log p(x) - log q(x) over the samples x ~ p.")
    assert_close(stderr, torch.tensor(np.std(r, ddof=1) / np.sqrt(len(r))), "the standard error",
                 rtol=1e-6, atol=1e-8,
                 hint="The standard error of a mean of N samples is their (N - 1) standard deviation / sqrt(N).")


def _call_kl_monte_carlo(fn, inputs: dict):
    result = fn(**inputs)
    if type(result) is not tuple:
        raise Failure("kl_monte_carlo must return a tuple (estimate, standard error)")
    return result


CASES = {
    "kl_normal": Case(_normal_params, _judge_kl_normal, REFERENCES),
    "tv_normal": Case(_tv_inputs, _judge_tv_normal, REFERENCES),
    "kl_mvn": Case(_mvn_inputs, _judge_kl_mvn, REFERENCES),
    "kl_monte_carlo": Case(_mc_inputs, _judge_kl_monte_carlo, REFERENCES, call=_call_kl_monte_carlo),
}
