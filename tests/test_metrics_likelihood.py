"""Likelihood-based metrics (course_lib.metrics, lecture 07) against closed forms and brute force."""

import math

import pytest
import torch

from course_lib.metrics import bits_per_dim, memorizer_log_likelihood, perplexity


def test_uniform_levels_cost_log2_levels_bits_per_dim():
    # a uniform model over 17 levels on 64 pixels: -log p(x) = 64 ln 17 nats
    nll = torch.tensor([64 * math.log(17), 2 * 64 * math.log(17)], dtype=torch.float64)
    torch.testing.assert_close(bits_per_dim(nll, 64), torch.tensor([math.log2(17), 2 * math.log2(17)],
                                                                  dtype=torch.float64))


def test_bits_per_dim_is_the_base_2_log_of_the_probability_per_dim():
    p = torch.rand(5, 10, dtype=torch.float64) * 0.9 + 0.05       # 5 sequences of 10 conditionals
    nll_nats = -p.log().sum(1)
    torch.testing.assert_close(bits_per_dim(nll_nats, 10), -torch.log2(p).mean(1))
    assert float(bits_per_dim(1.0, 1)) == pytest.approx(1 / math.log(2))


def test_perplexity_of_a_uniform_choice_is_its_size():
    for v in (2, 29, 1000):
        assert float(perplexity(50 * math.log(v), 50)) == pytest.approx(v)


def test_perplexity_is_the_inverse_geometric_mean_probability():
    p = torch.rand(7, dtype=torch.float64) * 0.9 + 0.05
    expected = float(torch.prod(p) ** (-1 / 7))
    assert float(perplexity(-p.log().sum(), 7)) == pytest.approx(expected)
    assert float(perplexity(torch.tensor(math.inf), 3)) == math.inf


def test_conversions_reject_bad_counts():
    with pytest.raises(ValueError, match="num_dims"):
        bits_per_dim(1.0, 0)
    with pytest.raises(TypeError, match="num_tokens"):
        perplexity(1.0, 2.5)
    with pytest.raises(TypeError, match="nll_nats"):
        bits_per_dim("1", 3)


def test_memorizer_counts_repeats_and_is_minus_infinity_off_the_training_set():
    train = torch.tensor([[0, 1], [2, 3], [0, 1], [4, 4]])
    x = torch.tensor([[0, 1], [4, 4], [1, 0], [2, 3]])
    expected = [math.log(2 / 4), math.log(1 / 4), -math.inf, math.log(1 / 4)]
    assert memorizer_log_likelihood(train, x).tolist() == pytest.approx(expected)


def test_memorizer_on_digits_brute_force():
    from course_lib.data import digits

    train, test = digits("train")[0], digits("test")[0]
    rows = {tuple(r) for r in train.tolist()}
    ll_train = memorizer_log_likelihood(train, train[:50])
    counts = [sum(tuple(r) == tuple(t) for t in train.tolist()) for r in train[:50].tolist()]
    torch.testing.assert_close(ll_train, torch.tensor([math.log(c / 1000) for c in counts], dtype=torch.float64))
    ll_test = memorizer_log_likelihood(train, test)
    assert ll_test.shape == (447,)
    assert [v == -math.inf for v in ll_test.tolist()] == [tuple(r) not in rows for r in test.tolist()]


def test_memorizer_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="row shape"):
        memorizer_log_likelihood(torch.zeros(3, 4), torch.zeros(2, 5))
