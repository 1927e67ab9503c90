"""Normalizing flows (lecture 06): invertible layers with cheap log-determinants, and the flow they build.

Change of variables: if z = f(x) with f invertible and differentiable, then

    log p_X(x) = log p_Z(f(x)) + log |det df/dx (x)|.

Every layer here has one interface: ``forward(x) -> (z, log_det)`` with ``x, z: (B, D)`` and
``log_det: (B,)`` = log |det dz/dx| per example, and ``inverse(z) -> x``. A composition adds the
log-determinants (the determinant of a product of Jacobians is the product of the determinants).

- :class:`AffineCoupling`: the entries where ``mask`` is 1 pass unchanged and condition an affine map
  of the others (RealNVP); triangular Jacobian, log_det = the sum of the log-scales.
- :class:`Reverse`, :class:`Permute`: reorder the coordinates (log_det = 0).
- :class:`ActNorm`: a per-coordinate affine map, initialised from the first batch (Glow).
- :class:`Gaussianize`: a fixed per-coordinate map through a histogram's CDF and the normal quantile;
  alone, it *is* the independent-pixel model (lecture 06, section 5).
- :class:`Flow`: layers + base distribution, with ``log_prob(x)`` and ``sample(n, generator)``.
- :func:`dequantize` and :func:`dequantized_nll` for integer-valued images.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from course_lib import checks
from course_lib.nets import mlp

_LOG_2PI = math.log(2 * math.pi)


def _batch(x, name: str, dim: int) -> torch.Tensor:
    checks.tensor(x, name, floating=True)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (B, {dim}), got {tuple(x.shape)}")
    return x


class AffineCoupling(nn.Module):
    """Affine coupling layer: z = m * x + (1 - m) * (x * exp(s(m * x)) + t(m * x)).

    ``mask`` m: 0/1 tensor (dim,); where m = 1, z = x (those entries condition the rest); where
    m = 0, x is scaled and shifted by functions of the conditioning entries only. The Jacobian is
    triangular (after sorting the coordinates: unchanged first), so
    log |det dz/dx| = sum over {m = 0} of s(m * x). s = tanh(raw) * scale keeps each step bounded;
    the last layer starts at zero, so a new coupling is the identity.
    ``hidden``: width of the two hidden layers of the conditioner MLP. Shapes: (B, dim) -> (B, dim), (B,).
    """

    def __init__(self, dim: int, mask: torch.Tensor, hidden: int = 64):
        super().__init__()
        dim = checks.positive_int(dim, "dim", minimum=2)
        hidden = checks.positive_int(hidden, "hidden")
        checks.tensor(mask, "mask")
        if mask.shape != (dim,) or not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError(f"mask must be a 0/1 tensor of shape ({dim},), got {mask.tolist()}")
        if bool((mask == 1).all()) or bool((mask == 0).all()):
            raise ValueError(f"mask must hold both 0s and 1s, got {mask.tolist()}")
        self.dim = dim
        self.register_buffer("mask", mask.detach().clone().float())
        self.net = mlp([dim, hidden, hidden, 2 * dim], activation=nn.SiLU)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.ones(dim))

    def _shift_scale(self, conditioning: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = self.mask.to(conditioning.dtype)
        raw_s, t = self.net(conditioning).chunk(2, dim=-1)          # (B, dim) each
        s = (1 - mask) * self.scale * torch.tanh(raw_s)              # 0 where mask = 1
        return s, (1 - mask) * t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _batch(x, "x", self.dim)
        mask = self.mask.to(x.dtype)
        s, t = self._shift_scale(mask * x)
        # z = x on the mask, x * exp(s) + t elsewhere (s = t = 0 on the mask)
        z = x * torch.exp(s) + t
        return z, s.sum(dim=-1)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        _batch(z, "z", self.dim)
        mask = self.mask.to(z.dtype)
        s, t = self._shift_scale(mask * z)                           # m * z = m * x
        return (z - t) * torch.exp(-s)


class Permute(nn.Module):
    """z = x[:, perm]: a fixed reordering of the coordinates, log_det = 0.

    ``Permute(dim, generator=None)`` draws a random permutation; ``Permute(perm=...)`` takes one.
    Shapes: (B, dim) -> (B, dim), (B,).
    """

    def __init__(self, dim: int | None = None, generator: torch.Generator | None = None,
                 perm: torch.Tensor | None = None):
        super().__init__()
        if perm is None:
            dim = checks.positive_int(dim, "dim")
            perm = torch.randperm(dim, generator=checks.generator(generator))
        checks.tensor(perm, "perm")
        if perm.ndim != 1 or not torch.equal(perm.sort().values.cpu(), torch.arange(len(perm))):
            raise ValueError(f"perm must be a permutation of 0..{len(perm) - 1}, got {perm.tolist()}")
        self.dim = len(perm)
        self.register_buffer("perm", perm.long().clone())
        self.register_buffer("inv_perm", torch.argsort(self.perm))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _batch(x, "x", self.dim)
        return x[:, self.perm], x.new_zeros(x.shape[0])

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        _batch(z, "z", self.dim)
        return z[:, self.inv_perm]


class Reverse(Permute):
    """z = x in reverse order (x_D, ..., x_1), log_det = 0. Shapes: (B, dim) -> (B, dim), (B,)."""

    def __init__(self, dim: int):
        dim = checks.positive_int(dim, "dim")
        super().__init__(perm=torch.arange(dim - 1, -1, -1))


class ActNorm(nn.Module):
    """Per-coordinate affine map z = (x - loc) * exp(log_scale), log_det = sum(log_scale) per example.

    The first ``forward`` in training mode sets loc and log_scale so that this batch leaves with mean
    0 and standard deviation 1 per coordinate (data-dependent initialisation, Glow); afterwards both
    are ordinary parameters. Shapes: (B, dim) -> (B, dim), (B,).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = checks.positive_int(dim, "dim")
        self.loc = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _batch(x, "x", self.dim)
        if self.training and not bool(self.initialized) and x.shape[0] > 1:
            with torch.no_grad():
                self.loc.copy_(x.mean(dim=0))
                self.log_scale.copy_(-torch.log(x.std(dim=0) + 1e-6))
                self.initialized.fill_(True)
        z = (x - self.loc) * torch.exp(self.log_scale)
        return z, self.log_scale.sum().expand(x.shape[0])

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        _batch(z, "z", self.dim)
        return z * torch.exp(-self.log_scale) + self.loc


class Gaussianize(nn.Module):
    """Fixed per-coordinate map z_i = Phi^{-1}(F_i(x_i)) for x in [0, 1)^D.

    F_i is the CDF of the histogram density f_i(x) = levels * probs[i, k] on bin k = floor(levels x)
    (piecewise linear), Phi the standard normal CDF. Per example
    log_det = sum_i [log f_i(x_i) - log N(z_i; 0, 1)], so with a N(0, I) base and nothing else the
    flow's density is the product of the histograms: the independent-pixel model.
    ``probs``: (D, levels), rows summing to 1, all > 0. Shapes: (B, D) -> (B, D), (B,).
    """

    def __init__(self, probs: torch.Tensor, eps: float = 1e-6):
        super().__init__()
        checks.tensor(probs, "probs", floating=True)
        if probs.ndim != 2:
            raise ValueError(f"probs must have shape (D, levels), got {tuple(probs.shape)}")
        checks.positive(probs, "probs")
        self.dim, self.levels = probs.shape
        probs = probs / probs.sum(dim=1, keepdim=True)
        self.register_buffer("probs", probs)
        self.register_buffer("cdf", torch.cat([probs.new_zeros(self.dim, 1), probs.cumsum(1)], 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _batch(x, "x", self.dim)
        probs, cdf = self.probs.to(x.dtype), self.cdf.to(x.dtype)
        k = (x * self.levels).floor().clamp(0, self.levels - 1).long().T             # (D, B)
        p = probs.gather(1, k).T                                                        # (B, D)
        # F(x) = C_k + p_k (levels x - k), clipped away from 0 and 1 so that z stays finite
        u = (cdf.gather(1, k).T + p * (x * self.levels - k.T)).clamp(self.eps, 1 - self.eps)
        z = math.sqrt(2) * torch.erfinv(2 * u - 1)
        log_normal = -0.5 * z ** 2 - 0.5 * _LOG_2PI
        return z, (torch.log(p * self.levels) - log_normal).sum(dim=-1)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        _batch(z, "z", self.dim)
        probs, cdf = self.probs.to(z.dtype), self.cdf.to(z.dtype)
        u = 0.5 * (1 + torch.erf(z / math.sqrt(2)))                                     # Phi(z)
        k = (torch.searchsorted(cdf[:, 1:].contiguous(), u.T.contiguous(), right=True)
             .clamp(max=self.levels - 1))                                               # (D, B)
        x = (k + (u.T - cdf.gather(1, k)) / probs.gather(1, k)) / self.levels
        return x.T


class StandardNormal(nn.Module):
    """Base distribution N(0, I) in ``dim`` dimensions: ``log_prob(z): (B, dim) -> (B,)``,
    ``sample(n, generator, temperature) -> (n, dim)`` = temperature * N(0, I) noise."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = checks.positive_int(dim, "dim")
        self.register_buffer("anchor", torch.zeros(()))  # follows .to(device) and .double()

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z ** 2).sum(dim=-1) - 0.5 * self.dim * _LOG_2PI

    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0):
        return temperature * checks.randn((n, self.dim), self.anchor, generator)


class Flow(nn.Module):
    """A normalizing flow: x -> layers[0] -> ... -> layers[-1] -> z, with z ~ ``base``.

    log p(x) = base.log_prob(z) + sum_l log_det_l(x). ``base`` must have ``log_prob(z) -> (B,)`` and
    ``sample(n, generator)`` (e.g. :class:`StandardNormal`). ``forward`` returns (z, total log_det),
    so a Flow is itself a layer. Shapes: x (B, D) -> (B,) for log_prob; sample: (n, D).
    """

    def __init__(self, layers, base: nn.Module):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        if not (hasattr(base, "log_prob") and hasattr(base, "sample")):
            raise TypeError(f"base must have log_prob and sample, got {type(base).__name__}")
        self.base = base

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        checks.tensor(x, "x", floating=True, min_dim=2)
        log_det = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        z, log_det = self(x)
        return self.base.log_prob(z) + log_det

    def steps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[x, after layer 1, ..., after the last layer = z]: the path of points through the flow."""
        out = [x]
        for layer in self.layers:
            out.append(layer(out[-1])[0])
        return out

    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0):
        """n samples x = f^{-1}(z), z = temperature * N(0, I) noise. Shape (n, D)."""
        n = checks.positive_int(n, "n")
        temperature = checks.number(temperature, "temperature", low=0.0)
        return self.inverse(self.base.sample(n, checks.generator(generator), temperature=temperature))


def realnvp(dim: int, n_layers: int, hidden: int, first: list[nn.Module] | None = None,
            generator: torch.Generator | None = None, actnorm: bool = True) -> Flow:
    """A RealNVP-style flow: ``first`` layers, then n_layers x [ActNorm, AffineCoupling, Permute].

    Every coupling keeps the even coordinates and transforms the odd ones; the permutation after it
    (random, drawn from ``generator``, when dim > 2; a reversal in 2-D) decides which coordinates the
    next coupling transforms. (Alternating the mask *and* reversing would transform the same half twice.)
    """
    layers = list(first or [])
    keep_even = (torch.arange(dim) % 2 == 0).float()
    for _ in range(checks.positive_int(n_layers, "n_layers")):
        if actnorm:
            layers.append(ActNorm(dim))
        layers.append(AffineCoupling(dim, keep_even, hidden))
        layers.append(Reverse(dim) if dim == 2 else Permute(dim, generator))
    return Flow(layers, StandardNormal(dim))


def dequantize(x: torch.Tensor, levels: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform dequantization: y = (x + u) / levels, u ~ U[0, 1)^D, so y lies in [0, 1)^D.

    ``x``: integers 0..levels-1, any shape (int or float dtype) -> float tensor of that shape.
    Log-probability correction: the pixel value x owns the box [x, x + 1) / levels of volume
    levels^-D, so for any density p on y, by Jensen,
        log P(x) = log int_box p(y) dy >= E_u[log p(y)] - D log(levels),
    and the dequantized NLL in nats per image is -log p(y) + D log(levels) (see :func:`dequantized_nll`).
    """
    checks.tensor(x, "x")
    levels = checks.positive_int(levels, "levels", minimum=2)
    if bool((x < 0).any()) or bool((x > levels - 1).any()) or bool((x != x.round()).any()):
        raise ValueError(f"x must hold integers 0..{levels - 1}, got values in [{x.min().item()}, {x.max().item()}]")
    like = x if x.dtype.is_floating_point else x.to(torch.get_default_dtype())
    return (like + checks.rand(x.shape, like, generator)) / levels


def dequantized_nll(flow: Flow, x: torch.Tensor, levels: int, generator: torch.Generator | None = None,
                    samples: int = 1) -> torch.Tensor:
    """Upper bound on -log P(x) in nats per example: -mean over u of log p(dequantize(x)) + D log(levels).

    ``x``: (B, D) integers 0..levels-1 -> (B,). ``samples`` draws of u are averaged.
    """
    samples = checks.positive_int(samples, "samples")
    total = sum(flow.log_prob(dequantize(x, levels, generator)) for _ in range(samples)) / samples
    return -total + x.shape[1] * math.log(levels)


def pixel_histogram(x: torch.Tensor, levels: int, alpha: float = 1.0) -> torch.Tensor:
    """Per-pixel level frequencies with add-``alpha`` smoothing: (N, D) integers -> (D, levels) float64.

    probs[i, k] = (#{n: x[n, i] = k} + alpha) / (N + alpha * levels).
    """
    checks.tensor(x, "x", min_dim=2)
    levels = checks.positive_int(levels, "levels", minimum=2)
    alpha = checks.number(alpha, "alpha", low=0.0, open_low=True)
    counts = torch.nn.functional.one_hot(x.long(), levels).sum(dim=0).double()      # (D, levels)
    return (counts + alpha) / (x.shape[0] + alpha * levels)


def ring_log_prob(x: torch.Tensor, k: int = 8, radius: float = 2.0, std: float = 0.2) -> torch.Tensor:
    """Exact log-density of ``course_lib.data.ring_of_gaussians``: (B, 2) -> (B,).

    log p(x) = logsumexp_j [log N(x; m_j, std^2 I)] - log k, m_j = radius (cos 2 pi j / k, sin 2 pi j / k).
    """
    _batch(x, "x", 2)
    angle = 2 * math.pi * torch.arange(k, dtype=x.dtype, device=x.device) / k
    means = radius * torch.stack([angle.cos(), angle.sin()], dim=1)                  # (k, 2)
    sq = ((x[:, None, :] - means) ** 2).sum(-1)                                        # (B, k)
    log_n = -0.5 * sq / std ** 2 - math.log(2 * math.pi * std ** 2)
    return torch.logsumexp(log_n, dim=1) - math.log(k)
