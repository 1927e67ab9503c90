"""The evidence lower bound and variational autoencoders (lecture 04).

The pieces of a VAE as pure functions -- :func:`reparameterize`, :func:`gaussian_kl_standard`,
:func:`elbo`, :func:`iwae_bound` -- and a small :class:`VAE` for the 8x8 digits built from them.

Contracts (every function here relies on them):

- prior: ``p(z) = N(0, I)`` in ``L`` dimensions.
- encoder: ``encoder(x) -> (mu, log_var)``, both ``(B, L)``, the mean and the log-variance of the
  diagonal Gaussian ``q(z | x) = N(mu, diag exp(log_var))``.
- decoder: ``decoder(z) -> torch.distributions.Distribution`` over one whole data point. For ``z`` of
  shape ``(..., B, L)`` its ``log_prob(x)``, with ``x`` of shape ``(B, D)``, returns ``(..., B)``: one
  ``log p(x | z)`` per latent, already summed over the pixels. Per-pixel distributions are wrapped in
  ``torch.distributions.Independent(pixelwise, 1)`` to get this (the decoders below do);
  :func:`elbo` and :func:`iwae_bound` raise ``ValueError`` if the shape is different.

All values are per example, in nats; the caller reduces (``-elbo(...).mean()`` is the loss).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import Bernoulli, Categorical, Distribution, Independent, Normal

from . import checks, nets
from .data import DIGITS_LEVELS

Encoder = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
Decoder = Callable[[torch.Tensor], Distribution]
_LOG_2PI = math.log(2 * math.pi)


# ----------------------------------------------------------------------------------------------
# The four pieces of the bound

def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One sample z ~ N(mu, diag exp(log_var)) written as a differentiable function of (mu, log_var).

    z = mu + exp(log_var / 2) * eps,   eps ~ N(0, I)   (exp(log_var / 2) is the standard deviation)
    Shapes: mu, log_var (...) -> z (...). Gradients flow to mu and log_var; randomness only in eps,
    drawn from ``generator`` when given. Lecture 04, section 6; lecture 05, section 2.
    """
    mu, log_var = _gaussian_params(mu, log_var)
    eps = checks.randn(mu.shape, mu, generator)
    return mu + torch.exp(0.5 * log_var) * eps


def gaussian_kl_standard(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(log_var)) || N(0, I)), summed over the latent (last) axis.

    KL = 1/2 sum_j ( exp(log_var_j) + mu_j^2 - 1 - log_var_j )
    Shapes: mu, log_var (..., L) -> (...), e.g. (B, L) -> (B,). Lecture 04, section 3.
    """
    mu, log_var = _gaussian_params(mu, log_var)
    if mu.ndim == 0:
        raise ValueError("mu and log_var must have a latent axis, shape (..., L); got scalars")
    return 0.5 * (log_var.exp() + mu ** 2 - 1 - log_var).sum(-1)


def elbo(x: torch.Tensor, encoder: Encoder, decoder: Decoder, k: int = 1,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-example evidence lower bound, reconstruction minus KL to the prior p(z) = N(0, I).

    ELBO(x) = E_{q(z|x)}[log p(x | z)] - KL(q(z | x) || p(z))
            ~ 1/k sum_{i=1..k} log p(x | z_i) - KL,   z_i = reparameterize(mu, log_var)
    with (mu, log_var) = encoder(x) and the KL in closed form (:func:`gaussian_kl_standard`).
    Shapes: x (B, D) -> (B,). Differentiable in the encoder's and the decoder's parameters.
    ELBO <= log p(x), with equality when q(z | x) is the exact posterior p(z | x) (lecture 04).
    """
    k = checks.positive_int(k, "k")
    mu, log_var = _encode(x, encoder)
    # (k, B, L): k reparameterized samples per example
    z = reparameterize(mu.expand(k, *mu.shape), log_var.expand(k, *log_var.shape), generator)
    reconstruction = _log_likelihood(decoder, z, x).mean(0)   # (k, B) -> (B,)
    return reconstruction - gaussian_kl_standard(mu, log_var)


def log_weights(x: torch.Tensor, encoder: Encoder, decoder: Decoder, k: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Importance log-weights log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x), z_i ~ q(z | x).

    Shapes: x (B, D) -> (k, B). E_q[w_i] = p(x), and mean_i log w_i is an unbiased ELBO estimate.
    """
    k = checks.positive_int(k, "k")
    mu, log_var = _encode(x, encoder)
    z = reparameterize(mu.expand(k, *mu.shape), log_var.expand(k, *log_var.shape), generator)  # (k, B, L)
    # log N(z; 0, I) and log N(z; mu, diag exp(log_var)), summed over the latent axis
    log_prior = -0.5 * (z ** 2 + _LOG_2PI).sum(-1)
    log_q = -0.5 * ((z - mu) ** 2 / log_var.exp() + log_var + _LOG_2PI).sum(-1)
    return _log_likelihood(decoder, z, x) + log_prior - log_q


def iwae_bound(x: torch.Tensor, encoder: Encoder, decoder: Decoder, k: int,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-example importance-weighted bound (IWAE) with k samples from q(z | x).

    IWAE_k(x) = log (1/k) sum_{i=1..k} w_i = logsumexp_i(log w_i) - log k,
        log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x)
    ELBO = IWAE_1 <= IWAE_k <= IWAE_{k+1} <= log p(x) in expectation, -> log p(x) as k -> infinity.
    Shapes: x (B, D) -> (B,). Use large k under ``torch.no_grad()`` to estimate log p(x).
    """
    log_w = log_weights(x, encoder, decoder, k, generator)   # (k, B)
    return torch.logsumexp(log_w, dim=0) - math.log(k)


# ----------------------------------------------------------------------------------------------
# A VAE for the 8x8 digits

@dataclass
class VAEConfig:
    """Hyperparameters of :class:`VAE`.

    likelihood: "categorical" (x holds integer levels 0..levels-1; one softmax over the levels per
    pixel, see :class:`CategoricalDecoder` for ``level_rank``), "bernoulli" (x in {0, 1}, e.g.
    ``binarize(x)``) or "gaussian" (x float in [0, 1], e.g. ``x / 16``; ``gaussian_std`` fixes the
    noise, None learns one standard deviation per pixel).
    """

    data_dim: int = 64
    latent_dim: int = 16
    hidden: int = 256
    likelihood: str = "categorical"
    levels: int = DIGITS_LEVELS
    level_rank: int | None = 4   # categorical logits through a shared level embedding; None: free
    gaussian_std: float | None = None
    beta: float = 1.0   # weight of the KL term in :meth:`VAE.loss` (1 = the ELBO)


class GaussianEncoder(nn.Module):
    """x (B, D) -> (mu, log_var), each (B, L): the diagonal Gaussian q(z | x). Inputs are divided by
    ``scale`` (16 for digit levels) before the MLP."""

    def __init__(self, data_dim: int, latent_dim: int, hidden: int, scale: float = 1.0):
        super().__init__()
        self.scale = scale
        self.net = nets.mlp([data_dim, hidden, hidden, 2 * latent_dim], activation=nn.LeakyReLU)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x.to(self.net[0].weight.dtype) / self.scale)   # (B, 2L)
        mu, log_var = h.chunk(2, dim=-1)
        return mu, log_var


class CategoricalDecoder(nn.Module):
    """z (..., L) -> Independent(Categorical over ``levels`` values per pixel, 1): log_prob(x) is (...).

    With ``rank`` None every pixel gets free logits (an MLP output of D * levels numbers). With a
    ``rank`` r the logits of pixel d are u_d(z) E + b_d: an r-vector per pixel times a level
    embedding E (r, levels) shared by all pixels, plus a bias per pixel and level. Neighbouring
    levels then get similar probabilities, which generalizes far better from 1000 images.
    """

    def __init__(self, latent_dim: int, data_dim: int, hidden: int, levels: int, rank: int | None = None):
        super().__init__()
        self.data_dim, self.levels, self.rank = data_dim, levels, rank
        if rank is None:
            self.net = nets.mlp([latent_dim, hidden, hidden, data_dim * levels], activation=nn.LeakyReLU)
        else:
            self.net = nets.mlp([latent_dim, hidden, hidden, data_dim * rank], activation=nn.LeakyReLU)
            self.level_embedding = nn.Parameter(0.3 * torch.randn(rank, levels))
            self.level_bias = nn.Parameter(torch.zeros(data_dim, levels))

    def forward(self, z: torch.Tensor) -> Distribution:
        if self.rank is None:
            logits = self.net(z).unflatten(-1, (self.data_dim, self.levels))   # (..., D, levels)
        else:
            u = self.net(z).unflatten(-1, (self.data_dim, self.rank))           # (..., D, r)
            logits = u @ self.level_embedding + self.level_bias                  # (..., D, levels)
        return Independent(Categorical(logits=logits), 1)


class BernoulliDecoder(nn.Module):
    """z (..., L) -> Independent(Bernoulli per pixel, 1) over x in {0, 1}^D."""

    def __init__(self, latent_dim: int, data_dim: int, hidden: int):
        super().__init__()
        self.net = nets.mlp([latent_dim, hidden, hidden, data_dim], activation=nn.LeakyReLU)

    def forward(self, z: torch.Tensor) -> Distribution:
        return Independent(Bernoulli(logits=self.net(z), validate_args=False), 1)


class GaussianDecoder(nn.Module):
    """z (..., L) -> Independent(Normal(f(z), std^2) per pixel, 1); std fixed or learned per pixel."""

    def __init__(self, latent_dim: int, data_dim: int, hidden: int, std: float | None = None):
        super().__init__()
        self.net = nets.mlp([latent_dim, hidden, hidden, data_dim], activation=nn.LeakyReLU)
        if std is None:
            self.log_std = nn.Parameter(torch.full((data_dim,), math.log(0.1)))
        else:
            std = checks.number(std, "std", low=0, open_low=True)
            self.register_buffer("log_std", torch.full((data_dim,), math.log(std)))

    def forward(self, z: torch.Tensor) -> Distribution:
        return Independent(Normal(self.net(z), self.log_std.exp()), 1)


class VAE(nn.Module):
    """Encoder, decoder and standard normal prior, trained by maximizing :func:`elbo`.

        model = VAE(VAEConfig(latent_dim=16))
        fit(model, VAE.loss, x_train, x_val, FitConfig(...))   # x: digits levels 0..16
    """

    def __init__(self, config: VAEConfig | None = None):
        super().__init__()
        c = self.config = config or VAEConfig()
        if c.likelihood == "categorical":
            self.encoder = GaussianEncoder(c.data_dim, c.latent_dim, c.hidden, scale=c.levels - 1)
            self.decoder = CategoricalDecoder(c.latent_dim, c.data_dim, c.hidden, c.levels, c.level_rank)
        elif c.likelihood == "bernoulli":
            self.encoder = GaussianEncoder(c.data_dim, c.latent_dim, c.hidden)
            self.decoder = BernoulliDecoder(c.latent_dim, c.data_dim, c.hidden)
        elif c.likelihood == "gaussian":
            self.encoder = GaussianEncoder(c.data_dim, c.latent_dim, c.hidden)
            self.decoder = GaussianDecoder(c.latent_dim, c.data_dim, c.hidden, c.gaussian_std)
        else:
            raise ValueError(f"likelihood must be 'categorical', 'bernoulli' or 'gaussian', got {c.likelihood!r}")

    def elbo(self, x: torch.Tensor, k: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-example ELBO (B,) of this model, see :func:`elbo`."""
        return elbo(x, self.encoder, self.decoder, k, generator)

    def iwae_bound(self, x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-example IWAE bound (B,), see :func:`iwae_bound`."""
        return iwae_bound(x, self.encoder, self.decoder, k, generator)

    def rate_distortion(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example (rate, distortion) = (KL(q(z|x) || p(z)), -E_q log p(x | z)), one sample; -ELBO = sum."""
        mu, log_var = self.encoder(x)
        z = reparameterize(mu, log_var, generator)
        return gaussian_kl_standard(mu, log_var), -self.decoder(z).log_prob(x)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Mean training loss of a batch: distortion + beta * rate (-ELBO when beta = 1)."""
        rate, distortion = self.rate_distortion(x)
        return (distortion + self.config.beta * rate).mean()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images from the model: z ~ N(0, I), x ~ p(x | z). Returns (n, D)."""
        p = next(self.parameters())
        z = checks.randn((checks.positive_int(n, "n"), self.config.latent_dim), p, generator)
        return self.decoder(z).sample()

    @torch.no_grad()
    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """The expected image E[x | z], (..., D) -- what the figures show (see :func:`expected_image`)."""
        return expected_image(self.decoder(z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean image of the decoder at the encoder's mean, (B, D) on [0, 1]."""
        mu, _ = self.encoder(x)
        return self.mean_image(mu)


def expected_image(dist: Distribution) -> torch.Tensor:
    """E[x] of a decoder's distribution, (..., D), on the scale [0, 1] for categorical and Bernoulli.

    Categorical levels 0..K-1 per pixel: sum_v v p(v) / (K - 1); Bernoulli and Normal: their mean
    (a Normal's mean is not clipped).
    """
    base = dist.base_dist if isinstance(dist, Independent) else dist
    if isinstance(base, Categorical):
        probs = base.probs                                             # (..., D, K)
        levels = torch.arange(probs.shape[-1], dtype=probs.dtype, device=probs.device)
        return (probs * levels).sum(-1) / (probs.shape[-1] - 1)
    return base.mean


def binarize(x: torch.Tensor, levels: int = DIGITS_LEVELS) -> torch.Tensor:
    """Digit levels 0..levels-1 -> {0., 1.} (ink where the level is at least half), for a Bernoulli decoder."""
    return (x >= (levels - 1) / 2).to(torch.get_default_dtype())


@torch.no_grad()
def latent_grid(decoder: Callable[[torch.Tensor], torch.Tensor], n: int, lim: float = 2.5,
                device: torch.device | str | None = None) -> torch.Tensor:
    """Decode an n x n grid of 2-D latents covering [-lim, lim]^2 (rows: z_2 from +lim down to -lim).

    ``decoder(z)`` maps latents (M, 2) to images (M, D), e.g. ``model.mean_image``, or to a
    distribution over images (a VAE decoder), whose :func:`expected_image` is used.
    Returns (n * n, D) in row-major order, ready for ``course_lib.plot.image_grid(..., nrow=n)``.
    """
    n = checks.positive_int(n, "n")
    lim = checks.number(lim, "lim", low=0, open_low=True)
    if device is None:  # follow the decoder's parameters when it has any
        owner = getattr(decoder, "__self__", decoder)
        params = list(owner.parameters()) if isinstance(owner, nn.Module) else []
        device = params[0].device if params else None
    ticks = torch.linspace(-lim, lim, n, device=device)
    z2, z1 = torch.meshgrid(ticks.flip(0), ticks, indexing="ij")   # (n, n) each
    z = torch.stack([z1.flatten(), z2.flatten()], dim=1)            # (n * n, 2)
    images = decoder(z)
    if isinstance(images, Distribution):
        images = expected_image(images)
    if not isinstance(images, torch.Tensor) or images.shape[0] != n * n:
        raise ValueError(f"decoder(z) must return images of shape ({n * n}, D), got {getattr(images, 'shape', None)}")
    return images


# ----------------------------------------------------------------------------------------------
# Checks particular to this module, below the formulas (the shared ones are in course_lib.checks):
# the contracts of (mu, log_var), the encoder and the decoder.

def _gaussian_params(mu, log_var) -> list[torch.Tensor]:
    """(mu, log_var) of a diagonal Gaussian: floating-point tensors of one shape on one device."""
    checks.tensor(mu, "mu", floating=True)
    checks.tensor(log_var, "log_var", floating=True)
    return checks.same_shape(mu=mu, log_var=log_var)


def _encode(x: torch.Tensor, encoder: Encoder) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, log_var) = encoder(x), both (B, L) for x (B, D)."""
    out = encoder(checks.matrix(x, "x", "(B, D)"))
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError("encoder(x) must return the tuple (mu, log_var)")
    mu, log_var = _gaussian_params(*out)
    if mu.ndim != 2 or mu.shape[0] != x.shape[0]:
        raise ValueError(f"encoder(x) must return mu and log_var of shape (B, L) = ({x.shape[0]}, L), "
                         f"got {tuple(mu.shape)}")
    return mu, log_var


def _log_likelihood(decoder: Decoder, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    dist = decoder(z)
    if not isinstance(dist, Distribution):
        raise TypeError(f"decoder(z) must return a torch.distributions.Distribution, got {type(dist).__name__}")
    log_px = dist.log_prob(x)
    if log_px.shape != z.shape[:-1]:
        raise ValueError(f"decoder(z).log_prob(x) must have shape {tuple(z.shape[:-1])} (one value per latent, "
                         f"summed over the pixels: wrap per-pixel distributions in Independent(..., 1)), "
                         f"got {tuple(log_px.shape)}")
    return log_px
