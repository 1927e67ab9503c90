"""course_lib.estimators: unbiased against closed-form gradients, variances as the lecture says,
per-sample pathwise estimates equal to autograd on each sample alone."""

import math

import pytest
import torch
from scipy import stats

from course_lib.estimators import pathwise_grad, score_function_grad

MU = torch.tensor([0.4, -1.0], dtype=torch.float64)
LOG_SIGMA = torch.tensor([-0.5, 0.6], dtype=torch.float64)
SIGMA = LOG_SIGMA.exp()
A = torch.tensor([1.0, 0.5], dtype=torch.float64)
C = torch.tensor([-0.3, 0.8], dtype=torch.float64)


def quadratic(z):
    """f(z) = sum a z^2 + c z + 10: E f = sum a (mu^2 + sigma^2) + c mu + 10."""
    return (A * z ** 2 + C * z).sum(-1) + 10


# d/dmu E f = 2 a mu + c;  d/dlog_sigma E f = d/dlog_sigma a sigma^2 = 2 a sigma^2
EXACT = (2 * A * MU + C, 2 * A * SIGMA ** 2)
MEAN_F = float((A * (MU ** 2 + SIGMA ** 2) + C * MU).sum() + 10)


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def assert_unbiased(estimates, exact, z=5.0):
    for est, true in zip(estimates, exact):
        n = est.shape[0]
        band = z * est.std(0) / math.sqrt(n)
        assert ((est.mean(0) - true).abs() < band).all(), (est.mean(0), true, band)


@pytest.mark.parametrize("estimator", [score_function_grad, pathwise_grad])
def test_both_estimators_are_unbiased_for_a_quadratic(estimator):
    estimates = estimator(quadratic, MU, LOG_SIGMA, 40000, generator=seeded(0))
    assert [e.shape for e in estimates] == [(40000, 2), (40000, 2)]
    assert_unbiased(estimates, EXACT)


def test_the_score_function_handles_a_step_function_and_pathwise_refuses_it():
    t = torch.tensor([0.0, -0.5], dtype=torch.float64)

    def step(z):
        return (z > t).double().sum(-1)

    # E 1[z > t] = Phi((mu - t) / sigma): d/dmu = phi(u) / sigma, d/dlog_sigma = -u phi(u)
    u = ((MU - t) / SIGMA).numpy()
    exact = (torch.tensor(stats.norm.pdf(u)) / SIGMA, torch.tensor(-u * stats.norm.pdf(u)))
    assert_unbiased(score_function_grad(step, MU, LOG_SIGMA, 40000, generator=seeded(1)), exact)
    with pytest.raises(ValueError, match="score_function_grad"):
        pathwise_grad(step, MU, LOG_SIGMA, 10)


def test_pathwise_variance_is_far_below_the_score_function():
    score = score_function_grad(quadratic, MU, LOG_SIGMA, 20000, generator=seeded(2))
    path = pathwise_grad(quadratic, MU, LOG_SIGMA, 20000, generator=seeded(2))
    for s, p in zip(score, path):
        assert (s.var(0) > 10 * p.var(0)).all()   # 20 to 300 times here
    # pathwise variance in closed form: Var(2 a z + c) = 4 a^2 sigma^2
    torch.testing.assert_close(path[0].var(0), 4 * A ** 2 * SIGMA ** 2, rtol=0.05, atol=0)


def test_a_baseline_keeps_the_score_function_unbiased_and_cuts_its_variance():
    plain = score_function_grad(quadratic, MU, LOG_SIGMA, 40000, generator=seeded(3))
    based = score_function_grad(quadratic, MU, LOG_SIGMA, 40000, generator=seeded(3), baseline=MEAN_F)
    assert_unbiased(based, EXACT)
    for p, b in zip(plain, based):
        assert (b.var(0) < 0.2 * p.var(0)).all()
    per_sample = score_function_grad(quadratic, MU, LOG_SIGMA, 40000, generator=seeded(3),
                                     baseline=torch.full((40000,), MEAN_F, dtype=torch.float64))
    torch.testing.assert_close(per_sample[0], based[0])
    with pytest.raises(ValueError, match="baseline"):
        score_function_grad(quadratic, MU, LOG_SIGMA, 5, baseline=torch.zeros(3))


def test_each_pathwise_estimate_is_the_gradient_at_its_own_sample():
    def f(z):
        return torch.sin(z).sum(-1) * torch.exp(-0.1 * (z ** 2).sum(-1))

    n = 6
    grad_mu, grad_log_sigma = pathwise_grad(f, MU, LOG_SIGMA, n, generator=seeded(4))
    eps = torch.randn((n, 2), generator=seeded(4), dtype=torch.float64)   # the same draws
    for i in range(n):
        mu = MU.clone().requires_grad_(True)
        log_sigma = LOG_SIGMA.clone().requires_grad_(True)
        g_mu, g_ls = torch.autograd.grad(f((mu + log_sigma.exp() * eps[i])[None])[0], [mu, log_sigma])
        torch.testing.assert_close(grad_mu[i], g_mu)
        torch.testing.assert_close(grad_log_sigma[i], g_ls)


def test_score_function_estimates_are_f_times_the_score_of_the_normal():
    def f(z):
        return torch.cos(z).sum(-1)

    n = 5
    grad_mu, grad_log_sigma = score_function_grad(f, MU, LOG_SIGMA, n, generator=seeded(5))
    eps = torch.randn((n, 2), generator=seeded(5), dtype=torch.float64)
    for i in range(n):
        mu = MU.clone().requires_grad_(True)
        log_sigma = LOG_SIGMA.clone().requires_grad_(True)
        z = (MU + SIGMA * eps[i]).detach()
        log_q = torch.distributions.Normal(mu, log_sigma.exp()).log_prob(z).sum()
        s_mu, s_ls = torch.autograd.grad(log_q, [mu, log_sigma])    # the score, by autograd
        torch.testing.assert_close(grad_mu[i], f(z[None])[0] * s_mu)
        torch.testing.assert_close(grad_log_sigma[i], f(z[None])[0] * s_ls)


@pytest.mark.parametrize("shape", [(), (2, 3)])
def test_estimates_have_one_row_per_sample_of_the_parameter_shape(shape):
    mu, log_sigma = torch.zeros(shape), torch.zeros(shape)

    def f(z):
        return (z ** 2).reshape(z.shape[0], -1).sum(-1)

    for estimator in (score_function_grad, pathwise_grad):
        grad_mu, grad_log_sigma = estimator(f, mu, log_sigma, 7)
        assert grad_mu.shape == grad_log_sigma.shape == (7, *shape)


def test_bad_inputs_are_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="n must be"):
        pathwise_grad(quadratic, MU, LOG_SIGMA, 0)
    with pytest.raises(ValueError, match="same shape"):
        score_function_grad(quadratic, MU, LOG_SIGMA[:1], 3)
    with pytest.raises(ValueError, match="one value per sample"):
        score_function_grad(lambda z: z, MU, LOG_SIGMA, 3)
    with pytest.raises(TypeError, match="f must be"):
        pathwise_grad(None, MU, LOG_SIGMA, 3)
    with pytest.raises(TypeError, match="generator"):
        pathwise_grad(quadratic, MU, LOG_SIGMA, 3, generator=1)
    with pytest.raises(TypeError, match="n must be an integer, got float"):
        pathwise_grad(quadratic, MU, LOG_SIGMA, 3.0)
    with pytest.raises(TypeError, match="log_sigma must be a floating-point tensor"):
        pathwise_grad(quadratic, MU, torch.zeros(MU.shape, dtype=torch.long), 3)
    with pytest.raises(TypeError, match="baseline must be a tensor or a float, got str"):
        score_function_grad(quadratic, MU, LOG_SIGMA, 3, baseline="mean")


def test_the_hidden_tests_exact_gradients_are_the_derivatives_of_the_expectations():
    """The judge of exercise 05 compares estimates with closed-form gradients of E f(mu + sigma eps):
    check them against central differences of E f itself (in closed form: moments of a normal for
    the quadratic, scipy's normal CDF for the step), in mu and in log sigma."""
    import numpy as np
    from scipy.stats import norm

    from course_grading import estimators as GE

    mu, sigma, h = np.array([0.3, -0.8]), np.array([0.5, 2.0]), 1e-5
    quad, step = GE.Quadratic([1.0, 0.7], [-0.5, 0.2], 3.0), GE.Step([0.1, -0.4])
    expectations = {quad: lambda m, s: (quad.a * (m ** 2 + s ** 2) + quad.c * m) + quad.e / 2,
                    step: lambda m, s: norm.cdf((m - step.t) / s) + 5 / 2}   # per coordinate
    for f, expect in expectations.items():
        grad_mu, grad_log_sigma = f.exact(mu, sigma)
        numeric_mu = (expect(mu + h, sigma) - expect(mu - h, sigma)) / (2 * h)
        numeric_log_sigma = (expect(mu, sigma * np.exp(h)) - expect(mu, sigma * np.exp(-h))) / (2 * h)
        np.testing.assert_allclose(grad_mu, numeric_mu, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(grad_log_sigma, numeric_log_sigma, rtol=1e-6, atol=1e-9)
