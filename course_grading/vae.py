"""Hidden tests of exercise 04 (``check("vae.<name>", fn)``).

Oracles, all computed after the submitted function has returned:

- ``kl_diag_gaussians``: ``torch.distributions.kl_divergence`` of two ``Independent(Normal)`` in
  float64, for a prior per example (shape (B, L), as in a hierarchical VAE) and for one prior shared
  by the batch (shape (L,), a learned prior), plus rows where q = p (KL exactly 0).
- ``iwae_from_log_weights``: log-weights log p(x | z) + log p(z) - log q(z | x) of the linear-Gaussian
  model z ~ N(0, I), x | z ~ N(W z + b, s^2 I), whose evidence log p(x) = log N(x; b, W W^T + s^2 I)
  and posterior are exact (with the exact posterior as proposal every log-weight is log p(x)). Some
  examples are moved by -1000 or +1000 nats, where exp underflows or overflows. The oracle is
  ``scipy.special.logsumexp`` over each group of k consecutive samples, minus log k, averaged over
  the groups, in float64.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import logsumexp
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from course_grading.threads import one_thread

from . import Case, Failure, as_items, as_tensor

REFERENCES = tuple(f"course_lib.vae.{name}" for name in (
    "reparameterize", "gaussian_kl_standard", "elbo", "log_weights", "iwae_bound",
    "expected_image", "binarize", "latent_grid")) + tuple(
    f"course_lib.divergences.{name}" for name in ("kl_normal", "kl_mvn", "kl_monte_carlo"))


# --- kl_diag_gaussians ---------------------------------------------------------------------------

B_KL, L_KL = 7, 3   # 7 examples, 3 latent coordinates


def _kl_inputs(g: torch.Generator) -> dict:
    def draw(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    mu_q, mu_p = 1.5 * draw(B_KL, L_KL), 1.5 * draw(B_KL, L_KL)
    # log-variances in [-2.5, 2.5] and far from each other, so that a variance read as a standard
    # deviation, or q's variance put where p's belongs, shows
    log_var_q = 5 * torch.rand(B_KL, L_KL, generator=g, dtype=torch.float64) - 2.5
    log_var_p = 5 * torch.rand(B_KL, L_KL, generator=g, dtype=torch.float64) - 2.5
    mu_p[0], log_var_p[0] = mu_q[0], log_var_q[0]           # one example with q = p: KL exactly 0
    return {"mu_q": mu_q, "log_var_q": log_var_q, "mu_p": mu_p, "log_var_p": log_var_p,
            "shared_mu_p": 0.8 * draw(L_KL), "shared_log_var_p": 2 * draw(L_KL).tanh()}


@one_thread
def _call_kl(fn, inputs: dict):
    """The KL to a prior per example, then to one prior (L,) shared by the whole batch."""
    per_example = fn(inputs["mu_q"], inputs["log_var_q"], inputs["mu_p"], inputs["log_var_p"])
    shared = fn(inputs["mu_q"], inputs["log_var_q"], inputs["shared_mu_p"], inputs["shared_log_var_p"])
    return per_example, shared


def _kl_oracle(mu_q, log_var_q, mu_p, log_var_p) -> torch.Tensor:
    def gaussian(mu, log_var):
        return Independent(Normal(mu, (0.5 * log_var).exp()), 1)

    mu_p, log_var_p = mu_p.expand(mu_q.shape), log_var_p.expand(mu_q.shape)
    return kl_divergence(gaussian(mu_q, log_var_q), gaussian(mu_p, log_var_p))


@one_thread
def _judge_kl(inputs: dict, output) -> None:
    per_example, shared = as_items(output, 2, "kl_diag_gaussians on two priors")
    q = (inputs["mu_q"], inputs["log_var_q"])
    for plain, prior, what in (
            (per_example, (inputs["mu_p"], inputs["log_var_p"]),
             f"kl_diag_gaussians(mu_q, log_var_q, mu_p, log_var_p), all four of shape {(B_KL, L_KL)}"),
            (shared, (inputs["shared_mu_p"], inputs["shared_log_var_p"]),
             f"kl_diag_gaussians with q of shape {(B_KL, L_KL)} and one prior of shape {(L_KL,)} "
             "shared by the batch (broadcasting)")):
        actual = as_tensor(plain, (B_KL,), what)
        if not bool(torch.isfinite(actual).all()):
            raise Failure(f"{what} contains NaN or inf for valid inputs")
        expected = _kl_oracle(*q, *prior)
        err = (actual - expected).abs()
        if bool((err <= 1e-6 + 1e-6 * expected.abs()).all()):
            continue
        reverse = _kl_oracle(*prior, *q)
        if bool(((actual - reverse).abs() <= 1e-6 * (1 + reverse.abs())).all()):
            hint = ("You computed KL(p || q): the KL is taken the other way, KL(q || p) = E_q[log q - log p], "
                    "with q = (mu_q, log_var_q) first.")
        elif bool((actual < -1e-9).any()):
            hint = "A KL is never negative: check the sign of each term."
        elif what.startswith("kl_diag_gaussians(mu_q") and float(err[0]) > 1e-6:
            hint = "The first example has q = p, and KL(p || p) = 0: check the constant term."
        elif bool(((actual - 2 * expected).abs() <= 1e-6 * (1 + expected.abs())).all()):
            hint = "Every term is twice too large: a factor 1/2 is missing."
        else:
            hint = ("KL(q || p) for diagonal Gaussians is a sum over the latent coordinates of the "
                    "one-dimensional KL (lecture 01); exp(log_var) is a variance, and the squared "
                    "difference of the means is measured in units of p's variance.")
        bad = int((err > 1e-6 + 1e-6 * expected.abs()).sum())
        raise Failure(f"{what} is wrong for {bad} of {B_KL} examples. {hint}")


# --- the linear-Gaussian model behind the log-weights ------------------------------------------

B_IW, K_IW, L_TOY, D_TOY = 5, 24, 2, 3
KS = (1, 4, 24)                                    # group sizes tried, each dividing K_IW
OFFSETS = (0.0, -1000.0, 0.0, 1000.0, -1000.0)     # nats added to each example's log-weights


def _log_normal_diag(z, mean, var):
    return Normal(mean, var.sqrt()).log_prob(z).sum(-1)


def _iwae_inputs(g: torch.Generator) -> dict:
    """K_IW log-weights for each of B_IW examples of a linear-Gaussian model with W = Q diag(d)
    (orthogonal columns: the exact posterior is diagonal). Examples 0 and 1 are proposed by the exact
    posterior (every log-weight equals log p(x)), the others by an encoder whose mean is off by about
    one posterior standard deviation and whose variance is off by a factor 0.7..2."""
    def draw(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    q_mat, _ = torch.linalg.qr(draw(D_TOY, L_TOY))
    noise = 0.5 + 0.5 * float(torch.rand((), generator=g))
    scales = noise * (1.5 + 1.5 * torch.rand(L_TOY, generator=g, dtype=torch.float64))   # d / s in [1.5, 3]
    weight, bias = q_mat * scales, draw(D_TOY)                                            # (D, L), (D,)
    x = draw(B_IW, L_TOY) @ weight.T + bias + noise * draw(B_IW, D_TOY)                   # (B, D)
    # exact posterior: variance 1 / (1 + d^2 / s^2), mean = var * W^T (x - b) / s^2
    post_var = 1 / (1 + (scales / noise) ** 2)                                            # (L,)
    post_mean = post_var * ((x - bias) @ weight) / noise ** 2                             # (B, L)
    exact = torch.arange(B_IW) < 2
    shift = (0.8 + 0.4 * torch.rand(B_IW, L_TOY, generator=g, dtype=torch.float64)) * post_var.sqrt()
    shift = shift * torch.where(torch.rand(B_IW, L_TOY, generator=g) < 0.5, -1.0, 1.0).double()
    ratio = 0.7 + 1.3 * torch.rand(B_IW, L_TOY, generator=g, dtype=torch.float64)
    q_mean = torch.where(exact[:, None], post_mean, post_mean + shift)
    q_var = torch.where(exact[:, None], post_var.expand(B_IW, L_TOY), post_var * ratio)
    z = q_mean + q_var.sqrt() * draw(K_IW, B_IW, L_TOY)                                   # (K, B, L)
    log_w = (_log_normal_diag(x, z @ weight.T + bias, torch.full_like(x, noise ** 2))   # log p(x | z)
             + _log_normal_diag(z, torch.zeros_like(z), torch.ones_like(z))             # log p(z)
             - _log_normal_diag(z, q_mean, q_var))                                      # log q(z | x)
    evidence = MultivariateNormal(bias, weight @ weight.T + noise ** 2 * torch.eye(D_TOY, dtype=torch.float64))
    offsets = torch.tensor(OFFSETS, dtype=torch.float64)
    return {"log_w": log_w + offsets, "log_evidence": evidence.log_prob(x) + offsets}


@one_thread
def _call_iwae(fn, inputs: dict):
    out = []
    for k in KS:
        with torch.no_grad():
            out.append(fn(inputs["log_w"], k))
    return tuple(out)


def _oracle(log_w: torch.Tensor, k: int) -> torch.Tensor:
    """scipy's logsumexp over groups of k consecutive rows, minus log k, averaged over the groups."""
    groups = log_w.numpy().reshape(log_w.shape[0] // k, k, log_w.shape[1])
    return torch.from_numpy(np.mean(logsumexp(groups, axis=1) - np.log(k), axis=0))


@one_thread
def _judge_iwae(inputs: dict, output) -> None:
    items = as_items(output, len(KS), "iwae_from_log_weights for several k")
    log_w = inputs["log_w"]
    for k, plain in zip(KS, items):
        what = f"iwae_from_log_weights(log_w, k={k}) for log_w of shape {tuple(log_w.shape)}"
        actual = as_tensor(plain, (B_IW,), what)
        expected = _oracle(log_w, k)
        huge = torch.tensor(OFFSETS).abs() > 0
        if not bool(torch.isfinite(actual).all()):
            ok = bool(torch.isfinite(actual[~huge]).all())
            raise Failure(f"{what} contains NaN or inf" + (
                " for the examples whose log-weights are near -1000 or +1000 nats" if ok else "")
                + ": exp of a log-weight far from 0 underflows to 0 or overflows to inf. Subtract the "
                "largest log-weight of each group (not of the whole tensor) before exponentiating, and "
                "add it back after the log.")
        err = (actual - expected).abs()
        if bool((err <= 1e-8 * (1 + expected.abs())).all()):
            continue
        exact = ("The first two examples are proposed by the exact posterior: all their log-weights equal "
                 "log p(x), and so must the bound, for every k. ")
        if bool(((actual - expected - math.log(k)).abs() <= 1e-6 * (1 + expected.abs())).all()):
            hint = "The bound is log of the MEAN of the k weights: subtract log k."
        elif k == 1:
            hint = ("With k = 1 every group is one sample, and the result is the mean of the log-weights "
                    "(the ELBO's estimate).")
        elif bool((err[~huge] <= 1e-6 * (1 + expected[~huge].abs())).all()):
            hint = ("Only the examples near -1000 or +1000 nats are wrong: exp of a large log-weight loses "
                    "everything; subtract each group's largest log-weight before exponentiating.")
        else:
            hint = (exact + "Within each group of k consecutive samples (rows g k .. g k + k - 1) take "
                    "log (1/k) sum_i exp(log w_i), then average over the K / k groups.")
        raise Failure(f"{what} is wrong for {int((err > 1e-8 * (1 + expected.abs())).sum())} of {B_IW} "
                      f"examples. {hint}")
    # the model's meaning, checked once more: with the exact posterior as proposal the bound is log p(x)
    exact_rows = as_tensor(items[-1], (B_IW,), "iwae_from_log_weights")[:2]
    if bool(((exact_rows - inputs["log_evidence"][:2]).abs() > 1e-8 * (1 + exact_rows.abs())).any()):
        raise Failure("with the exact posterior as proposal every log-weight is log p(x), and the bound "
                      "must equal log p(x)")


CASES = {
    "kl_diag_gaussians": Case(_kl_inputs, _judge_kl, REFERENCES, call=_call_kl),
    "iwae_from_log_weights": Case(_iwae_inputs, _judge_iwae, REFERENCES, call=_call_iwae, trials=3),
}
