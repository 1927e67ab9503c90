"""course_lib.divergences against independent oracles: torch.distributions, scipy, closed forms."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from course_lib import divergences as D
from course_lib.device import available_devices

_AVAILABLE = {d.type for d in available_devices()}
DEVICES = [pytest.param(torch.device(name), id=name,
                        marks=pytest.mark.skipif(name not in _AVAILABLE, reason=f"no {name} device on this machine"))
           for name in ("cpu", "cuda", "mps")]


def rand_normal_params(seed, n=20, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    mu_p, mu_q = 3 * torch.randn(2, n, generator=g, dtype=dtype)
    sigma_p, sigma_q = torch.exp(torch.rand(2, n, generator=g, dtype=dtype) * 3 - 1.5)
    return mu_p, sigma_p, mu_q, sigma_q


def random_spd(g, batch, d, dtype=torch.float64):
    a = torch.randn(*batch, d, d, generator=g, dtype=dtype)
    return a @ a.transpose(-1, -2) + 0.1 * torch.eye(d, dtype=dtype)


def tv_by_quadrature(mp, sp, mq, sq):
    lo, hi = min(mp - 15 * sp, mq - 15 * sq), max(mp + 15 * sp, mq + 15 * sq)
    val, _ = integrate.quad(lambda x: abs(stats.norm.pdf(x, mp, sp) - stats.norm.pdf(x, mq, sq)),
                            lo, hi, points=sorted({mp, mq}), limit=500, epsabs=1e-12)
    return 0.5 * val


# --- kl_normal ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_kl_normal_agrees_with_torch_distributions(seed):
    mu_p, sigma_p, mu_q, sigma_q = rand_normal_params(seed)
    expected = kl_divergence(Normal(mu_p, sigma_p), Normal(mu_q, sigma_q))
    torch.testing.assert_close(D.kl_normal(mu_p, sigma_p, mu_q, sigma_q), expected)


def test_kl_normal_broadcasts_and_accepts_floats():
    out = D.kl_normal(torch.zeros(4, 1), 1.0, torch.linspace(-1, 1, 3), 2.0)
    assert out.shape == (4, 3)
    assert isinstance(D.kl_normal(0.0, 1.0, 1.0, 1.0), torch.Tensor)
    assert D.kl_normal(0.0, 1.0, 1.0, 1.0).item() == pytest.approx(0.5)


def test_kl_is_zero_for_equal_and_positive_otherwise():
    mu_p, sigma_p, mu_q, sigma_q = rand_normal_params(7)
    assert torch.allclose(D.kl_normal(mu_p, sigma_p, mu_p, sigma_p), torch.zeros(20, dtype=torch.float64), atol=1e-12)
    assert (D.kl_normal(mu_p, sigma_p, mu_q, sigma_q) > 0).all()


def test_kl_normal_is_asymmetric():
    assert D.kl_normal(0.0, 1.0, 0.0, 2.0).item() != pytest.approx(D.kl_normal(0.0, 2.0, 0.0, 1.0).item())


# --- tv_normal ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(2))
def test_tv_normal_agrees_with_numerical_integration_when_variances_differ(seed):
    mu_p, sigma_p, mu_q, sigma_q = rand_normal_params(seed, n=12)
    tv = D.tv_normal(mu_p, sigma_p, mu_q, sigma_q)
    expected = [tv_by_quadrature(*map(float, row)) for row in zip(mu_p, sigma_p, mu_q, sigma_q)]
    np.testing.assert_allclose(tv.numpy(), expected, rtol=1e-6, atol=1e-9)


def test_tv_normal_with_equal_variances_is_erf_of_the_shift():
    shifts = torch.tensor([1e-4, 0.1, 1.0, 5.0], dtype=torch.float64)
    tv = D.tv_normal(torch.zeros(4, dtype=torch.float64), 2.0, shifts, 2.0)
    expected = [tv_by_quadrature(0.0, 2.0, float(s), 2.0) for s in shifts]
    np.testing.assert_allclose(tv.numpy(), expected, rtol=1e-6, atol=1e-10)
    # small shifts: TV ~ eps / sqrt(2 pi) (unit variance)
    small = D.tv_normal(0.0, 1.0, torch.tensor(1e-3, dtype=torch.float64), 1.0).item()
    assert small == pytest.approx(1e-3 / math.sqrt(2 * math.pi), rel=1e-4)


def test_tv_normal_is_continuous_as_variances_approach_each_other():
    sigmas = 1 + torch.tensor([1e-3, 1e-6, 1e-9, 0.0], dtype=torch.float64)
    tv = D.tv_normal(0.0, 1.0, 0.7, sigmas)
    assert torch.allclose(tv, tv[-1].expand(4), atol=2e-3)


def test_narrow_normal_tv_tends_to_one():
    tv = D.tv_normal(0.0, torch.tensor([1e-1, 1e-3, 1e-6], dtype=torch.float64), 0.0, 1.0)
    assert (tv[1:] > 0.99).all() and tv[0] < tv[1] < tv[2] <= 1


@pytest.mark.parametrize("seed", range(3))
def test_tv_properties_bounds_symmetry_and_pinsker(seed):
    mu_p, sigma_p, mu_q, sigma_q = rand_normal_params(seed)
    tv = D.tv_normal(mu_p, sigma_p, mu_q, sigma_q)
    assert ((tv >= 0) & (tv <= 1)).all()
    torch.testing.assert_close(tv, D.tv_normal(mu_q, sigma_q, mu_p, sigma_p))
    kl = D.kl_normal(mu_p, sigma_p, mu_q, sigma_q)
    assert (tv <= torch.sqrt(kl / 2) + 1e-12).all()  # Pinsker


def test_js_normal_agrees_with_numerical_integration():
    for mp, sp, mq, sq in [(0, 1, 1, 2), (0, 0.3, 2, 1), (1, 1, 1, 1), (0, 1, 20, 1)]:
        def integrand(x):
            p, q = stats.norm.pdf(x, mp, sp), stats.norm.pdf(x, mq, sq)
            m = (p + q) / 2
            return 0.5 * (p * np.log(p / m) if p > 0 else 0) + 0.5 * (q * np.log(q / m) if q > 0 else 0)
        expected = integrate.quad(integrand, min(mp - 12 * sp, mq - 12 * sq), max(mp + 12 * sp, mq + 12 * sq),
                                  points=sorted({mp, mq}), limit=500)[0]
        assert D.js_normal(float(mp), float(sp), float(mq), float(sq)).item() == pytest.approx(expected, abs=1e-6)


# --- kl_mvn ------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 2, 5])
def test_kl_mvn_agrees_with_torch_distributions(d):
    g = torch.Generator().manual_seed(d)
    mu_p, mu_q = torch.randn(2, 4, d, generator=g, dtype=torch.float64)
    cov_p, cov_q = random_spd(g, (4,), d), random_spd(g, (4,), d)
    expected = kl_divergence(MultivariateNormal(mu_p, cov_p), MultivariateNormal(mu_q, cov_q))
    torch.testing.assert_close(D.kl_mvn(mu_p, cov_p, mu_q, cov_q), expected)


def test_kl_mvn_broadcasts_batch_dimensions():
    g = torch.Generator().manual_seed(0)
    mu_p = torch.randn(3, 1, 2, generator=g, dtype=torch.float64)
    mu_q = torch.randn(5, 2, generator=g, dtype=torch.float64)
    cov = random_spd(g, (), 2)
    out = D.kl_mvn(mu_p, cov, mu_q, cov)
    assert out.shape == (3, 5)
    expected = kl_divergence(MultivariateNormal(mu_p, cov), MultivariateNormal(mu_q, cov))
    torch.testing.assert_close(out, expected)


def test_kl_mvn_of_diagonal_covariances_is_a_sum_of_univariate_kls():
    mu_p, sigma_p, mu_q, sigma_q = rand_normal_params(3, n=6)
    kl = D.kl_mvn(mu_p, torch.diag(sigma_p ** 2), mu_q, torch.diag(sigma_q ** 2))
    assert kl.item() == pytest.approx(D.kl_normal(mu_p, sigma_p, mu_q, sigma_q).sum().item(), rel=1e-10)


# --- discrete family ---------------------------------------------------------------------------

def random_probs(seed, shape=(5, 8)):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(2 * torch.randn(*shape, generator=g, dtype=torch.float64), -1)


def test_discrete_divergences_against_scipy():
    p, q = random_probs(0), random_probs(1)
    np.testing.assert_allclose(D.kl_discrete(p, q).numpy(), stats.entropy(p.numpy(), q.numpy(), axis=-1))
    from scipy.spatial.distance import jensenshannon
    js = jensenshannon(p.numpy(), q.numpy(), axis=-1) ** 2  # scipy returns the square root, in nats
    np.testing.assert_allclose(D.js_discrete(p, q).numpy(), js, rtol=1e-10)
    np.testing.assert_allclose(D.tv_discrete(p, q).numpy(), 0.5 * np.abs(p.numpy() - q.numpy()).sum(-1))
    hell = 0.5 * ((np.sqrt(p.numpy()) - np.sqrt(q.numpy())) ** 2).sum(-1)
    np.testing.assert_allclose(D.hellinger_discrete(p, q).numpy(), hell)


def test_kl_discrete_conventions_zero_log_zero_and_infinity():
    p = torch.tensor([0.5, 0.5, 0.0])
    q = torch.tensor([0.25, 0.25, 0.5])
    assert D.kl_discrete(p, q).item() == pytest.approx(math.log(2))  # 0 log 0 = 0
    assert D.kl_discrete(q, p).item() == math.inf                     # q > 0 = p somewhere


def test_f_divergence_reproduces_the_family_including_disjoint_supports():
    p, q = random_probs(2), random_probs(3)
    kl_f = lambda t: torch.xlogy(t, t)
    tv_f = lambda t: 0.5 * (t - 1).abs()
    torch.testing.assert_close(D.f_divergence(p, q, kl_f), torch.from_numpy(stats.entropy(p.numpy(), q.numpy(), axis=-1)))
    torch.testing.assert_close(D.f_divergence(p, q, tv_f), 0.5 * (p - q).abs().sum(-1))
    disjoint_p = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)
    disjoint_q = torch.tensor([0.0, 0.0, 0.5, 0.5], dtype=torch.float64)
    assert D.f_divergence(disjoint_p, disjoint_q, tv_f).item() == pytest.approx(1.0)
    assert D.f_divergence(disjoint_p, disjoint_q, kl_f).item() == math.inf


def test_js_is_bounded_by_log_two():
    p = torch.tensor([1.0, 0.0])
    q = torch.tensor([0.0, 1.0])
    assert D.js_discrete(p, q).item() == pytest.approx(math.log(2))


# --- sample-based ------------------------------------------------------------------------------

def test_kl_monte_carlo_estimate_is_the_mean_log_ratio_and_covers_the_truth():
    g = torch.Generator().manual_seed(0)
    p, q = Normal(0.0, 1.0), Normal(1.0, 2.0)
    x = torch.randn(20000, generator=g)
    est, se = D.kl_monte_carlo(p.log_prob, q.log_prob, x)
    r = (p.log_prob(x) - q.log_prob(x)).numpy().astype(np.float64)
    assert est.item() == pytest.approx(r.mean(), rel=1e-5)
    assert se.item() == pytest.approx(r.std(ddof=1) / math.sqrt(len(r)), rel=1e-4)
    exact = kl_divergence(p, q).item()
    assert abs(est.item() - exact) < 4 * se.item()


def test_wasserstein_1d_agrees_with_scipy():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, generator=g, dtype=torch.float64)
    y = 0.5 + 2 * torch.randn(170, generator=g, dtype=torch.float64)
    assert D.wasserstein_1d(x, y).item() == pytest.approx(stats.wasserstein_distance(x.numpy(), y.numpy()), rel=1e-10)


def test_mmd_matches_a_brute_force_unbiased_estimate():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(15, 2, generator=g, dtype=torch.float64)
    y = torch.randn(11, 2, generator=g, dtype=torch.float64) + 0.5
    h = 0.8
    k = lambda a, b: math.exp(-float(((a - b) ** 2).sum()) / (2 * h * h))
    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    assert D.mmd(x, y, h).item() == pytest.approx(kxx + kyy - 2 * kxy, rel=1e-10)


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [D.kl_normal, D.tv_normal, D.js_normal])
@pytest.mark.parametrize("bad, name", [((0.0, -1.0, 0.0, 1.0), "sigma_p"), ((0.0, 1.0, 0.0, 0.0), "sigma_q")])
def test_nonpositive_sigma_raises_naming_the_argument(fn, bad, name):
    with pytest.raises(ValueError, match=name):
        fn(*bad)


def test_shapes_that_do_not_broadcast_raise():
    with pytest.raises(ValueError, match="broadcast"):
        D.kl_normal(torch.zeros(3), torch.ones(4), 0.0, 1.0)
    with pytest.raises(ValueError, match="broadcast|outcomes"):
        D.kl_discrete(torch.full((3,), 1 / 3), torch.full((4,), 0.25))


def test_covariance_not_positive_definite_raises():
    mu = torch.zeros(2)
    good = torch.eye(2)
    bad = torch.tensor([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3, -1
    with pytest.raises(ValueError, match="cov_q.*positive definite"):
        D.kl_mvn(mu, good, mu, bad)
    with pytest.raises(ValueError, match="cov_p.*symmetric"):
        D.kl_mvn(mu, torch.tensor([[1.0, 0.5], [0.0, 1.0]]), mu, good)


def test_bad_probabilities_raise():
    with pytest.raises(ValueError, match=r"p must be >= 0, got -0\.5"):
        D.kl_discrete(torch.tensor([1.5, -0.5]), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="q must sum to 1"):
        D.tv_discrete(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.6]))
    with pytest.raises(TypeError, match="p must be a tensor"):
        D.js_discrete([0.5, 0.5], torch.tensor([0.5, 0.5]))


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="mu_p"):
        D.kl_normal("0", 1.0, 0.0, 1.0)


# --- gradients and devices ---------------------------------------------------------------------

def test_gradients_are_finite_and_match_autograd_of_torch_distributions():
    mu_p, sigma_p, mu_q, sigma_q = (t.clone().requires_grad_() for t in rand_normal_params(5, n=4))
    D.kl_normal(mu_p, sigma_p, mu_q, sigma_q).sum().backward()
    ours = [t.grad.clone() for t in (mu_p, sigma_p, mu_q, sigma_q)]
    for t in (mu_p, sigma_p, mu_q, sigma_q):
        t.grad = None
    kl_divergence(Normal(mu_p, sigma_p), Normal(mu_q, sigma_q)).sum().backward()
    for a, t in zip(ours, (mu_p, sigma_p, mu_q, sigma_q)):
        torch.testing.assert_close(a, t.grad)
    for fn in (D.tv_normal, D.js_normal):
        params = [t.detach().clone().requires_grad_() for t in rand_normal_params(6, n=4)]
        fn(*params).sum().backward()
        assert all(torch.isfinite(p.grad).all() for p in params)


def test_tv_normal_gradient_matches_finite_differences():
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.2, 0.8, 1.0, 1.7)]
    D.tv_normal(*params).backward()
    for i in range(4):
        def f(v):
            vals = [p.item() for p in params]
            vals[i] = v
            return D.tv_normal(*[torch.tensor(a, dtype=torch.float64) for a in vals]).item()
        h = 1e-6
        x0 = params[i].item()
        assert params[i].grad.item() == pytest.approx((f(x0 + h) - f(x0 - h)) / (2 * h), rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("device", DEVICES)
def test_results_follow_the_input_device(device):
    mu_p, sigma_p, mu_q, sigma_q = (t.float().to(device) for t in rand_normal_params(0, n=5))
    for fn in (D.kl_normal, D.tv_normal, D.js_normal):
        out = fn(mu_p, sigma_p, mu_q, sigma_q)
        assert out.device.type == device.type
        expected = fn(*(t.cpu() for t in (mu_p, sigma_p, mu_q, sigma_q)))
        torch.testing.assert_close(out.cpu(), expected, rtol=1e-4, atol=1e-5)
    cov = torch.eye(3, device=device)
    assert D.kl_mvn(torch.zeros(3, device=device), cov, torch.ones(3, device=device), cov).device.type == device.type
