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


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> torch.Tensor:
    """Frechet distance between Gaussians fitted to two sets of features (FID's formula), in float64.

    d^2 = ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)),   S: unbiased covariances.
    tr (S_a S_b)^(1/2) = sum_i sqrt(lambda_i) with lambda_i the eigenvalues of the symmetric
    S_a^(1/2) S_b S_a^(1/2) (same spectrum as S_a S_b). Shapes: (N, F), (M, F) -> scalar. Lecture 08.
    """
    checks.tensor(features_a, "features_a", floating=True, min_dim=2)
    checks.tensor(features_b, "features_b", floating=True, min_dim=2)
    if features_a.dim() != 2 or features_b.dim() != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"features must be (N, F) and (M, F), got {tuple(features_a.shape)} and {tuple(features_b.shape)}")
    for name, f in (("features_a", features_a), ("features_b", features_b)):
        if f.shape[0] < 2:
            raise ValueError(f"{name} needs at least 2 rows for a covariance, got {f.shape[0]}")
    a, b = features_a.double(), features_b.to(features_a.device).double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)                       # (F, F)
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = (vecs * vals.clamp_min(0).sqrt()) @ vecs.T                 # S_a^(1/2)
    lam = torch.linalg.eigvalsh(root_a @ cov_b @ root_a)
    d2 = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * lam.clamp_min(0).sqrt().sum()
    return d2.clamp_min(0)                                              # rounding can leave -1e-15


class DigitsClassifier(torch.nn.Module):
    """8x8 digits (B, 64) with levels 0..16 -> 10 logits; ``features(x)`` is the last hidden layer (B, 64)."""

    def __init__(self, hidden: int = 128, width: int = 64):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(),
                                        torch.nn.Linear(hidden, width), torch.nn.ReLU())
        self.head = torch.nn.Linear(width, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.float() / 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_digits_classifier(x: torch.Tensor, y: torch.Tensor, seed: int = 0, steps: int = 300,
                            lr: float = 3e-3) -> DigitsClassifier:
    """A :class:`DigitsClassifier` trained by full-batch Adam (cross-entropy, weight decay 1e-4) on
    ``x`` (N, 64) levels 0..16 and labels ``y`` (N,). Initialization seeded by ``seed`` without
    touching the caller's global random state. Used for the features and for the classification
    accuracy score (train on generated digits, test on real ones). Lecture 08."""
    checks.tensor(x, "x", min_dim=2)
    checks.tensor(y, "y", min_dim=1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitsClassifier()
    model = model.to(x.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    with torch.enable_grad():   # also when called under no_grad (e.g. by digits_features)
        for _ in range(steps):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


_DIGITS_CLASSIFIER: dict[str, DigitsClassifier] = {}


def digits_classifier() -> DigitsClassifier:
    """The course's digits classifier, trained once (seed 0) on the 1000 training digits and cached in memory."""
    if "model" not in _DIGITS_CLASSIFIER:
        from .data import digits

        _DIGITS_CLASSIFIER["model"] = train_digits_classifier(*digits("train"), seed=0)
    return _DIGITS_CLASSIFIER["model"]


@torch.no_grad()
def digits_features(x: torch.Tensor) -> torch.Tensor:
    """Features of 8x8 digits (N, 64), levels 0..16 (floats allowed), in the cached classifier's
    last hidden layer: (N, 64) float32. The space in which :func:`frechet_distance` compares digits."""
    checks.tensor(x, "x", min_dim=2)
    model = digits_classifier()
    return model.features(x.to(next(model.parameters()).device)).to(x.device)


@torch.no_grad()
def classification_accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` (N, 64) that ``model`` classifies as ``y`` (N,)."""
    return float((model(x).argmax(1) == y).double().mean())
