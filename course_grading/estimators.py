"""Hidden tests of exercise 05 (``check("estimators.<name>", fn)``).

Both graded functions return ONE gradient estimate built from n samples, so a single call says
little: the probe (``Case.call``) calls the submission R times on one seeded generator and records
the mean and the variance of the R estimates. The judge compares them with oracles computed after
the call, never with the submission's formula:

- ``score_function_grad_loo(f, mu, log_sigma, n, generator)``: the exact gradient of
  E_{z ~ N(mu, sigma^2)} f(z) in closed form (a quadratic with a large offset, and a step function),
  and the variance (and fourth central moment) of the leave-one-out estimator from a numpy
  simulation of it with 50 000 batches. The mean of the R estimates must lie within Z standard
  errors of the exact gradient at small n, where the self-mean baseline's bias (factor (n - 1)/n) is
  many standard errors; their variance must lie between a floor and a ceiling (Z standard errors
  of a sample variance, and at least a factor 1.6 for the bounded step function, 3 for the
  heavy-tailed quadratic): an estimate that does not vary (a closed form, a huge internal sample),
  one without a baseline, or one whose baseline is not the mean of the other values fails.
- ``categorical_score_grad(f, logits, n, generator)``: the exact gradient p_k (f_k - sum_j p_j f_j)
  and the exact variance and fourth moment of the one-sample score-function estimate, by summing
  over the K outcomes (numpy); the same bands.

Both also check the generator contract (equal seeds, equal results; different seeds, different).
"""

from __future__ import annotations

import numpy as np
import torch

from course_grading.threads import one_thread

from . import Case, Failure, as_items, as_tensor

REFERENCES = ("course_lib.estimators.score_function_grad", "course_lib.estimators.pathwise_grad")

Z = 5.5               # band width in standard errors
D = 2                 # coordinates of mu
SIMULATED = 50_000    # batches in the oracle's simulation of the leave-one-out estimator


def _seeded_runs(call, seed: int) -> torch.Tensor:
    """[equal seeds give equal results, another seed another result] as 1.0 / 0.0; ``call(generator)``."""
    def run(s):
        return torch.cat([torch.as_tensor(t).detach().reshape(-1).double()
                          for t in _as_tuple(call(torch.Generator().manual_seed(s)))])
    a, b, c = run(seed), run(seed), run(seed + 1)
    return torch.tensor([float(torch.equal(a, b)), float(not torch.equal(a, c))], dtype=torch.float64)


def _as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def _judge_seeded(fn_name: str, flags) -> None:
    same, different = (bool(x == 1) for x in as_tensor(flags, (2,), f"the generator probe of {fn_name}").tolist())
    if not same:
        raise Failure(f"{fn_name}: two calls with equally seeded generators gave different results: draw "
                      "every random number from `generator` (pass generator=generator)")
    if not different:
        raise Failure(f"{fn_name}: generators with different seeds gave the same result: draw the "
                      "samples from `generator`")


def _check_estimate(fn_name: str, t, shape: tuple, what: str) -> torch.Tensor:
    if type(t) is not torch.Tensor or tuple(t.shape) != shape:
        raise Failure(f"{fn_name}: {what} must be a tensor of shape {shape} (one estimate, the average over "
                      f"the n samples), got {getattr(t, 'shape', type(t).__name__)}")
    return t.detach().to(torch.float64)


def _repeat(fn_name: str, call, repeats: int, shapes: dict) -> tuple:
    """Call ``call()`` ``repeats`` times; -> (mean, variance) over the calls of each named output."""
    rows: dict[str, list] = {name: [] for name in shapes}
    for _ in range(repeats):
        result = call()
        if len(shapes) > 1 and (type(result) is not tuple or len(result) != len(shapes)):
            raise Failure(f"{fn_name} must return the tuple ({', '.join(shapes)})")
        for (name, shape), t in zip(shapes.items(), _as_tuple(result)):
            rows[name].append(_check_estimate(fn_name, t, shape, name))
    out = []
    for name in shapes:
        stacked = torch.stack(rows[name])                   # (repeats, *shape)
        out += [stacked.mean(0), stacked.var(0)]
    return tuple(out)


def _judge_moments(label: str, name: str, mean, var, exact, ref_var, ref_mu4, repeats: int,
                   bias_hint: str, floor_hint: str, ceiling_hint: str, factor: float = 1.6) -> None:
    """The mean of ``repeats`` estimates within Z standard errors of ``exact``; their variance within
    Z standard errors of a sample variance (and within ``factor``) of ``ref_var``. Heavy tails make a
    sample variance skewed (usually too small, now and then far too large): ``factor`` allows for it."""
    if not (np.isfinite(mean).all() and np.isfinite(var).all()):
        raise Failure(f"{label}: {name} contains NaN or inf")
    band = Z * np.sqrt(ref_var / repeats) + 1e-9
    if (np.abs(mean - exact) > band).any():
        raise Failure(f"{label}: over {repeats} calls the mean of {name} is farther from the gradient than "
                      f"{repeats} calls of an unbiased estimator allow: the estimator is biased. {bias_hint}")
    spread = Z * np.sqrt(np.maximum(ref_mu4 - ref_var ** 2, 0) / repeats)
    floor = np.minimum(ref_var - spread, ref_var / factor)
    ceiling = np.maximum(ref_var + spread, factor * ref_var) + 1e-12
    if (var < floor).any():
        raise Failure(f"{label}: {name} varies less from call to call than this estimator with n samples "
                      f"can. {floor_hint}")
    if (var > ceiling).any():
        raise Failure(f"{label}: {name} varies more from call to call than this estimator with n samples "
                      f"does. {ceiling_hint}")


# --- score_function_grad_loo --------------------------------------------------------------------

class Quadratic:
    """f(z) = sum_j a_j z_j^2 + c_j z_j + e over the last axis; (n, d) -> (n,)."""

    label = "f(z) = sum a z^2 + c z + 20"
    factor = 3.0    # heavy tails (the estimate of grad_log_sigma has terms in eps^4): a loose variance band

    def __init__(self, a, c, e):
        self.a, self.c, self.e = np.asarray(a, float), np.asarray(c, float), float(e)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        a, c = torch.as_tensor(self.a, dtype=z.dtype), torch.as_tensor(self.c, dtype=z.dtype)
        return (a * z ** 2 + c * z).sum(-1) + self.e

    def numpy(self, z: np.ndarray) -> np.ndarray:
        return (self.a * z ** 2 + self.c * z).sum(-1) + self.e

    def exact(self, mu, sigma):
        # E f = sum a (mu^2 + sigma^2) + c mu + e
        return 2 * self.a * mu + self.c, 2 * self.a * sigma ** 2


class Step:
    """f(z) = sum_j 1[z_j > t_j] + 5: only evaluated (its derivative is 0 almost everywhere)."""

    label = "f(z) = sum 1[z > t] + 5 (a step function)"
    factor = 1.6    # bounded: a tight variance band

    def __init__(self, t):
        self.t = np.asarray(t, float)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (z > torch.as_tensor(self.t, dtype=z.dtype)).to(z.dtype).sum(-1) + 5.0

    def numpy(self, z: np.ndarray) -> np.ndarray:
        return (z > self.t).sum(-1) + 5.0

    def exact(self, mu, sigma):
        # E f = sum Phi((mu - t) / sigma) + 5
        u = (mu - self.t) / sigma
        phi = np.exp(-u ** 2 / 2) / np.sqrt(2 * np.pi)
        return phi / sigma, -u * phi


LOO_RUNS = ((3, 1200), (4, 400))    # (n, calls) for the quadratic and for the step function
LOO_BIAS = ("Check the score of each parameter, the average over the n samples, and that no sample's "
            "baseline uses that sample's own value of f.")
LOO_FLOOR = ("Each call must use its own n samples and nothing else (no closed form, no extra samples), "
             "and each sample's baseline the mean of the other n - 1 values.")
LOO_CEILING = ("Is each sample's baseline the mean of the OTHER n - 1 values of f (divided by n - 1), "
               "subtracted from its own value? Is the score right?")    # (n, calls) for the quadratic and for the step function


def _loo_inputs(g: torch.Generator) -> dict:
    # One sigma regime per trial, both coordinates: sigma in [0.45, 0.6] or in [1.65, 2.2], so that a
    # missing factor sigma shows and neither coordinate's noise swamps the other's gradient.
    sign = 1.0 if float(torch.rand((), generator=g)) < 0.5 else -1.0
    log_sigma = sign * (0.5 + 0.3 * torch.rand(D, generator=g, dtype=torch.float64))
    mu_sign = torch.where(torch.rand(D, generator=g) < 0.5, -1.0, 1.0).double()
    mu = mu_sign * (0.5 + torch.rand(D, generator=g, dtype=torch.float64))
    sigma = log_sigma.exp()
    a = 0.1 + 0.2 * torch.rand(D, generator=g, dtype=torch.float64)
    c = mu_sign * (1 + torch.rand(D, generator=g, dtype=torch.float64))   # |dE f/dmu| >= 1.1
    quad = Quadratic(a.tolist(), c.tolist(), 20.0)
    # thresholds 0.4 to 1.2 standard deviations from the mean, on either side
    side = torch.where(torch.rand(D, generator=g) < 0.5, -1.0, 1.0).double()
    step = Step((mu + side * sigma * (0.4 + 0.8 * torch.rand(D, generator=g, dtype=torch.float64))).tolist())
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    return {"mu": mu, "log_sigma": log_sigma, "fs": [quad, step], "seed": seed}


@one_thread
def _call_loo(fn, inputs: dict):
    mu, log_sigma = inputs["mu"], inputs["log_sigma"]
    out = []
    for i, (f, (n, repeats)) in enumerate(zip(inputs["fs"], LOO_RUNS)):
        gen = torch.Generator().manual_seed(inputs["seed"] + i)
        out.append(_repeat("score_function_grad_loo", lambda: fn(f, mu, log_sigma, n, generator=gen), repeats,
                           {"grad_mu": (D,), "grad_log_sigma": (D,)}))
    out.append(_seeded_runs(lambda gen: fn(inputs["fs"][0], mu, log_sigma, 5, generator=gen), inputs["seed"] + 7))
    return tuple(out)


def _simulate_loo(f, mu, sigma, n: int, seed: int):
    """A numpy simulation of the leave-one-out estimator: mean, variance, 4th central moment of
    (grad_mu, grad_log_sigma) over SIMULATED batches of n samples, each (d,)."""
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((SIMULATED, n, len(mu)))
    values = f.numpy(mu + sigma * eps)                                   # (M, n)
    others = np.stack([np.delete(values, i, axis=1).mean(1) for i in range(n)], axis=1)  # (M, n)
    weight = (values - others)[:, :, None]
    stats = []
    for score in (eps / sigma, eps ** 2 - 1):
        g = (weight * score).mean(1)                                     # (M, d)
        centred = g - g.mean(0)
        stats.append(((centred ** 2).mean(0), (centred ** 4).mean(0)))
    return stats


@one_thread
def _judge_loo(inputs: dict, output) -> None:
    parts = as_items(output, len(LOO_RUNS) + 1, "the probe of score_function_grad_loo")
    _judge_seeded("score_function_grad_loo", parts[-1])
    mu, sigma = inputs["mu"].numpy(), inputs["log_sigma"].exp().numpy()
    for i, (f, (n, repeats)) in enumerate(zip(inputs["fs"], LOO_RUNS)):
        label = f"score_function_grad_loo with {f.label}, n = {n}"
        summary = [as_tensor(t, (D,), label).numpy() for t in as_items(parts[i], 4, label)]
        exact = f.exact(mu, sigma)
        simulated = _simulate_loo(f, mu, sigma, n, inputs["seed"] % 2 ** 31 + i)
        for k, name in enumerate(("grad_mu", "grad_log_sigma")):
            ref_var, ref_mu4 = simulated[k]
            _judge_moments(label, name, summary[2 * k], summary[2 * k + 1], exact[k], ref_var, ref_mu4, repeats,
                           LOO_BIAS, LOO_FLOOR, LOO_CEILING, f.factor)


# --- categorical_score_grad ---------------------------------------------------------------------

K = 5                  # categories
CAT_RUNS = (7, 1000)   # (n, calls): n > K


def _cat_inputs(g: torch.Generator) -> dict:
    logits = torch.randn(K, generator=g, dtype=torch.float64)
    table = (2 + 4 * torch.rand(K, generator=g, dtype=torch.float64)).tolist()   # f(k) in [2, 6]
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    return {"logits": logits, "table": table, "seed": seed}


class Table:
    """f(k) = table[k] for integer samples k (n,) -> (n,) float64."""

    def __init__(self, table):
        self.table = torch.tensor(table, dtype=torch.float64)

    def __call__(self, k: torch.Tensor) -> torch.Tensor:
        if type(k) is not torch.Tensor or k.dtype != torch.int64 or k.ndim != 1:
            raise TypeError(f"f expects the samples as an int64 tensor of shape (n,), got "
                            f"{getattr(k, 'dtype', type(k).__name__)} {tuple(getattr(k, 'shape', ()))}")
        return self.table[k]


@one_thread
def _call_cat(fn, inputs: dict):
    f, logits = Table(inputs["table"]), inputs["logits"]
    n, repeats = CAT_RUNS
    gen = torch.Generator().manual_seed(inputs["seed"])
    summary = _repeat("categorical_score_grad", lambda: fn(f, logits, n, generator=gen), repeats, {"the estimate": (K,)})
    # 64 samples: two seeds drawing the same counts of every category would give the same estimate
    flags = _seeded_runs(lambda gen: fn(f, logits, 64, generator=gen), inputs["seed"] + 7)
    return (*summary, flags)


@one_thread
def _judge_cat(inputs: dict, output) -> None:
    parts = as_items(output, 3, "the probe of categorical_score_grad")
    _judge_seeded("categorical_score_grad", parts[2])
    mean, var = (as_tensor(t, (K,), "categorical_score_grad").numpy() for t in parts[:2])
    logits = inputs["logits"].numpy()
    p = np.exp(logits - logits.max())
    p /= p.sum()
    f = np.asarray(inputs["table"], float)
    exact = p * (f - p @ f)
    # one-sample estimate of coordinate k when outcome j is drawn: f_j (1[j = k] - p_k); its moments
    # by summing over the K outcomes, then those of the average of n independent ones
    one = f[:, None] * (np.eye(K) - p[None, :])                           # (outcome j, coordinate k)
    centred = one - exact[None, :]
    var1, mu4_1 = p @ centred ** 2, p @ centred ** 4
    n, repeats = CAT_RUNS
    ref_var = var1 / n
    ref_mu4 = (mu4_1 + 3 * (n - 1) * var1 ** 2) / n ** 3
    _judge_moments(f"categorical_score_grad with {K} categories, n = {n}", "the estimate", mean, var, exact,
                   ref_var, ref_mu4, repeats,
                   "Check the score: the derivative of log p(k) = log softmax(logits)[k] with respect to every "
                   "logit, and that the samples are drawn independently (with replacement) from softmax(logits).",
                   "Each call must use its own n samples and nothing else (no exact expectation, no extra samples).",
                   "Check the score (the derivative with respect to the logits, not the probabilities) and the "
                   "average over the n samples.")


CASES = {
    "score_function_grad_loo": Case(_loo_inputs, _judge_loo, REFERENCES, call=_call_loo, trials=2),
    "categorical_score_grad": Case(_cat_inputs, _judge_cat, REFERENCES, call=_call_cat, trials=3),
}
