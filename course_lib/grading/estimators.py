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
1.5 times the variance of the textbook estimator (estimated by the judge from draws of its own):
an estimator cannot hide a bias behind noise, the baseline must cut the variance, and a
score-function estimate cannot pass for a pathwise one.
"""

from __future__ import annotations

import numpy as np
import torch

from . import Case, Failure, as_items, as_tensor

REFERENCES = ("course_lib.estimators.score_function_grad", "course_lib.estimators.pathwise_grad")

D = 2             # coordinates of mu
N_SCORE = 20000   # samples per estimator call
N_PATH = 20000
Z = 5.5           # band width in standard errors
ORACLE_DRAWS = 200_000


class Quadratic:
    """f(z) = sum_j a_j z_j^2 + c_j z_j + e over the last axis; (n, d) -> (n,)."""

    def __init__(self, a, c, e):
        self.a, self.c, self.e = np.asarray(a, float), np.asarray(c, float), float(e)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        a, c = torch.as_tensor(self.a, dtype=z.dtype), torch.as_tensor(self.c, dtype=z.dtype)
        return (a * z ** 2 + c * z).sum(-1) + self.e

    def numpy(self, z: np.ndarray) -> np.ndarray:
        return (self.a * z ** 2 + self.c * z).sum(-1) + self.e

    def numpy_grad(self, z: np.ndarray) -> np.ndarray:
        return 2 * self.a * z + self.c

    def exact(self, mu, sigma):
        return 2 * self.a * mu + self.c, 2 * self.a * sigma ** 2

    def mean(self, mu, sigma) -> float:
        return float((self.a * (mu ** 2 + sigma ** 2) + self.c * mu).sum() + self.e)


class Sine:
    """f(z) = sum_j sin(z_j); (n, d) -> (n,)."""

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(z).sum(-1)

    def numpy(self, z):
        return np.sin(z).sum(-1)

    def numpy_grad(self, z):
        return np.cos(z)

    def exact(self, mu, sigma):
        damp = np.exp(-sigma ** 2 / 2)
        return np.cos(mu) * damp, -sigma ** 2 * np.sin(mu) * damp


class Step:
    """f(z) = sum_j 1[z_j > t_j]: not differentiable (its pathwise gradient is 0 almost everywhere)."""

    def __init__(self, t):
        self.t = np.asarray(t, float)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (z > torch.as_tensor(self.t, dtype=z.dtype)).to(z.dtype).sum(-1)

    def numpy(self, z):
        return (z > self.t).astype(float).sum(-1)

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


def _oracle_variance(f, mu, sigma, seed: int, kind: str, baseline: float = 0.0):
    """Variance of one textbook estimate (score function or pathwise), from ORACLE_DRAWS draws."""
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((ORACLE_DRAWS, D))
    z = mu + sigma * eps
    if kind == "score":
        w = (f.numpy(z) - baseline)[:, None]
        return (w * eps / sigma).var(0), (w * (eps ** 2 - 1)).var(0)
    grad = f.numpy_grad(z)
    return grad.var(0), (grad * sigma * eps).var(0)


def _judge_one(label: str, items, f, mu, sigma, n: int, seed: int, kind: str, baseline: float = 0.0) -> None:
    mean_mu, var_mu, mean_ls, var_ls = (as_tensor(t, (D,), f"{label}: summary").numpy() for t in items)
    exact = f.exact(mu, sigma)
    oracle = _oracle_variance(f, mu, sigma, seed, kind, baseline)
    for name, mean, var, true, ref_var in (("grad_mu", mean_mu, var_mu, exact[0], oracle[0]),
                                           ("grad_log_sigma", mean_ls, var_ls, exact[1], oracle[1])):
        if not (np.isfinite(mean).all() and np.isfinite(var).all()):
            raise Failure(f"{label}: {name} contains NaN or inf")
        if (var > 1.5 * ref_var + 1e-12).any():
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
    step = Step(_rand(g, -1, 1))
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    sigma = log_sigma.exp().numpy()
    return {"mu": mu, "log_sigma": log_sigma, "fs": [quad, Sine(), step], "offset": offset,
            "baseline": offset.mean(mu.numpy(), sigma), "seed": seed}


def _call_score(fn, inputs: dict):
    out = []
    for i, f in enumerate(inputs["fs"]):
        gen = torch.Generator().manual_seed(inputs["seed"] + i)
        out.append(_summary("score_function_grad", fn(f, inputs["mu"], inputs["log_sigma"], N_SCORE, generator=gen),
                            N_SCORE))
    gen = torch.Generator().manual_seed(inputs["seed"] + 99)
    result = fn(inputs["offset"], inputs["mu"], inputs["log_sigma"], N_SCORE, generator=gen, baseline=inputs["baseline"])
    out.append(_summary("score_function_grad with a baseline", result, N_SCORE))
    return tuple(out)


def _judge_score(inputs: dict, output) -> None:
    parts = as_items(output, 4, "the probe of score_function_grad")
    mu, sigma = inputs["mu"].numpy(), inputs["log_sigma"].exp().numpy()
    labels = ("f(z) = sum a z^2 + c z + 3", "f(z) = sum sin(z)", "f(z) = sum 1[z > t] (a step function)")
    for i, (label, f) in enumerate(zip(labels, inputs["fs"])):
        _judge_one(f"score_function_grad with {label}", as_items(parts[i], 4, label), f, mu, sigma,
                   N_SCORE, inputs["seed"] + i, "score")
    _judge_one("score_function_grad with f(z) = sum a z^2 + c z + 20 and baseline = E f",
               as_items(parts[3], 4, "baseline"), inputs["offset"], mu, sigma, N_SCORE, inputs["seed"] + 99,
               "score", baseline=inputs["baseline"])


# --- pathwise_grad -----------------------------------------------------------------------------

def _path_inputs(g: torch.Generator) -> dict:
    mu, log_sigma = _params(g)
    quad = Quadratic(_rand(g, -1.5, 1.5), _rand(g, -1, 1), 20.0)   # the offset costs a pathwise estimate nothing
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    return {"mu": mu, "log_sigma": log_sigma, "fs": [quad, Sine()], "seed": seed}


def _call_path(fn, inputs: dict):
    out = []
    for i, f in enumerate(inputs["fs"]):
        gen = torch.Generator().manual_seed(inputs["seed"] + i)
        out.append(_summary("pathwise_grad", fn(f, inputs["mu"], inputs["log_sigma"], N_PATH, generator=gen), N_PATH))
    return tuple(out)


def _judge_path(inputs: dict, output) -> None:
    parts = as_items(output, 2, "the probe of pathwise_grad")
    mu, sigma = inputs["mu"].numpy(), inputs["log_sigma"].exp().numpy()
    for i, (label, f) in enumerate(zip(("f(z) = sum a z^2 + c z + 20", "f(z) = sum sin(z)"), inputs["fs"])):
        _judge_one(f"pathwise_grad with {label}", as_items(parts[i], 4, label), f, mu, sigma, N_PATH,
                   inputs["seed"] + i, "path")


CASES = {
    "score_function_grad": Case(_score_inputs, _judge_score, REFERENCES, call=_call_score),
    "pathwise_grad": Case(_path_inputs, _judge_path, REFERENCES, call=_call_path),
}
