"""Character n-grams (course_lib.ngram) against counting by hand and the chain rule."""

import math

import pytest
import torch

from course_lib.ngram import ALPHABET, CharNGram, clean, stdlib_text


def test_clean_folds_everything_outside_the_alphabet():
    assert clean("Hello,  World!\n42 x.y") == "hello, world x.y"
    assert set(clean("Ünïcode & c0de; OK.")) <= set(ALPHABET)


def test_bigram_probabilities_are_counts_by_hand():
    m = CharNGram(2).fit("abab a")
    # contexts: ^a, ab, ba, ab, b' ', ' 'a
    assert m.prob("a", "b") == pytest.approx(1.0)
    assert m.prob("b", "a") == pytest.approx(1 / 2) and m.prob("b", " ") == pytest.approx(1 / 2)
    assert m.prob("z", "a") == 0.0                     # never-seen context, no smoothing
    s = CharNGram(2, alpha=1.0).fit("abab a")
    assert s.prob("b", "a") == pytest.approx((1 + 1) / (2 + len(ALPHABET)))
    assert s.prob("z", "q") == pytest.approx(1 / len(ALPHABET))


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_smoothed_conditionals_sum_to_one(n, alpha):
    m = CharNGram(n, alpha).fit("the cat sat on the mat, then the dog.")
    for ctx in ("th", "e ", "xx", ""):
        assert sum(m.prob(ctx, c) for c in ALPHABET) == pytest.approx(1.0)


def test_nll_is_the_chain_rule_sum():
    text = "the cat sat"
    m = CharNGram(3, alpha=0.1).fit("the cat sat on the mat")
    padded = "^^" + text
    expected = -sum(math.log(m.prob(padded[t - 2:t], padded[t])) for t in range(2, len(padded)))
    nll, count = m.nll(text)
    assert count == len(text) and nll == pytest.approx(expected)


def test_unsmoothed_model_gives_infinite_nll_on_an_unseen_ngram():
    m = CharNGram(2).fit("aaaa bbbb")
    assert m.nll("ab")[0] == math.inf
    assert math.isfinite(m.nll("aa")[0])


def test_samples_use_the_alphabet_and_follow_the_generator():
    m = CharNGram(3).fit("the cat sat on the mat, then the dog ran.")
    a = m.sample(40, generator=torch.Generator().manual_seed(0))
    b = m.sample(40, generator=torch.Generator().manual_seed(0))
    assert a == b and set(a) <= set(ALPHABET) and len(a) == 40 + 2
    assert m.sample(5, generator=torch.Generator().manual_seed(0), prompt="the").startswith("the")


@pytest.mark.slow
def test_stdlib_text_is_english_and_the_trigram_beats_the_unigram():
    train, test = stdlib_text()
    assert len(train) > 100_000 and len(test) > 10_000 and " the " in train
    ppl = {n: math.exp(CharNGram(n, 0.01).fit(train).nll(test)[0] / len(test)) for n in (1, 3)}
    assert ppl[3] < ppl[1] < len(ALPHABET)
