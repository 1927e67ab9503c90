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
    with pytest.raises(TypeError, match="loss2 must be a function, got int"):
        scalarization_sweep(sq_dist_a, 2, init, [1.0])
    with pytest.raises(TypeError, match="steps must be an integer, got float"):
        scalarization_sweep(sq_dist_a, sq_dist_b, init, [1.0], steps=10.0)
    with pytest.raises(FloatingPointError, match="diverged"):
        scalarization_sweep(sq_dist_a, sq_dist_b, torch.ones(2, dtype=torch.float64), [1.0], steps=2000, lr=10.0)


@pytest.mark.parametrize("m", [2, 3])
def test_front_with_infinities_matches_brute_force(m):
    g = torch.Generator().manual_seed(11)
    values = torch.tensor([-float("inf"), 0.0, 1.0, 2.0, float("inf")])
    losses = values[torch.randint(0, 5, (60, m), generator=g)]
    assert pareto_front(losses).tolist() == brute_force_front(losses.numpy()).tolist()


# -- the example problems and the lambda explorer of lecture 02 -------------------------------

def test_convex_example_minimizer_is_the_closed_form():
    from course_lib.pareto import pull_left, pull_right

    lambdas = torch.tensor([0.0, 0.5, 1.0, 3.0], dtype=torch.float64)
    _, params = scalarization_sweep(pull_left, pull_right, torch.tensor([1.5, 0.5], dtype=torch.float64),
                                    lambdas, steps=1000, lr=0.05)
    expected = torch.stack([(lambdas - 1) / (lambdas + 1), torch.zeros(4, dtype=torch.float64)], 1)
    torch.testing.assert_close(params, expected, atol=1e-9, rtol=0)


def test_bumped_example_has_two_equal_minima_at_lambda_one():
    # L1 + L2 along w_2 = 0 is 2 u^2 + 2 + exp(-u^2 / 0.2): symmetric wells at u^2 = 0.2 log 2.5.
    from course_lib.pareto import pull_left, pull_right_bumped

    init = torch.tensor([[-1.5, 0.5], [1.5, 0.5]], dtype=torch.float64)
    points, params = scalarization_sweep(pull_left, pull_right_bumped, init, [1.0, 1.0], steps=2000, lr=0.02)
    well = np.sqrt(0.2 * np.log(2.5))
    np.testing.assert_allclose(params[:, 0].numpy(), [-well, well], atol=1e-7)
    assert float((points.sum(1)[0] - points.sum(1)[1]).abs()) < 1e-9


def test_explorer_numbers_follow_the_sliders_and_match_the_closed_form_when_convex():
    from course_lib.explorers.pareto import pareto_explorer

    explorer = pareto_explorer("convex")
    for lam in [0.0, 0.35, 2.0]:
        explorer.sliders["lambda"].value = lam
        w1 = (lam - 1) / (lam + 1)
        assert explorer.values["L1"] == pytest.approx((w1 + 1) ** 2, abs=1e-6)
        assert explorer.values["L2"] == pytest.approx((w1 - 1) ** 2, abs=1e-6)
        assert explorer.values["excess"] == pytest.approx(0.0, abs=1e-9)
    explorer.sliders["lambda"].value = 1.234  # off the slider grid: computed on demand
    w1 = 0.234 / 2.234
    assert explorer.values["L1"] == pytest.approx((w1 + 1) ** 2, abs=1e-6)


def test_explorer_shows_descent_stuck_in_the_worse_well():
    from course_lib.explorers.pareto import pareto_explorer
    from course_lib.pareto import pull_left, pull_right_bumped

    # Started right of the ridge with 0.75 < lambda < 1, descent stays in the right well; the left one is lower.
    explorer = pareto_explorer("bumped", lam=0.8, start=1.9)
    left = torch.tensor([-1.5, 0.5], dtype=torch.float64)
    points, _ = scalarization_sweep(pull_left, pull_right_bumped, left, [0.8], steps=2000, lr=0.02)
    stuck = explorer.values["L1"] + 0.8 * explorer.values["L2"]
    assert explorer.values["excess"] == pytest.approx(stuck - float(points[0, 0] + 0.8 * points[0, 1]), abs=1e-6)
    assert explorer.values["excess"] > 0.2
    explorer.sliders["start"].value = -1.0
    assert explorer.values["excess"] == 0.0


def test_explorer_follows_the_widget_convention():
    from course_lib.explorers.pareto import pareto_explorer

    explorer = pareto_explorer()
    assert [s.description for s in explorer.sliders.values()] == ["lambda", "start"]
    assert all(not s.continuous_update for s in explorer.sliders.values())
    assert 'data-name="excess"' in explorer.numbers.value
    bundle = explorer._repr_mimebundle_()
    assert bundle["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="problem"):
        pareto_explorer("concave")
