"""Does the PixelCNN respect raster order, and do its likelihood, samples and completions mean
what they say? Oracles: autograd gradients (causality), torch.distributions (likelihood), counted
frequencies (sampling)."""

import math

import pytest
import torch
from torch import nn
from torch.distributions import Categorical

from course_lib.pixelcnn import LEVELS, MaskedConv2d, PixelCNN, PixelCNNConfig, causal_mask, pixelcnn_loss

KERNELS = [3, 5, 7, (2, 2), (4, 4), (3, 5), (5, 2), (1, 3), (2, 6)]


def input_gradient_support(layer: nn.Module, h: int, w: int, r: int, c: int, in_ch: int = 1) -> torch.Tensor:
    """(h, w) bool: which input pixels the output at (r, c) depends on (by autograd, random weights)."""
    x = torch.randn(1, in_ch, h, w, dtype=torch.float64, requires_grad=True)
    out = layer(x)
    (grad,) = torch.autograd.grad(out[0, :, r, c].sum(), x)
    return grad[0].abs().sum(0) > 0


def raster_before(h: int, w: int, r: int, c: int, include_self: bool) -> torch.Tensor:
    idx = torch.arange(h * w).reshape(h, w)
    return (idx < r * w + c) | ((idx == r * w + c) & include_self)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_sees_only_the_past(kernel, mask_type):
    torch.manual_seed(0)
    layer = MaskedConv2d(2, 3, kernel, mask_type).double()
    nn.init.uniform_(layer.weight, 0.5, 1.5)   # no weight is zero by chance
    for r in range(6):
        for c in range(7):
            seen = input_gradient_support(layer, 6, 7, r, c, in_ch=2)
            assert not bool((seen & ~raster_before(6, 7, r, c, include_self=True)).any()), (kernel, r, c)
            assert bool(seen[r, c]) == (mask_type == "B"), (kernel, mask_type, r, c)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mask_keeps_the_whole_visible_window(kernel):
    """Every position of the window that lies before the centre is kept, not only some of them."""
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    ch, cw = (kh - 1) // 2, (kw - 1) // 2
    mask = causal_mask(kernel, "A")
    expected = torch.tensor([[1.0 if (i < ch or (i == ch and j < cw)) else 0.0 for j in range(kw)]
                             for i in range(kh)])
    assert torch.equal(mask, expected)
    assert int((causal_mask(kernel, "B") - mask).sum()) == 1
    assert causal_mask(kernel, "B")[ch, cw] == 1 and mask[ch, cw] == 0


def test_mask_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mask_type"):
        causal_mask(3, "C")
    with pytest.raises(ValueError, match="kernel_size"):
        MaskedConv2d(1, 1, 0, "A")
    with pytest.raises(TypeError, match="in_ch"):
        MaskedConv2d(1.5, 1, 3, "A")


def test_pixelcnn_is_causal_and_sees_its_neighbours():
    """Logits at pixel i depend on pixels < i only, and on the pixels left of and above pixel i."""
    torch.manual_seed(0)
    model = PixelCNN(PixelCNNConfig(channels=8, layers=3)).double()
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64, requires_grad=True)

    def logits_of(inp):  # the network on a continuous input, as logits() builds it after scaling
        h = torch.relu(model.first(inp))
        for conv in model.hidden:
            h = h + torch.relu(conv(h))
        return model.out(h)

    out = logits_of(x)
    for i in range(64):
        r, c = divmod(i, 8)
        (grad,) = torch.autograd.grad(out[0, :, r, c].sum(), x, retain_graph=True)
        seen = grad[0, 0].abs() > 0
        assert not bool((seen & ~raster_before(8, 8, r, c, include_self=False)).any()), i
        assert c == 0 or bool(seen[r, c - 1]), f"pixel {i} does not see its left neighbour"
        assert r == 0 or bool(seen[r - 1, c]), f"pixel {i} does not see the pixel above it"


def test_log_prob_matches_torch_distributions():
    torch.manual_seed(1)
    model = PixelCNN(PixelCNNConfig(channels=8, layers=2))
    x = torch.randint(0, LEVELS, (5, 64))
    logits = model.logits(x)                                   # (5, 17, 8, 8)
    expected = Categorical(logits=logits.permute(0, 2, 3, 1)).log_prob(x.reshape(5, 8, 8)).flatten(1).sum(1)
    torch.testing.assert_close(model.log_prob(x), expected)
    torch.testing.assert_close(pixelcnn_loss(model, x), -expected.mean())
    # an untrained model is near uniform: about 64 log 17 nats per image
    assert abs(float(-expected.mean().detach()) - 64 * math.log(LEVELS)) < 20


def test_log_prob_rejects_non_levels():
    model = PixelCNN(PixelCNNConfig(channels=4, layers=1))
    with pytest.raises(ValueError, match="levels"):
        model.log_prob(torch.full((2, 64), 17))
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(torch.zeros(2, 63, dtype=torch.long))
    with pytest.raises(TypeError, match="x"):
        model.log_prob([[0] * 64])


def fixed_categorical_model(probs: torch.Tensor) -> PixelCNN:
    """A PixelCNN whose every pixel is an independent draw from ``probs`` (output weights zeroed)."""
    model = PixelCNN(PixelCNNConfig(channels=4, layers=1))
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias.copy_(probs.log())
    return model


@pytest.mark.slow
def test_samples_follow_the_conditionals_and_the_temperature():
    probs = torch.linspace(1, 3, LEVELS)
    probs = probs / probs.sum()
    model = fixed_categorical_model(probs)
    g = torch.Generator().manual_seed(0)
    for temperature in (1.0, 0.5):
        x = model.sample(300, generator=g, temperature=temperature, progress=False)
        assert x.shape == (300, 64) and x.dtype == torch.int64
        freq = torch.bincount(x.flatten(), minlength=LEVELS).double() / x.numel()
        target = probs.double() ** (1 / temperature)
        target = target / target.sum()
        se = (target * (1 - target) / x.numel()).sqrt()
        assert bool(((freq - target).abs() < 5 * se).all()), (temperature, freq, target)


def test_sampling_is_reproducible_with_a_generator():
    model = PixelCNN(PixelCNNConfig(channels=4, layers=1))
    a = model.sample(3, generator=torch.Generator().manual_seed(5), progress=False)
    b = model.sample(3, generator=torch.Generator().manual_seed(5), progress=False)
    assert torch.equal(a, b)


def test_complete_keeps_the_known_pixels_and_fills_the_rest():
    torch.manual_seed(2)
    model = PixelCNN(PixelCNNConfig(channels=8, layers=2))
    x = torch.randint(0, LEVELS, (4, 64))
    known = torch.zeros(64, dtype=torch.bool)
    known[:32] = True                                               # the top four rows
    out = model.complete(x, known, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[:, :32], x[:, :32])
    assert not torch.equal(out[:, 32:], x[:, 32:])
    assert torch.equal(model.complete(x, torch.ones(4, 64, dtype=torch.bool)), x)
    with pytest.raises(TypeError, match="known_mask"):
        model.complete(x, known.long())
    with pytest.raises(ValueError, match="temperature"):
        model.complete(x, known, temperature=0.0)


@pytest.mark.slow
def test_a_short_training_run_beats_the_uniform_model_by_far():
    from course_lib.data import digits
    from course_lib.train import FitConfig, fit

    torch.manual_seed(0)
    model = PixelCNN(PixelCNNConfig(channels=16, layers=2))
    fit(model, pixelcnn_loss, digits("train")[0], None, FitConfig(epochs=3, batch_size=64, lr=3e-3, progress=False))
    with torch.no_grad():
        nll = float(-model.log_prob(digits("test")[0]).mean())
    assert nll < 0.7 * 64 * math.log(LEVELS), nll


def test_logits_of_the_top_rows_alone_are_the_same():
    torch.manual_seed(3)
    model = PixelCNN(PixelCNNConfig(channels=8, layers=3))
    x = torch.randint(0, LEVELS, (2, 64))
    full = model.logits(x)
    for rows in (1, 4, 7):
        torch.testing.assert_close(model.logits(x[:, :rows * 8]), full[:, :, :rows])


def test_complete_takes_one_temperature_per_image():
    model = fixed_categorical_model(torch.softmax(torch.arange(LEVELS, dtype=torch.float32), 0))
    x = torch.zeros(400, 64, dtype=torch.long)
    temps = torch.tensor([0.05, 50.0]).repeat_interleave(200)
    out = model.complete(x, torch.zeros(64, dtype=torch.bool), generator=torch.Generator().manual_seed(0),
                         temperature=temps)
    # T -> 0: the most likely level (16) almost always; large T: close to uniform
    assert float((out[:200] == LEVELS - 1).double().mean()) > 0.95
    assert float((out[200:] == LEVELS - 1).double().mean()) < 0.15


@pytest.mark.slow
def test_completion_explorer_looks_up_what_complete_draws():
    from course_lib.explorers.completion import TEMPERATURES, untrained_completion_explorer

    e = untrained_completion_explorer()
    e.sliders["rows"].value = 3
    e.sliders["T"].value = 0.75
    assert e.values == {"given pixels": 24.0, "sampled pixels": 40.0, "logit scale 1/T": 1 / 0.75}
    shown = e.completions()
    assert shown.shape == (4, 8, 8)
    assert (shown.reshape(4, 64)[:, :24] == e.digit[:24].numpy()).all()
    assert e.table.shape == (9, len(TEMPERATURES), 4, 8, 8)
    assert (e.table[8] == e.digit.reshape(8, 8).numpy()).all()     # all rows given: nothing drawn


# --- the model on the page of lectures/07_autoregressive.ipynb (section 5), repeated as the oracle ----

class PageMaskedConv(nn.Conv2d):
    def __init__(self, c_in, c_out, k, mask_type):          # odd square kernels k
        super().__init__(c_in, c_out, k, padding=k // 2)
        mask = torch.zeros(k, k)
        mask[: k // 2, :] = 1                               # rows above the centre
        mask[k // 2, : k // 2 + (mask_type == "B")] = 1     # left of the centre (+ centre for 'B')
        self.register_buffer("mask", mask)

    def forward(self, x):
        return torch.nn.functional.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PagePixelCNN(nn.Module):
    def __init__(self, channels=32, layers=4, levels=17):
        super().__init__()
        self.first = PageMaskedConv(1, channels, 7, "A")
        self.hidden = nn.ModuleList(PageMaskedConv(channels, channels, 3, "B") for _ in range(layers))
        self.out = nn.Conv2d(channels, levels, 1)

    def forward(self, x):                                   # (N, 64) levels -> (N, 17, 8, 8) logits
        h = torch.relu(self.first(x.reshape(-1, 1, 8, 8).float() / 16 * 2 - 1))
        for conv in self.hidden:
            h = h + torch.relu(conv(h))
        return self.out(h)


def page_nll(model, x):
    return torch.nn.functional.cross_entropy(model(x), x.reshape(-1, 8, 8), reduction="none").sum((1, 2))


def test_the_lecture_page_model_is_the_library_model():
    from course_lib.pixelcnn import LECTURE_CONFIGS

    torch.manual_seed(4)
    page = PagePixelCNN()
    lib = PixelCNN(LECTURE_CONFIGS["notebook"][0])
    lib.load_state_dict(page.state_dict())
    x = torch.randint(0, LEVELS, (6, 64))
    with torch.no_grad():
        torch.testing.assert_close(lib.logits(x), page(x))
        torch.testing.assert_close(-lib.log_prob(x), page_nll(page, x))
    for kind in "AB":
        for k in (3, 5, 7):
            torch.testing.assert_close(causal_mask(k, kind), PageMaskedConv(1, 1, k, kind).mask)
