"""Hidden tests of exercise 05 (``check("estimators.<name>", fn)``).

Each trial draws mu, log_sigma (two coordinates, sigma far from 1) and runs the submitted estimator
on test functions whose expectation E_{z ~ N(mu, sigma^2)} f(z) has a closed-form gradient:

    quadratic  f(z) = sum_j a_j z_j^2 + c_j z_j + e   dE/dmu = 2 a mu + c,  dE/dlog_sigma = 2 a sigma^2
    sine       f(z) = sum_j sin z_j                   dE/dmu = cos(mu) e^{-sigma^2/2},
                                                      dE/dlog_sigma = -sigma^2 sin(mu) e^{-sigma^2/2}
    step       f(z) = sum_j 1[z_j > t_j]              dE/dmu = phi(u) / sigma,  dE/dlog_sigma = -u phi(u),
                                                      u = (mu - t) / sigma   (score function only)

The probe (``Case.call``) runs the estimator, checks the per-sample shape (n, 2), and records the mean
and the variance of the per-sample estimates. The judge requires the mean to lie within a band of
5.5 standard errors around the exact gradient (unbiasedness), and the variance to be no larger than
twice the variance of the textbook estimator, or that variance plus 5.5 standard errors of a sample
variance if more (both from the estimator's moments, computed by the judge by quadrature):
an estimator cannot hide a bias behind noise, the baseline must cut the variance, and a
score-function estimate cannot pass for a pathwise one.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from course_grading.threads import one_thread

from . import Case, Failure, as_items, as_tensor

REFERENCES = ("course_lib.estimators.score_function_grad", "course_lib.estimators.pathwise_grad")

D = 2             # coordinates of mu
N_SCORE = 20000   # samples per estimator call
N_PATH = 20000
Z = 5.5           # band width in standard errors


class Quadratic:
    """f(z) = sum_j a_j z_j^2 + c_j z_j + e over the last axis; (n, d) -> (n,)."""

    def __init__(self, a, c, e):
        self.a, self.c, self.const = np.asarray(a, float), np.asarray(c, float), float(e)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        a, c = torch.as_tensor(self.a, dtype=z.dtype), torch.as_tensor(self.c, dtype=z.dtype)
        return (a * z ** 2 + c * z).sum(-1) + self.const

    def terms(self, z: np.ndarray) -> np.ndarray:       # f = sum_j terms_j + const
        return self.a * z ** 2 + self.c * z

    def term_grads(self, z: np.ndarray) -> np.ndarray:  # d terms_j / d z_j
        return 2 * self.a * z + self.c

    def exact(self, mu, sigma):
        return 2 * self.a * mu + self.c, 2 * self.a * sigma ** 2

    def mean(self, mu, sigma) -> float:
        return float((self.a * (mu ** 2 + sigma ** 2) + self.c * mu).sum() + self.const)


class Sine:
    """f(z) = sum_j sin(z_j); (n, d) -> (n,)."""

    const = 0.0

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z).sum(-1)

    def terms(self, z):
        return np.sin(z)

    def term_grads(self, z):
        return np.cos(z)

    def exact(self, mu, sigma):
        damp = np.exp(-sigma ** 2 / 2)
        return np.cos(mu) * damp, -sigma ** 2 * np.sin(mu) * damp


class Step:
    """f(z) = sum_j 1[z_j > t_j]: not differentiable (its pathwise gradient is 0 almost everywhere)."""

    const = 0.0

    def __init__(self, t):
        self.t = np.asarray(t, float)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (z > torch.as_tensor(self.t, dtype=z.dtype)).to(z.dtype).sum(-1)

    def terms(self, z):
        return (z > self.t).astype(float)

    def exact(self, mu, sigma):
        u = (mu - self.t) / sigma
        phi = np.exp(-u ** 2 / 2) / np.sqrt(2 * np.pi)   # standard normal density
        return phi / sigma, -u * phi


def _params(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    mu = torch.randn(D, generator=g, dtype=torch.float64)
    # sigma in [0.37, 0.61] or [1.65, 2.7]: a missing or extra factor sigma shows
    sign = torch.where(torch.rand(D, generator=g) < 0.5, -1.0, 1.0).double()
    log_sigma = sign * (0.5 + 0.5 * torch.rand(D, generator=g, dtype=torch.float64))
    return mu, log_sigma


def _rand(g: torch.Generator, lo: float, hi: float) -> list[float]:
    return (lo + (hi - lo) * torch.rand(D, generator=g, dtype=torch.float64)).tolist()


def _seeded_runs(fn, f, mu, log_sigma, seed: int, **kwargs) -> torch.Tensor:
    """[two calls with equally seeded generators agree, a different seed gives another result], as 1.0/0.0."""
    def run(s):
        out = fn(f, mu, log_sigma, 64, generator=torch.Generator().manual_seed(s), **kwargs)
        return torch.cat([torch.as_tensor(t).detach().reshape(-1).double() for t in out])
    a, b, c = run(seed), run(seed), run(seed + 1)
    return torch.tensor([float(torch.equal(a, b)), float(not torch.equal(a, c))], dtype=torch.float64)


def _judge_seeded(fn_name: str, flags) -> None:
    same, different = (bool(x == 1) for x in as_tensor(flags, (2,), f"the generator probe of {fn_name}").tolist())
    if not same:
        raise Failure(f"{fn_name}: two calls with equally seeded generators gave different results: draw "
                      "every random number from `generator` (torch.randn(..., generator=generator))")
    if not different:
        raise Failure(f"{fn_name}: generators with different seeds gave the same result: draw the noise "
                      "from `generator`")


def _summary(fn_name: str, result, n: int) -> tuple:
    if type(result) is not tuple or len(result) != 2:
        raise Failure(f"{fn_name} must return the tuple (grad_mu, grad_log_sigma)")
    out = []
    for name, t in zip(("grad_mu", "grad_log_sigma"), result):
        if type(t) is not torch.Tensor or tuple(t.shape) != (n, D):
            raise Failure(f"{fn_name}: {name} must be a tensor of shape (n, *mu.shape) = {(n, D)}, one "
                          f"estimate per sample, got {getattr(t, 'shape', type(t).__name__)}")
    for t in result:
        t = t.detach().to(torch.float64)
        out += [t.mean(0), t.var(0)]
    return tuple(out)   # (mean_mu, var_mu, mean_ls, var_ls)


# Expectations over one eps ~ N(0, 1) by the trapezoid rule on a fine grid (steps included).
_EPS = np.linspace(-12, 12, 24001)
_WEIGHTS = np.exp(-_EPS ** 2 / 2) / np.sqrt(2 * np.pi) * (_EPS[1] - _EPS[0])
_WEIGHTS[[0, -1]] /= 2


def _expect(values: np.ndarray) -> np.ndarray:
    """E over eps of values (G, d) on the grid -> (d,)."""
    return (_WEIGHTS[:, None] * values).sum(0)


def _raw_moments(f, mu, sigma, kind: str, baseline: float = 0.0):
    """E[g^p], p = 1..4, of one textbook estimate g of each coordinate, by quadrature.

    Returns two arrays (4, d): for grad_mu and for grad_log_sigma. Every test function is a sum
    f = h_0(z_0) + h_1(z_1) + const, so for the score function the estimate of coordinate j is
    (h_j + R_j) s(eps_j) with R_j = h_{1-j} + const - b independent of eps_j, and
        E[g^p] = sum_k C(p, k) E[h_j^k s^p] E[R_j^(p-k)].
    """
    eps = _EPS[:, None] + 0 * mu                                     # (G, d)
    z = mu + sigma * eps
    powers = range(1, 5)
    if kind == "path":
        grad = f.term_grads(z)
        return tuple(np.stack([_expect(g ** p) for p in powers]) for g in (grad, grad * sigma * eps))
    h = f.terms(z)
    rest = h[:, ::-1] + f.const - baseline                            # column j holds h_{1-j} + const - b
    rest_moments = [_expect(rest ** q) for q in range(5)]             # E[R_j^q], q = 0..4
    h_powers = [np.ones_like(h), h, h ** 2, h ** 3, h ** 4]
    out = []
    for score in (eps / sigma, eps ** 2 - 1):                         # d log N / d mu, d / d log_sigma
        out.append(np.stack([sum(math.comb(p, k) * _expect(h_powers[k] * score ** p) * rest_moments[p - k]
                                 for k in range(p + 1)) for p in powers]))
    return tuple(out)


def _judge_one(label: str, items, f, mu, sigma, n: int, kind: str, baseline: float = 0.0) -> None:
    mean_mu, var_mu, mean_ls, var_ls = (as_tensor(t, (D,), f"{label}: summary").numpy() for t in items)
    exact = f.exact(mu, sigma)
    moments = _raw_moments(f, mu, sigma, kind, baseline)
    for name, mean, var, true, m in (("grad_mu", mean_mu, var_mu, exact[0], moments[0]),
                                     ("grad_log_sigma", mean_ls, var_ls, exact[1], moments[1])):
        if not (np.isfinite(mean).all() and np.isfinite(var).all()):
            raise Failure(f"{label}: {name} contains NaN or inf")
        ref_var = m[1] - m[0] ** 2
        # The sample variance of n draws has variance (mu_4 - var^2) / n (mu_4: the central 4th
        # moment); its distribution is skewed for these heavy tails, so allow at least twice var.
        mu4 = m[3] - 4 * m[0] * m[2] + 6 * m[0] ** 2 * m[1] - 3 * m[0] ** 4
        ceiling = np.maximum(ref_var + Z * np.sqrt(np.maximum(mu4 - ref_var ** 2, 0) / n), 2 * ref_var) + 1e-12
        # A correct estimator's per-sample estimates vary: at least half the textbook variance (or
        # that variance minus Z standard errors, if lower). Copies of one average, or a baseline
        # computed from the same samples, vary less.
        floor = np.minimum(ref_var - Z * np.sqrt(np.maximum(mu4 - ref_var ** 2, 0) / n), 0.5 * ref_var)
        if (var < floor).any():
            raise Failure(f"{label}: the per-sample estimates of {name} vary less than the estimator's own "
                          "noise allows: return one estimate per sample (row i from z_i alone), not an average "
                          "or a baseline computed from the samples themselves")
        if (var > ceiling).any():
            raise Failure(f"{label}: the per-sample estimates of {name} vary more than the "
                          + ("score-function estimator's (is the baseline subtracted from f?)" if kind == "score"
                             else "pathwise estimator's (is it the gradient of f at the sample, times dz/dtheta?)"))
        band = Z * np.sqrt(ref_var / n) + 1e-9
        if (np.abs(mean - true) > band).any():
            raise Failure(f"{label}: the mean of the per-sample estimates of {name} is not the gradient of "
                          f"E f(z): off by {float(np.abs(mean - true).max()):.3g}, more than {n} samples "
                          "allow (the estimator must be unbiased). "
                          + ("Check the score d log N(z; mu, sigma^2) / d theta: (z - mu) / sigma^2 for mu and "
                             "(z - mu)^2 / sigma^2 - 1 for log_sigma." if kind == "score" else
                             "Check dz/dmu = 1 and dz/dlog_sigma = sigma * eps = z - mu."))


# --- score_function_grad -----------------------------------------------------------------------

def _score_inputs(g: torch.Generator) -> dict:
    mu, log_sigma = _params(g)
    quad = Quadratic(_rand(g, 0.5, 1.5), _rand(g, -1, 1), 3.0)
    offset = Quadratic(_rand(g, 0.5, 1.5), _rand(g, -1, 1), 20.0)
    # thresholds within 1.5 standard deviations of the mean: no rare events
    step = Step((mu + log_sigma.exp() * (3 * torch.rand(D, generator=g, dtype=torch.float64) - 1.5)).tolist())
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    # the baseline case uses sigma <= 1: with a wide sigma the sample variance is too heavy-tailed to judge
    baseline_log_sigma = -log_sigma.abs()
    return {"mu": mu, "log_sigma": log_sigma, "fs": [quad, Sine(), step], "offset": offset,
            "baseline_log_sigma": baseline_log_sigma,
            "baseline": offset.mean(mu.numpy(), baseline_log_sigma.exp().numpy()), "seed": seed}


@one_thread
def _call_score(fn, inputs: dict):
    out = []
    for i, f in enumerate(inputs["fs"]):
        gen = torch.Generator().manual_seed(inputs["seed"] + i)
        out.append(_summary("score_function_grad", fn(f, inputs["mu"], inputs["log_sigma"], N_SCORE, generator=gen),
                            N_SCORE))
    gen = torch.Generator().manual_seed(inputs["seed"] + 99)
    result = fn(inputs["offset"], inputs["mu"], inputs["baseline_log_sigma"], N_SCORE, generator=gen,
                baseline=inputs["baseline"])
    out.append(_summary("score_function_grad with a baseline", result, N_SCORE))
    out.append(_seeded_runs(fn, inputs["fs"][1], inputs["mu"], inputs["log_sigma"], inputs["seed"] + 7))
    return tuple(out)


@one_thread
def _judge_score(inputs: dict, output) -> None:
    parts = as_items(output, 5, "the probe of score_function_grad")
    _judge_seeded("score_function_grad", parts[4])
    mu, sigma = inputs["mu"].numpy(), inputs["log_sigma"].exp().numpy()
    labels = ("f(z) = sum a z^2 + c z + 3", "f(z) = sum sin(z)", "f(z) = sum 1[z > t] (a step function)")
    for i, (label, f) in enumerate(zip(labels, inputs["fs"])):
        _judge_one(f"score_function_grad with {label}", as_items(parts[i], 4, label), f, mu, sigma,
                   N_SCORE, "score")
    _judge_one("score_function_grad with f(z) = sum a z^2 + c z + 20 and baseline = E f",
               as_items(parts[3], 4, "baseline"), inputs["offset"], mu, inputs["baseline_log_sigma"].exp().numpy(),
               N_SCORE, "score", baseline=inputs["baseline"])


# --- pathwise_grad -----------------------------------------------------------------------------

def _path_inputs(g: torch.Generator) -> dict:
    mu, log_sigma = _params(g)
    quad = Quadratic(_rand(g, -1.5, 1.5), _rand(g, -1, 1), 20.0)   # the offset costs a pathwise estimate nothing
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    return {"mu": mu, "log_sigma": log_sigma, "fs": [quad, Sine()], "seed": seed}


@one_thread
def _call_path(fn, inputs: dict):
    out = []
    for i, f in enumerate(inputs["fs"]):
        gen = torch.Generator().manual_seed(inputs["seed"] + i)
        out.append(_summary("pathwise_grad", fn(f, inputs["mu"], inputs["log_sigma"], N_PATH, generator=gen), N_PATH))
    out.append(_seeded_runs(fn, inputs["fs"][1], inputs["mu"], inputs["log_sigma"], inputs["seed"] + 7))
    return tuple(out)


@one_thread
def _judge_path(inputs: dict, output) -> None:
    parts = as_items(output, 3, "the probe of pathwise_grad")
    _judge_seeded("pathwise_grad", parts[2])
    mu, sigma = inputs["mu"].numpy(), inputs["log_sigma"].exp().numpy()
    for i, (label, f) in enumerate(zip(("f(z) = sum a z^2 + c z + 20", "f(z) = sum sin(z)"), inputs["fs"])):
        _judge_one(f"pathwise_grad with {label}", as_items(parts[i], 4, label), f, mu, sigma, N_PATH, "path")


CASES = {
    "score_function_grad": Case(_score_inputs, _judge_score, REFERENCES, call=_call_score),
    "pathwise_grad": Case(_path_inputs, _judge_path, REFERENCES, call=_call_path),
}
