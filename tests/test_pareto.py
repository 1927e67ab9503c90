"""Does pareto_front agree with brute force, and does scalarization_sweep reach the closed-form minimizers?"""

import itertools

import numpy as np
import pytest
import torch

from course_lib.pareto import pareto_front, scalarization_sweep


def brute_force_front(losses: np.ndarray) -> np.ndarray:
    """O(N^2) definition: j is on the front unless some i is <= everywhere and < somewhere."""
    n = len(losses)
    keep = np.ones(n, dtype=bool)
    for i, j in itertools.product(range(n), range(n)):
        if np.all(losses[i] <= losses[j]) and np.any(losses[i] < losses[j]):
            keep[j] = False
    return keep


@pytest.mark.parametrize("m", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
def test_front_matches_brute_force_with_ties(m, seed):
    # Small integer losses: many ties in single columns and many duplicate rows.
    g = torch.Generator().manual_seed(seed)
    losses = torch.randint(0, 5, (40, m), generator=g)
    expected = brute_force_front(losses.numpy())
    assert pareto_front(losses).tolist() == expected.tolist()
    assert pareto_front(losses.float()).tolist() == expected.tolist()


@pytest.mark.parametrize("m", [2, 3])
def test_front_matches_brute_force_on_continuous_losses(m):
    g = torch.Generator().manual_seed(7)
    losses = torch.randn(200, m, generator=g, dtype=torch.float64)
    assert pareto_front(losses).tolist() == brute_force_front(losses.numpy()).tolist()


def test_duplicates_of_a_front_point_are_both_kept_and_dominated_duplicates_both_dropped():
    losses = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [2.0, 2.0]])
    assert pareto_front(losses).tolist() == [True, True, True, False, False]


def test_weakly_dominated_point_is_dropped():
    # Equal in one loss, worse in the other: dominated (<= everywhere, < somewhere).
    losses = torch.tensor([[1.0, 1.0], [1.0, 2.0], [2.0, 1.0]])
    assert pareto_front(losses).tolist() == [True, False, False]


def test_front_minimizes_not_maximizes():
    losses = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert pareto_front(losses).tolist() == [True, False]


def test_front_of_a_convex_curve_is_all_of_it():
    t = torch.linspace(0, 1, 50)
    losses = torch.stack([t ** 2, (1 - t) ** 2], dim=1)
    assert bool(pareto_front(losses).all())


def test_infinite_losses_and_empty_input():
    losses = torch.tensor([[float("inf"), 0.0], [0.0, float("inf")], [1.0, 1.0], [float("inf"), 1.0]])
    assert pareto_front(losses).tolist() == brute_force_front(losses.numpy()).tolist()
    assert pareto_front(torch.zeros(0, 2)).shape == (0,)


def test_front_rejects_bad_input():
    with pytest.raises(ValueError, match="losses"):
        pareto_front(torch.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        pareto_front(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(TypeError, match="losses"):
        pareto_front([[0.0, 1.0]])


# -- scalarization_sweep ---------------------------------------------------------------------

A = torch.tensor([-1.0, 0.5], dtype=torch.float64)
B = torch.tensor([1.0, -0.5], dtype=torch.float64)


def sq_dist_a(w):
    return ((w - A) ** 2).sum(-1)


def sq_dist_b(w):
    return ((w - B) ** 2).sum(-1)


def test_sweep_reaches_closed_form_minimizer_of_two_quadratics():
    # argmin |w - a|^2 + lambda |w - b|^2 = (a + lambda b) / (1 + lambda)
    lambdas = torch.tensor([0.0, 0.25, 1.0, 4.0], dtype=torch.float64)
    points, params = scalarization_sweep(sq_dist_a, sq_dist_b, torch.zeros(2, dtype=torch.float64),
                                         lambdas, steps=2000, lr=0.05)
    expected = (A + lambdas[:, None] * B) / (1 + lambdas[:, None])
    assert params.shape == (4, 2) and points.shape == (4, 2)
    torch.testing.assert_close(params, expected, atol=1e-8, rtol=0)
    torch.testing.assert_close(points[:, 0], sq_dist_a(expected), atol=1e-8, rtol=0)
    torch.testing.assert_close(points[:, 1], sq_dist_b(expected), atol=1e-8, rtol=0)


def test_sweep_steps_follow_gradient_descent_by_autograd():
    # One step from w0 must equal w0 - lr * autograd gradient of L1 + lambda L2.
    w0 = torch.tensor([[0.3, -0.2], [2.0, 1.0]], dtype=torch.float64)
    lambdas = [0.5, 3.0]

    def l2(w):
        return torch.sin(w).sum(-1) ** 2

    _, params = scalarization_sweep(sq_dist_a, l2, w0, lambdas, steps=1, lr=0.1)
    for row, lam in enumerate(lambdas):
        w = w0[row].clone().requires_grad_(True)
        total = sq_dist_a(w) + lam * l2(w)
        (grad,) = torch.autograd.grad(total, w)
        torch.testing.assert_close(params[row], w0[row] - 0.1 * grad)


def test_sweep_keeps_dtype_and_does_not_touch_init():
    init = torch.zeros(2, dtype=torch.float64)
    _, params = scalarization_sweep(sq_dist_a, sq_dist_b, init, [1.0], steps=3, lr=0.1)
    assert params.dtype == torch.float64 and bool((init == 0).all())
    assert not params.requires_grad


def test_sweep_rejects_bad_input():
    init = torch.zeros(2)
    with pytest.raises(ValueError, match="lambdas"):
        scalarization_sweep(sq_dist_a, sq_dist_b, init, [-1.0])
    with pytest.raises(ValueError, match="lr"):
        scalarization_sweep(sq_dist_a, sq_dist_b, init, [1.0], lr=0.0)
    with pytest.raises(ValueError, match="one row per lambda"):
        scalarization_sweep(sq_dist_a, sq_dist_b, torch.zeros(3, 2), [1.0, 2.0])
    with pytest.raises(FloatingPointError, match="diverged"):
        scalarization_sweep(sq_dist_a, sq_dist_b, torch.ones(2, dtype=torch.float64), [1.0], steps=2000, lr=10.0)


@pytest.mark.parametrize("m", [2, 3])
def test_front_with_infinities_matches_brute_force(m):
    g = torch.Generator().manual_seed(11)
    values = torch.tensor([-float("inf"), 0.0, 1.0, 2.0, float("inf")])
    losses = values[torch.randint(0, 5, (60, m), generator=g)]
    assert pareto_front(losses).tolist() == brute_force_front(losses.numpy()).tolist()
