"""Normalizing flows (lecture 06): invertible layers with cheap log-determinants, and the flow they build.

Change of variables: if z = f(x) with f invertible and differentiable, then

    log p_X(x) = log p_Z(f(x)) + log |det df/dx (x)|.

Every layer here has one interface: ``forward(x) -> (z, log_det)`` with ``x, z: (B, D)`` and
``log_det: (B,)`` = log |det dz/dx| per example, and ``inverse(z) -> x``. A composition adds the
log-determinants (the determinant of a product of Jacobians is the product of the determinants).

- :class:`AffineCoupling`: the entries where ``mask`` is 1 pass unchanged and condition an affine map
  of the others (RealNVP); triangular Jacobian, log_det = the sum of the log-scales.
- :class:`SplineCoupling`: the same split, but each transformed entry goes through a monotone
  rational-quadratic spline (:func:`rational_quadratic_spline`, Durkan et al. 2019) whose knots are
  functions of the conditioning entries; log_det = the sum of the log-slopes.
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
import torch.nn.functional as F
from torch import nn

from course_lib import checks
from course_lib.nets import mlp

_LOG_2PI = math.log(2 * math.pi)
MIN_SLOPE = 1e-3                                    # the spline's smallest slope at a knot
_UNIT_SLOPE = math.log(math.expm1(1 - MIN_SLOPE))  # the raw slope that softplus(raw) + MIN_SLOPE maps to 1


def _batch(x, name: str, dim: int) -> torch.Tensor:
    checks.tensor(x, name, floating=True)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (B, {dim}), got {tuple(x.shape)}")
    return x


def _check_mask(mask, dim: int) -> None:
    checks.tensor(mask, "mask")
    if mask.shape != (dim,) or not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"mask must be a 0/1 tensor of shape ({dim},), got {mask.tolist()}")
    if bool((mask == 1).all()) or bool((mask == 0).all()):
        raise ValueError(f"mask must hold both 0s and 1s, got {mask.tolist()}")


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
        _check_mask(mask, dim)
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


def rational_quadratic_spline(x: torch.Tensor, widths: torch.Tensor, heights: torch.Tensor, slopes: torch.Tensor,
                              bound: float, inverse: bool = False, min_bin: float = 1e-3,
                              min_slope: float = MIN_SLOPE) -> tuple[torch.Tensor, torch.Tensor]:
    """A monotone rational-quadratic spline on [-bound, bound], the identity outside (Durkan et al. 2019).

    ``x``: (...) values; ``widths``, ``heights``: (..., K) unnormalised bin sizes (a softmax, with
    every bin at least ``min_bin`` of the interval, turns them into K bins whose knots run from
    -bound to bound in both x and y); ``slopes``: (..., K - 1) unconstrained derivatives at the K - 1
    inner knots (softplus + ``min_slope``; the two end knots have slope 1, so the curve joins the
    identity tails smoothly). In bin k, with xi = (x - x_k) / w_k in [0, 1] and s_k = h_k / w_k,

        y = y_k + h_k (s_k xi^2 + d_k xi (1 - xi)) / (s_k + (d_k + d_{k+1} - 2 s_k) xi (1 - xi)),

    increasing in x; its inverse solves a quadratic in xi. Returns ``(y, log dy/dx)`` (both shaped
    like x), or with ``inverse=True`` ``(x, log dx/dy)`` for the given y.
    """
    checks.tensor(x, "x", floating=True)
    widths, heights, slopes = (checks.float_like(t, n, x) for t, n in
                               ((widths, "widths"), (heights, "heights"), (slopes, "slopes")))
    if min(widths.ndim, heights.ndim, slopes.ndim) < 1:
        raise ValueError("widths, heights and slopes need a last dimension of bins (K, K, K - 1)")
    bins = widths.shape[-1]
    if bins < 2 or heights.shape[-1] != bins or slopes.shape[-1] != bins - 1:
        raise ValueError(f"widths, heights must have K >= 2 entries and slopes K - 1 in their last dimension, got "
                         f"{widths.shape[-1]}, {heights.shape[-1]}, {slopes.shape[-1]}")
    bound = checks.number(bound, "bound", low=0.0, open_low=True)
    if not 0 < min_bin * bins < 1:
        raise ValueError(f"min_bin must be in (0, 1/K) for K = {bins} bins, got {min_bin}")

    def knots(raw):  # (..., K) -> (..., K + 1) knot positions from -bound to bound, and the K bin sizes
        size = min_bin + (1 - min_bin * bins) * torch.softmax(raw, dim=-1)
        inner = torch.cumsum(size[..., :-1], dim=-1) * 2 * bound - bound
        end = torch.full_like(inner[..., :1], bound)
        edges = torch.cat([-end, inner, end], dim=-1)                                   # exact ends
        return edges, edges[..., 1:] - edges[..., :-1]

    try:
        lead = torch.broadcast_shapes(x.shape, widths.shape[:-1], heights.shape[:-1], slopes.shape[:-1])
    except RuntimeError:
        raise ValueError(f"x {tuple(x.shape)} and the leading dimensions of widths {tuple(widths.shape)}, heights "
                         f"{tuple(heights.shape)}, slopes {tuple(slopes.shape)} must broadcast") from None
    x = x.expand(lead)
    widths, heights, slopes = (t.expand(*lead, t.shape[-1]) for t in (widths, heights, slopes))
    xs, w = knots(widths)
    ys, h = knots(heights)
    d = F.pad(min_slope + F.softplus(slopes), (1, 1), value=1.0)                    # (..., K + 1)
    inside = (x >= -bound) & (x <= bound)
    v = x.clamp(-bound, bound)
    k = torch.searchsorted((ys if inverse else xs).contiguous(), v[..., None].contiguous(), right=True)
    k = (k - 1).clamp(0, bins - 1)                                                   # the bin of v
    x_k, y_k, w_k, h_k = (t.gather(-1, k)[..., 0] for t in (xs, ys, w, h))
    d_k, d_k1 = d[..., :-1].gather(-1, k)[..., 0], d[..., 1:].gather(-1, k)[..., 0]
    s_k = h_k / w_k
    c = d_k + d_k1 - 2 * s_k
    if inverse:  # a xi^2 + b xi + c0 = 0 with the root in [0, 1], in its cancellation-free form
        dy = v - y_k
        a, b, c0 = h_k * (s_k - d_k) + dy * c, h_k * d_k - dy * c, -s_k * dy
        xi = (2 * c0) / (-b - torch.sqrt((b * b - 4 * a * c0).clamp(min=0)))
        out = x_k + xi * w_k
    else:
        xi = (v - x_k) / w_k
    t = xi * (1 - xi)
    denominator = s_k + c * t
    log_slope = (2 * torch.log(s_k) + torch.log(d_k1 * xi ** 2 + 2 * s_k * t + d_k * (1 - xi) ** 2)
                 - 2 * torch.log(denominator))                                       # log dy/dx at xi
    if not inverse:
        out = y_k + h_k * (s_k * xi ** 2 + d_k * t) / denominator
    else:
        log_slope = -log_slope
    return torch.where(inside, out, x), torch.where(inside, log_slope, torch.zeros_like(log_slope))


class SplineCoupling(nn.Module):
    """Coupling layer with a monotone spline: z = x where mask = 1, z_i = g_i(x_i) where mask = 0.

    Each g_i is a :func:`rational_quadratic_spline` with ``bins`` bins on [-bound, bound] (identity
    outside); its 3 * bins - 1 parameters come from an MLP of the conditioning entries m * x, so the
    Jacobian is triangular and log |det dz/dx| = sum over {m = 0} of log g_i'(x_i). Where an affine
    coupling can only shift and scale x_i, a spline can bend it, e.g. split one mode into several in
    one step. The last layer of the MLP starts at zero and the slopes at 1, so a new coupling is the
    identity. Shapes: (B, dim) -> (B, dim), (B,).
    """

    def __init__(self, dim: int, mask: torch.Tensor, hidden: int = 64, bins: int = 8, bound: float = 4.0):
        super().__init__()
        dim = checks.positive_int(dim, "dim", minimum=2)
        hidden = checks.positive_int(hidden, "hidden")
        self.bins = checks.positive_int(bins, "bins", minimum=2)
        self.bound = checks.number(bound, "bound", low=0.0, open_low=True)
        _check_mask(mask, dim)
        self.dim = dim
        self.register_buffer("mask", mask.detach().clone().float())
        self.net = mlp([dim, hidden, hidden, dim * (3 * self.bins - 1)], activation=nn.SiLU)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _spline(self, v: torch.Tensor, inverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        _batch(v, "z" if inverse else "x", self.dim)
        keep = self.mask.to(v.dtype)
        params = self.net(keep * v).view(v.shape[0], self.dim, 3 * self.bins - 1)
        widths, heights, raw = params.split([self.bins, self.bins, self.bins - 1], dim=-1)
        slopes = raw + _UNIT_SLOPE                                      # slope softplus(.) + MIN_SLOPE = 1 at zero
        out, log_slope = rational_quadratic_spline(v, widths, heights, slopes, self.bound, inverse=inverse)
        kept = keep.bool()
        return torch.where(kept, v, out), ((1 - keep) * log_slope).sum(dim=-1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._spline(x, inverse=False)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return self._spline(z, inverse=True)[0]


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
            generator: torch.Generator | None = None, actnorm: bool = True, coupling: str = "affine",
            bins: int = 8) -> Flow:
    """A RealNVP-style flow: ``first`` layers, then n_layers x [ActNorm, coupling, Permute].

    ``coupling``: "affine" (:class:`AffineCoupling`) or "spline" (:class:`SplineCoupling` with
    ``bins`` bins). Every coupling keeps the even coordinates and transforms the odd ones; the
    permutation after it (random, drawn from ``generator``, when dim > 2; a reversal in 2-D) decides
    which coordinates the next coupling transforms. (Alternating the mask *and* reversing would
    transform the same half twice.)
    """
    if coupling not in ("affine", "spline"):
        raise ValueError(f"coupling must be 'affine' or 'spline', got {coupling!r}")
    layers = list(first or [])
    keep_even = (torch.arange(dim) % 2 == 0).float()
    for _ in range(checks.positive_int(n_layers, "n_layers")):
        if actnorm:
            layers.append(ActNorm(dim))
        layers.append(AffineCoupling(dim, keep_even, hidden) if coupling == "affine"
                      else SplineCoupling(dim, keep_even, hidden, bins))
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
