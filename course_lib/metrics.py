"""How good is a generative model? Likelihood-based numbers (lecture 07) and sample-based ones
(lecture 08), as pure functions of tensors."""

from __future__ import annotations

import math

import torch

from . import checks

# --- likelihood-based: nats, bits per dimension, perplexity, memorization (lecture 07) ------------

def bits_per_dim(nll_nats, num_dims: int) -> torch.Tensor:
    """Negative log-likelihood in nats per example -> bits per dimension.

    bpd = nll_nats / (num_dims * ln 2): the average number of bits an ideal code built from the model
    spends on each pixel (or token). Shapes: any -> the same shape. Lecture 07.
    """
    (nll,) = checks.floats(nll_nats=nll_nats)
    num_dims = checks.positive_int(num_dims, "num_dims")
    return nll / (num_dims * math.log(2))


def perplexity(nll_nats, num_tokens: int) -> torch.Tensor:
    """Negative log-likelihood in nats of a sequence of ``num_tokens`` tokens -> perplexity.

    PPL = exp(nll_nats / num_tokens) = (prod_i p(x_i | x_<i))^(-1 / num_tokens): the size of a uniform
    choice that would be as surprising per token. Shapes: any -> the same shape. Lecture 07.
    """
    (nll,) = checks.floats(nll_nats=nll_nats)
    num_tokens = checks.positive_int(num_tokens, "num_tokens")
    return torch.exp(nll / num_tokens)


def memorizer_log_likelihood(train: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x) under the uniform distribution over the N rows of ``train`` (the memorizer).

    p(x) = #{j : train_j = x} / N, so log p(x) = log(count / N), and -inf for any x not in ``train``.
    Shapes: train (N, D), x (M, D) -> (M,) float64. Lecture 07.
    """
    checks.tensor(train, "train", min_dim=2)
    checks.tensor(x, "x", min_dim=2)
    if train.shape[1:] != x.shape[1:]:
        raise ValueError(f"train and x must have the same row shape, got {tuple(train.shape)} and {tuple(x.shape)}")
    equal = (x.flatten(1)[:, None, :] == train.flatten(1).to(x.device)[None, :, :]).all(-1)   # (M, N)
    count = equal.sum(1).to(torch.float64)
    return torch.log(count / train.shape[0])


# --- sample-based: Frechet distance and the digits features it uses (lecture 08) -----------------
