"""PixelCNN on the 8x8 digits: masked convolutions, a categorical over 17 grey levels per pixel,
sequential sampling and completion (lecture 07).

The chain rule in raster order (row by row, left to right) writes any distribution over 64 pixels as

    p(x) = prod_{i=1}^{64} p(x_i | x_1, ..., x_{i-1}),

and a PixelCNN computes all 64 conditionals in one pass of convolutions whose kernels are *masked*
so that output pixel i never sees input pixels >= i (type 'A', first layer) or > i (type 'B', later
layers, where position i already holds features of pixels < i only).

    model = PixelCNN(PixelCNNConfig(channels=32, layers=4))
    loss = model.loss(x)                  # x: (N, 64) int64 levels 0..16 -> mean NLL in nats
    x = model.sample(16, generator=g)     # (16, 64), 64 sequential passes
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .train import FitConfig

SIDE = 8      # the digits are 8x8
LEVELS = 17   # grey levels 0..16


def causal_mask(kernel_size: int | tuple[int, int], mask_type: str) -> torch.Tensor:
    """The (kh, kw) 0/1 mask of a raster-order masked convolution.

    The centre of a kernel with 'same' padding is (ch, cw) = ((kh - 1) // 2, (kw - 1) // 2) (for an even
    size the kernel reaches one more pixel below / to the right). Kept: every row above the centre,
    and the centre row left of the centre; type 'B' also keeps the centre itself, type 'A' does not.
    """
    kh, kw = _pair(kernel_size)
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    ch, cw = (kh - 1) // 2, (kw - 1) // 2
    mask = torch.zeros(kh, kw)
    mask[:ch, :] = 1                                 # rows above
    mask[ch, :cw + (mask_type == "B")] = 1           # left of the centre (and the centre for 'B')
    return mask


def _pair(kernel_size) -> tuple[int, int]:
    if isinstance(kernel_size, tuple) and len(kernel_size) == 2:
        return (checks.positive_int(kernel_size[0], "kernel_size[0]"),
                checks.positive_int(kernel_size[1], "kernel_size[1]"))
    k = checks.positive_int(kernel_size, "kernel_size")
    return k, k


class MaskedConv2d(nn.Conv2d):
    """A 2-D convolution with 'same' padding whose kernel is multiplied by :func:`causal_mask`.

    out[:, :, r, c] depends on in[:, :, r', c'] only for (r', c') before (r, c) in raster order
    (type 'A') or before-or-at (r, c) (type 'B'). Shapes: (N, in_ch, H, W) -> (N, out_ch, H, W).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int | tuple[int, int], mask_type: str):
        kh, kw = _pair(kernel_size)
        super().__init__(checks.positive_int(in_ch, "in_ch"), checks.positive_int(out_ch, "out_ch"),
                         (kh, kw))
        self.mask_type = mask_type
        # 'same' padding; for an even size the extra row / column of padding goes below / right
        self.pad = ((kw - 1) // 2, kw - 1 - (kw - 1) // 2, (kh - 1) // 2, kh - 1 - (kh - 1) // 2)
        self.register_buffer("mask", causal_mask((kh, kw), mask_type))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, self.pad), self.weight * self.mask, self.bias)


@dataclass
class PixelCNNConfig:
    channels: int = 32        # feature maps per layer
    layers: int = 4           # residual 'B' layers after the first 'A' layer
    first_kernel: int = 7     # the 'A' layer's kernel (7x7 sees most of an 8x8 digit's past)
    kernel: int = 3           # the 'B' layers' kernel
    levels: int = LEVELS


# Lecture 07's two training configurations (its FULL flag), also measured by benchmarks/quality_pixelcnn.py:
# (model, fit stages run one after the other; the full one fine-tunes with a 10x smaller learning rate)
LECTURE_CONFIGS = {
    "notebook": (PixelCNNConfig(channels=32, layers=4),
                 FitConfig(epochs=25, batch_size=64, lr=3e-3, patience=10, progress=False, description="PixelCNN")),
    "full": (PixelCNNConfig(channels=64, layers=6),
             FitConfig(epochs=150, batch_size=64, lr=3e-3, patience=10, progress=False,
                       description="PixelCNN (full)"),
             FitConfig(epochs=60, batch_size=64, lr=3e-4, patience=8, seed=1, progress=False,
                       description="PixelCNN (full, fine-tuning)")),
}


class PixelCNN(nn.Module):
    """Masked-convolution stack -> logits of a categorical over ``levels`` grey levels per pixel.

    x (N, 64) int levels -> scaled to [-1, 1], (N, 1, 8, 8) -> MaskedConv 'A' -> ReLU ->
    ``layers`` x [h = h + ReLU(MaskedConv 'B'(h))] -> 1x1 conv -> logits (N, levels, 8, 8).
    """

    def __init__(self, config: PixelCNNConfig | None = None):
        super().__init__()
        self.config = c = config or PixelCNNConfig()
        self.first = MaskedConv2d(1, c.channels, c.first_kernel, "A")
        self.hidden = nn.ModuleList(MaskedConv2d(c.channels, c.channels, c.kernel, "B") for _ in range(c.layers))
        self.out = nn.Conv2d(c.channels, c.levels, 1)   # 1x1: position (r, c) only, causal as it is

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 64) levels -> (N, levels, 8, 8) logits of p(x_i | x_<i) at every pixel i.

        Also (N, 8 r) -> (N, levels, r, 8): the first r rows alone give the same logits there, since
        no kernel looks down (sampling uses this to skip the rows below the current one).
        """
        rows = x.shape[-1] // SIDE
        inp = (x.reshape(-1, 1, rows, SIDE).to(self.first.weight.dtype) / (self.config.levels - 1)) * 2 - 1
        h = F.relu(self.first(inp))
        for conv in self.hidden:
            h = h + F.relu(conv(h))
        return self.out(h)

    forward = logits

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = sum_i log p(x_i | x_<i), nats. Shapes: (N, 64) int -> (N,)."""
        x = _levels(x, "x", self.config.levels)
        nll = F.cross_entropy(self.logits(x), x.reshape(-1, SIDE, SIDE), reduction="none")   # (N, 8, 8)
        return -nll.flatten(1).sum(1)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood over the batch (nats per image), for ``train.fit``."""
        return -self.log_prob(x).mean()

    @torch.no_grad()
    def complete(self, x: torch.Tensor, known_mask: torch.Tensor, generator: torch.Generator | None = None,
                 temperature: float | torch.Tensor = 1.0, progress: bool = False) -> torch.Tensor:
        """Sample every pixel where ``known_mask`` is False, in raster order; keep the others.

        Pixel i is drawn from softmax(logits_i / temperature) given every pixel before it (known or
        already drawn); known pixels *after* i cannot inform it (the model only looks back).
        Shapes: x (N, 64) int levels, known_mask (N, 64) or (64,) bool, temperature a number or (N,)
        (one per image) -> (N, 64) int64.
        """
        x = _levels(x, "x", self.config.levels)
        if not isinstance(known_mask, torch.Tensor) or known_mask.dtype != torch.bool:
            raise TypeError(f"known_mask must be a bool tensor, got {type(known_mask).__name__}")
        known = known_mask.to(x.device).expand_as(x)
        if isinstance(temperature, torch.Tensor):
            temperature = checks.positive(temperature.to(x.device).reshape(-1, 1), "temperature")
        else:
            temperature = checks.number(temperature, "temperature", low=0.0, open_low=True)
        checks.generator(generator)
        out = x.clone().long()
        todo = [i for i in range(SIDE * SIDE) if not bool(known[:, i].all())]
        from tqdm.auto import tqdm
        for i in tqdm(todo, desc="sampling pixels", disable=not progress):
            r, c = divmod(i, SIDE)
            logits = self.logits(out[:, :(r + 1) * SIDE])[:, :, r, c] / temperature     # (N, levels)
            u = checks.rand(logits.shape, logits, generator).clamp_min(1e-30)
            draw = (logits - torch.log(-torch.log(u))).argmax(1)                         # Gumbel-max
            out[:, i] = torch.where(known[:, i], out[:, i], draw)
        return out

    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0,
               progress: bool = True) -> torch.Tensor:
        """n digits drawn pixel by pixel: 64 sequential passes of the network. -> (n, 64) int64."""
        n = checks.positive_int(n, "n")
        x = torch.zeros(n, SIDE * SIDE, dtype=torch.long, device=self.first.weight.device)
        return self.complete(x, torch.zeros(SIDE * SIDE, dtype=torch.bool), generator, temperature, progress)


def _levels(x, name: str, levels: int) -> torch.Tensor:
    checks.tensor(x, name)
    if x.dtype.is_floating_point and not bool((x == x.round()).all()):
        raise ValueError(f"{name} must hold integer grey levels, got {x[x != x.round()].flatten()[0].item()}")
    if x.shape[-1] != SIDE * SIDE or x.dim() != 2:
        raise ValueError(f"{name} must have shape (N, 64), got {tuple(x.shape)}")
    if bool(((x < 0) | (x >= levels)).any()):
        raise ValueError(f"{name} must hold levels 0..{levels - 1}, got {x[(x < 0) | (x >= levels)].flatten()[0].item()}")
    return x.long()


def pixelcnn_loss(model: PixelCNN, x: torch.Tensor) -> torch.Tensor:
    """``loss_fn`` for :func:`course_lib.train.fit`: mean NLL in nats per image."""
    return model.loss(x)
