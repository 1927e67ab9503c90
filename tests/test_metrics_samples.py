"""course_lib.metrics, sample-based part (lecture 08): the Frechet distance against scipy's matrix
square root and closed forms, and the cached digits classifier behind its features."""

import numpy as np
import pytest
import scipy.linalg
import torch

from course_lib import metrics as M
from course_lib.data import digits


def frechet_by_scipy(a: np.ndarray, b: np.ndarray) -> float:
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


@pytest.mark.parametrize("n, m, f", [(50, 70, 3), (200, 120, 8), (40, 40, 2)])
def test_frechet_distance_agrees_with_scipy_sqrtm(n, m, f):
    g = torch.Generator().manual_seed(n + f)
    a = torch.randn(n, f, generator=g, dtype=torch.float64) @ torch.randn(f, f, generator=g, dtype=torch.float64)
    b = 1.5 + torch.randn(m, f, generator=g, dtype=torch.float64) @ torch.randn(f, f, generator=g, dtype=torch.float64)
    expected = frechet_by_scipy(a.numpy(), b.numpy())
    assert M.frechet_distance(a, b).item() == pytest.approx(expected, rel=1e-7, abs=1e-8)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_it_is_symmetric():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(100, 5, generator=g, dtype=torch.float64)
    b = torch.randn(80, 5, generator=g, dtype=torch.float64) * 2
    assert abs(M.frechet_distance(a, a).item()) < 1e-8
    assert M.frechet_distance(a, b).item() == pytest.approx(M.frechet_distance(b, a).item(), rel=1e-9)


def test_frechet_distance_of_shifted_isotropic_sets_is_shift_squared_plus_scale_term():
    # N(0, I) vs N(mu, s^2 I) in F dims: ||mu||^2 + F (1 - s)^2, here with exact sample moments
    g = torch.Generator().manual_seed(4)
    x = torch.randn(500, 4, generator=g, dtype=torch.float64)
    x = (x - x.mean(0)) @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(x.T))).T   # mean 0, cov I exactly
    mu = torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64)
    assert M.frechet_distance(x, 3 * x + mu).item() == pytest.approx(mu.square().sum().item() + 4 * 4, rel=1e-9)


def test_frechet_distance_rejects_bad_features():
    with pytest.raises(ValueError, match="features"):
        M.frechet_distance(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(TypeError, match="features_a"):
        M.frechet_distance(np.zeros((5, 3)), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="features_b"):
        M.frechet_distance(torch.zeros(5, 3), torch.zeros(1, 3))


@pytest.mark.slow
def test_digits_classifier_is_cached_seeded_accurate_and_leaves_global_randomness_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    model = M.digits_classifier()
    assert torch.rand(1).item() == before.item()          # training did not consume the global stream
    assert M.digits_classifier() is model                 # trained once per process
    x_test, y_test = digits("test")
    assert M.classification_accuracy(model, x_test, y_test) > 0.85
    again = M.train_digits_classifier(*digits("train"), seed=0)
    torch.testing.assert_close(again(x_test), model(x_test))
    feats = M.digits_features(x_test)
    assert feats.shape == (447, 64)
    # real vs real is close; real vs uniform noise is far
    floor = M.frechet_distance(M.digits_features(digits("train")[0]), feats).item()
    noise = M.frechet_distance(M.digits_features(16 * torch.rand(447, 64, generator=torch.Generator().manual_seed(0))), feats).item()
    assert noise > 10 * floor
