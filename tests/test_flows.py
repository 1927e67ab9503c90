"""course_lib.flows against autograd Jacobians, torch.distributions and numerical integration."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal, Normal

from course_lib.flows import (
    ActNorm,
    AffineCoupling,
    Flow,
    Gaussianize,
    Permute,
    Reverse,
    SplineCoupling,
    StandardNormal,
    dequantize,
    dequantized_nll,
    pixel_histogram,
    rational_quadratic_spline,
    realnvp,
    ring_log_prob,
)


def _randomized(layer: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """The layer in float64 with every parameter random (a new coupling starts as the identity)."""
    g = torch.Generator().manual_seed(seed)
    layer = layer.double()
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    return layer


def _jacobian_logdet(layer, x: torch.Tensor) -> torch.Tensor:
    """log |det dz/dx| of each row of x, from the autograd Jacobian (an independent oracle)."""
    out = []
    for row in x:
        jac = torch.autograd.functional.jacobian(lambda r: layer(r[None])[0][0], row)
        out.append(torch.linalg.slogdet(jac).logabsdet)
    return torch.stack(out)


def _layers(dim: int):
    mask = (torch.arange(dim) % 3 == 0).float()
    act = ActNorm(dim)
    act.initialized.fill_(True)
    probs = torch.rand(dim, 5, generator=torch.Generator().manual_seed(3)).double() + 0.1
    return {"coupling": AffineCoupling(dim, mask, 16), "spline": SplineCoupling(dim, mask, 16, bins=5, bound=2.0),
            "spline flow": realnvp(dim, 2, 8, generator=torch.Generator().manual_seed(5), coupling="spline"),
            "permute": Permute(dim, torch.Generator().manual_seed(1)),
            "reverse": Reverse(dim), "actnorm": act, "gaussianize": Gaussianize(probs),
            "flow": realnvp(dim, 3, 8, generator=torch.Generator().manual_seed(2))}


@pytest.mark.parametrize("name", ["coupling", "spline", "spline flow", "permute", "reverse", "actnorm", "gaussianize",
                                  "flow"])
def test_log_det_is_the_log_abs_det_of_the_autograd_jacobian(name):
    dim = 5
    layer = _layers(dim)[name]
    if name != "gaussianize":
        layer = _randomized(layer)
    layer = layer.double().eval()
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(7, dim, generator=g, dtype=torch.float64) if name == "gaussianize"
         else torch.randn(7, dim, generator=g, dtype=torch.float64))
    z, log_det = layer(x)
    assert z.shape == (7, dim) and log_det.shape == (7,) and z.dtype == torch.float64
    torch.testing.assert_close(log_det, _jacobian_logdet(layer, x), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(layer.inverse(z), x, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", [AffineCoupling, SplineCoupling])
def test_coupling_passes_the_masked_entries_and_they_alone_condition_the_rest(kind):
    dim = 6
    mask = torch.tensor([1, 0, 0, 1, 0, 1.])
    layer = _randomized(kind(dim, mask, 16))
    x = torch.randn(3, dim, dtype=torch.float64)
    z, _ = layer(x)
    assert torch.equal(z[:, mask == 1], x[:, mask == 1])
    jac = torch.autograd.functional.jacobian(lambda r: layer(r[None])[0][0], x[0])   # jac[i, j] = dz_i/dx_j
    free = mask == 0
    # a transformed entry depends on itself (diagonal) and on the masked entries, never on another free one
    off = jac[free][:, free] - torch.diag(torch.diag(jac[free][:, free]))
    assert off.abs().max() == 0
    assert jac[free][:, mask == 1].abs().max() > 0


@pytest.mark.parametrize("kind", [AffineCoupling, SplineCoupling])
def test_a_new_coupling_is_the_identity(kind):
    layer = kind(4, torch.tensor([1, 1, 0, 0.]), 8).double()
    x = 3 * torch.randn(50, 4, dtype=torch.float64)
    z, log_det = layer(x)
    torch.testing.assert_close(z, x, rtol=0, atol=1e-12)
    torch.testing.assert_close(log_det, torch.zeros(50, dtype=torch.float64), rtol=0, atol=1e-12)


def _spline_params(shape, bins, seed):
    g = torch.Generator().manual_seed(seed)
    return [2 * torch.randn(*shape, n, generator=g, dtype=torch.float64) for n in (bins, bins, bins - 1)]


def test_the_spline_is_increasing_from_corner_to_corner_and_the_identity_outside():
    bound = 3.0
    widths, heights, slopes = _spline_params((), 6, seed=1)
    x = torch.linspace(-5, 5, 20001, dtype=torch.float64)
    y, log_slope = rational_quadratic_spline(x, widths, heights, slopes, bound)
    assert bool((y[1:] > y[:-1]).all())                                      # strictly increasing
    outside = x.abs() > bound
    assert torch.equal(y[outside], x[outside]) and torch.equal(log_slope[outside], torch.zeros_like(x[outside]))
    ends, _ = rational_quadratic_spline(torch.tensor([-bound, bound], dtype=torch.float64), widths, heights, slopes, bound)
    torch.testing.assert_close(ends, torch.tensor([-bound, bound], dtype=torch.float64), rtol=0, atol=1e-12)
    # the slope from finite differences of y (an oracle that never looks at log_slope's formula)
    # (away from x = +-bound, where the curvature jumps and a central difference straddles the jump;
    # the slope itself is 1 on both sides there)
    fd = (y[2:] - y[:-2]) / (x[2:] - x[:-2])
    smooth = ((x[1:-1].abs() - bound).abs() > 1e-3)
    torch.testing.assert_close(fd[smooth], log_slope[1:-1][smooth].exp(), rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(log_slope[(x.abs() - bound).abs() < 1e-12].exp(),
                               torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-9)


def test_the_spline_passes_through_its_knots_with_their_slopes():
    """Knots from the documented recipe: bins of size min_bin + (1 - K min_bin) softmax, slopes softplus + min."""
    bound, bins, min_bin = 2.0, 5, 1e-3
    widths, heights, slopes = _spline_params((), bins, seed=2)
    xk = -bound + 2 * bound * torch.cat([torch.zeros(1, dtype=torch.float64),
                                         (min_bin + (1 - bins * min_bin) * widths.softmax(-1)).cumsum(-1)])
    yk = -bound + 2 * bound * torch.cat([torch.zeros(1, dtype=torch.float64),
                                         (min_bin + (1 - bins * min_bin) * heights.softmax(-1)).cumsum(-1)])
    y, log_slope = rational_quadratic_spline(xk[1:-1], widths, heights, slopes, bound)
    torch.testing.assert_close(y, yk[1:-1], rtol=0, atol=1e-12)
    torch.testing.assert_close(log_slope.exp(), torch.nn.functional.softplus(slopes) + 1e-3, rtol=1e-9, atol=1e-12)


def _on_page_spline(x, widths, heights, slopes, bound):
    """The spline as lecture 06 writes it on the page (section 4), repeated as the oracle: x in [-bound, bound]."""
    bins = widths.shape[0]

    def knots(raw):
        size = 1e-3 + (1 - bins * 1e-3) * torch.softmax(raw, dim=0)
        return -bound + 2 * bound * torch.cat([size.new_zeros(1), size.cumsum(0)])
    xk, yk = knots(widths), knots(heights)
    one = slopes.new_ones(1)
    d = torch.cat([one, torch.nn.functional.softplus(slopes) + 1e-3, one])
    k = (torch.searchsorted(xk, x, right=True) - 1).clamp(0, bins - 1)
    w, h = xk[k + 1] - xk[k], yk[k + 1] - yk[k]
    s, xi = h / w, (x - xk[k]) / w
    return yk[k] + h * (s * xi ** 2 + d[k] * xi * (1 - xi)) / (s + (d[k] + d[k + 1] - 2 * s) * xi * (1 - xi))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_lectures_on_page_spline_agrees_with_the_library(seed):
    widths, heights, slopes = _spline_params((), 6, seed=10 + seed)
    x = torch.empty(500, dtype=torch.float64).uniform_(-3, 3, generator=torch.Generator().manual_seed(seed))
    y, _ = rational_quadratic_spline(x, widths, heights, slopes, 3.0)
    torch.testing.assert_close(y, _on_page_spline(x, widths, heights, slopes, 3.0), rtol=0, atol=1e-12)


def test_the_spline_inverse_undoes_it_and_broadcasts_over_leading_dimensions():
    widths, heights, slopes = _spline_params((4, 1), 7, seed=3)
    x = 3 * torch.randn(4, 9, dtype=torch.float64)
    y, log_slope = rational_quadratic_spline(x, widths, heights, slopes, 2.5)
    assert y.shape == log_slope.shape == (4, 9)
    back, log_back = rational_quadratic_spline(y, widths, heights, slopes, 2.5, inverse=True)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_back, -log_slope, rtol=0, atol=1e-9)   # dx/dy = 1 / (dy/dx)
    for i in range(4):   # each row uses its own spline (the broadcast (4, 1, K) parameters)
        row, _ = rational_quadratic_spline(x[i], widths[i, 0], heights[i, 0], slopes[i, 0], 2.5)
        torch.testing.assert_close(row, y[i], rtol=0, atol=0)


def test_the_spline_follows_float32_and_its_bad_arguments_are_named():
    widths, heights, slopes = (t.float() for t in _spline_params((), 4, seed=4))
    y, log_slope = rational_quadratic_spline(torch.randn(6), widths, heights, slopes, 1.0)
    assert y.dtype == log_slope.dtype == torch.float32
    with pytest.raises(ValueError, match="slopes"):
        rational_quadratic_spline(torch.randn(6), widths, heights, slopes[:-1], 1.0)
    with pytest.raises(ValueError, match="bound"):
        rational_quadratic_spline(torch.randn(6), widths, heights, slopes, 0.0)
    with pytest.raises(ValueError, match="broadcast"):
        rational_quadratic_spline(torch.randn(6), widths.expand(3, 4), heights, slopes, 1.0)
    with pytest.raises(ValueError, match="bins"):
        SplineCoupling(2, torch.tensor([1, 0]), 8, bins=1)
    with pytest.raises(ValueError, match="mask"):
        SplineCoupling(2, torch.tensor([1, 1]), 8)
    with pytest.raises(ValueError, match="coupling"):
        realnvp(2, 1, 4, coupling="additive")


def test_actnorm_initialises_on_the_first_batch_to_zero_mean_unit_std():
    layer = ActNorm(3)
    x = 5 + 3 * torch.randn(200, 3, dtype=torch.float64)
    layer = layer.double()
    z, log_det = layer(x)
    torch.testing.assert_close(z.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(z.std(0), torch.ones(3, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(log_det, -torch.log(x.std(0)).sum().expand(200), atol=1e-5, rtol=0)


def test_flow_of_an_affine_layer_is_a_gaussian():
    """ActNorm alone with N(0, I) base: x = loc + exp(-log_scale) z is N(loc, diag exp(-2 log_scale))."""
    act = ActNorm(2).double()
    act.initialized.fill_(True)
    with torch.no_grad():
        act.loc.copy_(torch.tensor([1.0, -2.0]))
        act.log_scale.copy_(torch.tensor([0.3, -0.7]))
    flow = Flow([act], StandardNormal(2)).double()
    x = torch.randn(10, 2, dtype=torch.float64)
    oracle = Independent(Normal(act.loc.detach(), torch.exp(-act.log_scale.detach())), 1)
    torch.testing.assert_close(flow.log_prob(x), oracle.log_prob(x))
    s = flow.sample(20000, torch.Generator().manual_seed(0))
    assert s.shape == (20000, 2)
    torch.testing.assert_close(s.mean(0), act.loc.detach(), atol=0.05, rtol=0)
    torch.testing.assert_close(s.std(0), torch.exp(-act.log_scale.detach()), atol=0.05, rtol=0)


@pytest.mark.slow
def test_a_random_flow_density_integrates_to_the_mass_its_samples_put_there():
    flow = _randomized(realnvp(2, 4, 16), seed=5).eval()
    with torch.no_grad():
        for layer in flow.layers:   # random parameters make steep maps; keep the scales moderate
            if isinstance(layer, AffineCoupling):
                layer.scale.mul_(0.5)
    lim, n = 12.0, 801
    grid = torch.linspace(-lim, lim, n, dtype=torch.float64)
    xx, yy = torch.meshgrid(grid, grid, indexing="xy")
    with torch.no_grad():
        p = flow.log_prob(torch.stack([xx.flatten(), yy.flatten()], 1)).exp()
    mass = p.sum() * (grid[1] - grid[0]) ** 2
    # the oracle: the fraction of the flow's own samples that land in the square (1 - a little tail)
    with torch.no_grad():
        s = flow.sample(40000, torch.Generator().manual_seed(6))
    inside = (s.abs() <= lim).all(dim=1).double().mean()
    assert inside > 0.9
    assert abs(mass.item() - inside.item()) < 0.01


def test_sampling_follows_the_generator_and_the_temperature():
    flow = _randomized(realnvp(2, 2, 8), seed=1).eval()
    a = flow.sample(5, torch.Generator().manual_seed(3))
    b = flow.sample(5, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    z = flow(flow.sample(4000, torch.Generator().manual_seed(0), temperature=0.5))[0]
    assert abs(z.std().item() - 0.5) < 0.03
    cold = flow.sample(3, torch.Generator().manual_seed(0), temperature=0.0)
    torch.testing.assert_close(cold, flow.inverse(torch.zeros(3, 2, dtype=torch.float64)))


def test_gaussianize_alone_is_the_independent_pixel_model():
    """Flow = [Gaussianize], base N(0, I): dequantized NLL = categorical NLL of the histogram, exactly."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 4, (50, 6), generator=g)
    probs = pixel_histogram(x, 4, alpha=0.5)
    flow = Flow([Gaussianize(probs)], StandardNormal(6)).double()
    nll = dequantized_nll(flow, x.double(), 4, torch.Generator().manual_seed(1))
    oracle = -Independent(Categorical(probs=probs), 1).log_prob(x)
    torch.testing.assert_close(nll, oracle, rtol=1e-6, atol=1e-6)


def test_pixel_histogram_counts_with_smoothing():
    x = torch.tensor([[0, 2], [0, 1], [1, 2]])
    probs = pixel_histogram(x, 3, alpha=1.0)
    expected = torch.tensor([[3, 2, 1], [1, 2, 3]], dtype=torch.float64) / 6
    torch.testing.assert_close(probs, expected)


def test_dequantize_stays_in_each_pixels_box():
    x = torch.randint(0, 17, (100, 64), generator=torch.Generator().manual_seed(0))
    y = dequantize(x, 17, torch.Generator().manual_seed(1))
    assert y.dtype.is_floating_point and y.shape == x.shape
    assert torch.equal((y * 17).floor().long(), x)
    assert torch.equal(y, dequantize(x, 17, torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="levels - 1|0..16"):
        dequantize(x + 1, 17)


def test_ring_log_prob_matches_torch_mixture():
    k, radius, std = 8, 2.0, 0.2
    angle = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k
    means = radius * torch.stack([angle.cos(), angle.sin()], 1)
    mix = MixtureSameFamily(Categorical(torch.ones(k, dtype=torch.float64)),
                            MultivariateNormal(means, std ** 2 * torch.eye(2, dtype=torch.float64).expand(k, 2, 2)))
    x = 2.5 * torch.randn(100, 2, dtype=torch.float64)
    torch.testing.assert_close(ring_log_prob(x, k, radius, std), mix.log_prob(x))


def test_bad_arguments_are_rejected_naming_them():
    with pytest.raises(ValueError, match="mask"):
        AffineCoupling(3, torch.tensor([1, 0]), 4)
    with pytest.raises(ValueError, match="mask"):
        AffineCoupling(2, torch.tensor([1, 2]), 4)
    with pytest.raises(TypeError, match="x"):
        AffineCoupling(2, torch.tensor([1, 0]), 4)([[1.0, 2.0]])
    with pytest.raises(ValueError, match="perm"):
        Permute(perm=torch.tensor([0, 0, 1]))
    with pytest.raises(TypeError, match="generator"):
        realnvp(2, 1, 4).sample(3, generator=0)
    with pytest.raises(ValueError, match="probs"):
        Gaussianize(torch.zeros(2, 3))


def test_realnvp_in_two_dimensions_transforms_both_coordinates():
    """Two couplings with a reversal between must not be triangular (each coordinate moves once)."""
    flow = _randomized(realnvp(2, 2, 8), seed=3)
    jac = torch.autograd.functional.jacobian(lambda r: flow(r[None])[0][0], torch.tensor([0.3, -0.2], dtype=torch.float64))
    assert jac[0, 1].abs() > 1e-3 and jac[1, 0].abs() > 1e-3


def test_flow_explorer_numbers_follow_the_sliders_as_its_oracle_says():
    from course_lib.explorers.flow import quick_flow_explorer
    from tests.browser.oracles.flow import oracle

    explorer = quick_flow_explorer()
    explorer.sliders["layer"].value = 7.0
    explorer.sliders["T"].value = 0.6
    want = oracle({"layer": 7.0, "T": 0.6})
    assert list(explorer.values) == list(want)
    assert explorer.values == pytest.approx(want, abs=2e-4)


class _OnPageCoupling(torch.nn.Module):
    """The coupling layer as lecture 06 writes it on the page (section 3), repeated as the oracle."""

    def __init__(self, dim, mask, hidden):
        super().__init__()
        nn = torch.nn
        self.register_buffer("mask", mask.float())
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 2 * dim))
        self.scale = nn.Parameter(torch.ones(dim))

    def s_t(self, a):
        raw_s, t = self.net(a).chunk(2, dim=-1)
        s = (1 - self.mask) * self.scale * torch.tanh(raw_s)
        return s, (1 - self.mask) * t

    def forward(self, x):
        s, t = self.s_t(self.mask * x)
        return x * torch.exp(s) + t, s.sum(dim=-1)

    def inverse(self, z):
        s, t = self.s_t(self.mask * z)
        return (z - t) * torch.exp(-s)


def _on_page_nll(layers, x):
    log_det = torch.zeros(len(x), dtype=x.dtype)
    for layer in layers:
        x, ld = layer(x)
        log_det = log_det + ld
    log_base = -0.5 * (x ** 2).sum(-1) - 0.5 * x.shape[1] * math.log(2 * math.pi)
    return -(log_base + log_det).mean()


def test_the_lectures_on_page_coupling_and_loss_agree_with_the_library():
    mask = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0])
    page = _randomized(_OnPageCoupling(5, mask, 16), seed=7)
    lib = AffineCoupling(5, mask, 16).double()
    lib.load_state_dict(page.state_dict())
    x = torch.randn(9, 5, dtype=torch.float64)
    (z_page, ld_page), (z_lib, ld_lib) = page(x), lib(x)
    torch.testing.assert_close(z_lib, z_page)
    torch.testing.assert_close(ld_lib, ld_page)
    torch.testing.assert_close(lib.inverse(z_page), page.inverse(z_page))
    flow = Flow([lib, Reverse(5)], StandardNormal(5)).double()
    torch.testing.assert_close(-flow.log_prob(x).mean(), _on_page_nll([page, Reverse(5)], x))
