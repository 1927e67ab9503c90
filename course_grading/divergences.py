"""Hidden tests of exercise 01 (``check("divergences.<name>", fn)``): Laplace distributions.

Expected values come from independent oracles -- torch.distributions' KL registry, numerical
integration on a fine grid and plain numpy -- computed after the submitted function has returned.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.distributions import Laplace, kl_divergence

from . import Case, Failure, as_items, as_tensor, assert_close

# Every reference implementation in course_lib.divergences is disabled while a submission runs.
REFERENCES = tuple(f"course_lib.divergences.{name}" for name in (
    "kl_normal", "tv_normal", "js_normal", "kl_mvn", "kl_discrete", "tv_discrete", "js_discrete",
    "hellinger_discrete", "f_divergence", "kl_monte_carlo", "wasserstein_1d", "mmd"))

N = 7  # pairs per trial


def _laplace_params(g: torch.Generator) -> dict:
    """N random pairs; pair 0 has equal centres, pair 1 equal scales, pair 2 the wider p, pair 3 the
    wider q, pairs 4, 5 have mu_p > mu_q and mu_p < mu_q (a signed difference shows), and in pair 6
    p = q (where a formula that divides by b_q - b_p gives 0 / 0)."""
    mu_p = 2 * torch.randn(N, generator=g)
    mu_q = 2 * torch.randn(N, generator=g)
    b_p = torch.exp(torch.rand(N, generator=g) * 2 - 1)
    b_q = torch.exp(torch.rand(N, generator=g) * 2 - 1)
    mu_q[0] = mu_p[0]
    b_q[1] = b_p[1]
    b_p[2], b_q[2] = torch.maximum(b_p[2], b_q[2]) * 1.5, torch.minimum(b_p[2], b_q[2])
    b_p[3], b_q[3] = torch.minimum(b_p[3], b_q[3]), torch.maximum(b_p[3], b_q[3]) * 1.5
    gap = 0.5 + torch.rand(2, generator=g)
    mu_q[4], mu_q[5] = mu_p[4] - gap[0], mu_p[5] + gap[1]
    mu_q[6], b_q[6] = mu_p[6], b_p[6]
    return {"mu_p": mu_p, "b_p": b_p, "mu_q": mu_q, "b_q": b_q}


def _f64(inputs: dict) -> dict:
    return {k: v.double() for k, v in inputs.items()}


# --- kl_laplace --------------------------------------------------------------------------------

def _judge_kl_laplace(inputs: dict, output) -> None:
    actual = as_tensor(output, (N,), "kl_laplace(mu_p, b_p, mu_q, b_q)")
    x = _f64(inputs)
    expected = kl_divergence(Laplace(x["mu_p"], x["b_p"]), Laplace(x["mu_q"], x["b_q"]))
    assert_close(actual, expected, "kl_laplace", rtol=1e-4, atol=1e-5,
                 hint="Check E_p|X - mu_q| (it is not |mu_p - mu_q|, and it depends on |mu_p - mu_q|, not "
                      "on its sign), which scale divides what, and KL(p || q) != KL(q || p).")


# --- tv_laplace --------------------------------------------------------------------------------

def _tv_by_grid(mu_p, b_p, mu_q, b_q, points: int = 200_001) -> np.ndarray:
    """1/2 int |p - q| by the trapezoid rule on a fine grid (numpy, float64), one value per pair.

    Independent of any closed form: no crossing points are used. The centres (the densities' kinks)
    are grid points; the remaining kinks of |p - q| (the crossings) leave an error far below the
    judge's tolerance.
    """
    out = []
    for mp, bp, mq, bq in zip(mu_p, b_p, mu_q, b_q):
        lo, hi = min(mp - 40 * bp, mq - 40 * bq), max(mp + 40 * bp, mq + 40 * bq)
        x = np.union1d(np.linspace(lo, hi, points), [mp, mq])
        p = np.exp(-np.abs(x - mp) / bp) / (2 * bp)
        q = np.exp(-np.abs(x - mq) / bq) / (2 * bq)
        out.append(0.5 * np.trapezoid(np.abs(p - q), x))
    return np.array(out)


def _judge_tv_laplace(inputs: dict, output) -> None:
    actual = as_tensor(output, (N,), "tv_laplace(mu_p, b_p, mu_q, b_q)")
    x = {k: v.double().numpy() for k, v in inputs.items()}
    expected = torch.from_numpy(_tv_by_grid(x["mu_p"], x["b_p"], x["mu_q"], x["b_q"]))
    assert_close(actual, expected, "tv_laplace", rtol=1e-4, atol=1e-5,
                 hint="TV is P(A) - Q(A) for A = {p > q}, with the Laplace CDF. Mind which distribution "
                      "is the wider one (either can be), equal scales (one crossing) and equal centres.")


# --- kl_control_variate ------------------------------------------------------------------------

SAMPLES = 400  # differs from N and from every other size


class _LogDensity:
    """A picklable, deep-copyable log-density of Laplace(mu, b) on (N,) draws."""

    def __init__(self, mu: float, b: float):
        self.mu, self.b = mu, b

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return Laplace(torch.tensor(self.mu, dtype=x.dtype), torch.tensor(self.b, dtype=x.dtype)).log_prob(x)


def _cv_inputs(g: torch.Generator) -> dict:
    mu_p, mu_q = (2 * torch.randn(2, generator=g)).tolist()
    b_p = float(torch.exp(torch.rand(1, generator=g) - 0.5))
    b_q = b_p * float(0.5 + 1.2 * torch.rand(1, generator=g))  # b_q < 2 b_p: a finite variance
    u = torch.rand(SAMPLES, generator=g, dtype=torch.float64) - 0.5
    x = mu_p - b_p * torch.sign(u) * torch.log1p(-2 * u.abs())
    return {"log_p": _LogDensity(mu_p, b_p), "log_q": _LogDensity(mu_q, b_q), "x": x}


def _judge_kl_control_variate(inputs: dict, output) -> None:
    estimate, stderr = as_items(output, 2, "kl_control_variate(log_p, log_q, x)")
    estimate = as_tensor(estimate, (), "the estimate")
    stderr = as_tensor(stderr, (), "the standard error")
    p, q, x = inputs["log_p"], inputs["log_q"], inputs["x"].numpy()
    log_r = (np.log(2 * p.b) + np.abs(x - p.mu) / p.b) - (np.log(2 * q.b) + np.abs(x - q.mu) / q.b)
    terms = np.expm1(log_r) - log_r
    assert_close(estimate, torch.tensor(np.mean(terms)), "the estimate", rtol=1e-6, atol=1e-8,
                 hint="Average t = (r - 1) - log r with r = q(x) / p(x) (not p / q) over the draws x ~ p.")
    assert_close(stderr, torch.tensor(np.std(terms, ddof=1) / np.sqrt(len(terms))), "the standard error",
                 rtol=1e-6, atol=1e-8,
                 hint="The standard error of a mean of N terms is their (N - 1) standard deviation / sqrt(N).")


def _call_kl_control_variate(fn, inputs: dict):
    result = fn(**inputs)
    if type(result) is not tuple:
        raise Failure("kl_control_variate must return a tuple (estimate, standard error)")
    return result


CASES = {
    "kl_laplace": Case(_laplace_params, _judge_kl_laplace, REFERENCES),
    "tv_laplace": Case(_laplace_params, _judge_tv_laplace, REFERENCES),
    "kl_control_variate": Case(_cv_inputs, _judge_kl_control_variate, REFERENCES,
                               call=_call_kl_control_variate),
}
