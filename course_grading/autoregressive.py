"""Hidden tests of exercise 07 (``check("autoregressive.<name>", fn)``).

Oracles, all computed after the submitted function has returned:

- ``raster_mask``: causality by gradients. Each submitted mask multiplies the all-ones kernel of a
  convolution with 'same' padding (centre at ((kh - 1) // 2, (kw - 1) // 2)); autograd gives the set of
  input pixels that the output at the centre of a 9x9 image depends on, and the judge compares it
  with the pixels of the window that come before it in raster order (type 'A') or before-or-at it
  (type 'B'), decided by comparing raster indices r * W + c, not by the formula of a mask. Every kernel
  size from 1x1 to 6x6 is tried, square and not, odd and even, both types, in a seeded order.
- ``nats_to_bits_per_dim`` and ``perplexity_from_nats``: sequences of random conditional probabilities
  p_1..p_D; bits per dimension is the mean of -log2 p_i (torch.log2), perplexity the inverse geometric
  mean (scipy.stats.gmean), never the nats the submission receives divided by a constant.
"""

from __future__ import annotations

import torch
from scipy import stats

from . import Case, Failure, as_items, as_tensor, assert_close

REFERENCES = ("course_lib.pixelcnn.causal_mask", "course_lib.metrics.bits_per_dim",
              "course_lib.metrics.perplexity")

# --- raster_mask ----------------------------------------------------------------------------------

SIDE = 9                       # image side; the probed output pixel is the centre (4, 4)
SIZES = [(kh, kw) for kh in range(1, 7) for kw in range(1, 7)]


def _mask_inputs(g: torch.Generator) -> dict:
    order = torch.randperm(2 * len(SIZES), generator=g).tolist()
    specs = [(SIZES[i // 2][0], SIZES[i // 2][1], "AB"[i % 2]) for i in order]
    return {"specs": specs}


def _support(mask: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """(SIDE, SIDE) 0/1: input pixels with a nonzero gradient of the output at the centre."""
    weight = (torch.ones(kh, kw, dtype=torch.float64) * mask.to(torch.float64))[None, None]
    x = torch.randn(1, 1, SIDE, SIDE, dtype=torch.float64, generator=torch.Generator().manual_seed(0),
                    requires_grad=True)
    pad = ((kw - 1) // 2, kw - 1 - (kw - 1) // 2, (kh - 1) // 2, kh - 1 - (kh - 1) // 2)
    out = torch.nn.functional.conv2d(torch.nn.functional.pad(x, pad), weight)
    (grad,) = torch.autograd.grad(out[0, 0, SIDE // 2, SIDE // 2], x)
    return (grad[0, 0] != 0).to(torch.float64)


def _call_mask(fn, inputs: dict):
    supports = []
    for kh, kw, kind in inputs["specs"]:
        mask = fn(kh, kw, kind)
        if type(mask) is not torch.Tensor or tuple(mask.shape) != (kh, kw):
            raise Failure(f"raster_mask({kh}, {kw}, {kind!r}) must return a tensor of shape {(kh, kw)}, "
                          f"got {getattr(mask, 'shape', type(mask).__name__)}")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise Failure(f"raster_mask({kh}, {kw}, {kind!r}) must hold only 0 and 1")
        supports.append(_support(mask.detach(), kh, kw))
    return tuple(supports)


def _expected_support(kh: int, kw: int, kind: str) -> torch.Tensor:
    """Window pixels before (r0, c0) in raster order ('B': also (r0, c0) itself), by raster index."""
    r0 = c0 = SIDE // 2
    top, left = r0 - (kh - 1) // 2, c0 - (kw - 1) // 2
    out = torch.zeros(SIDE, SIDE, dtype=torch.float64)
    for r in range(top, top + kh):
        for c in range(left, left + kw):
            index, centre = r * SIDE + c, r0 * SIDE + c0
            out[r, c] = float(index < centre or (kind == "B" and index == centre))
    return out


def _centred_at_half(kh: int, kw: int, kind: str) -> torch.Tensor:
    """The common mistake for even sizes: a raster mask centred at (kh // 2, kw // 2)."""
    mask = torch.zeros(kh, kw, dtype=torch.float64)
    mask[:kh // 2, :] = 1
    mask[kh // 2, :kw // 2 + (kind == "B")] = 1
    return mask


def _judge_mask(inputs: dict, output) -> None:
    specs = inputs["specs"]
    items = as_items(output, len(specs), "the gradient probe of raster_mask")
    for (kh, kw, kind), item in zip(specs, items):
        seen = as_tensor(item, (SIDE, SIDE), f"the receptive field of raster_mask({kh}, {kw}, {kind!r})")
        want = _expected_support(kh, kw, kind)
        if torch.equal(seen, want):
            continue
        centre = bool(seen[SIDE // 2, SIDE // 2] != 0)
        name = f"a {kh}x{kw} convolution with raster_mask({kh}, {kw}, {kind!r})"
        where = (" With 'same' padding the centre of a kh x kw kernel is ((kh - 1) // 2, (kw - 1) // 2), "
                 "for even and non-square sizes too.")
        if (kh % 2 == 0 or kw % 2 == 0) and torch.equal(seen, _support(_centred_at_half(kh, kw, kind), kh, kw)):
            raise Failure(f"{name} is centred at (kh // 2, kw // 2), one pixel too far for an even size." + where)
        if torch.equal(seen, _expected_support(kh, kw, "B" if kind == "A" else "A")):
            raise Failure(f"{name} behaves like the other type: 'A' excludes the centre, 'B' keeps it "
                          "(are 'A' and 'B' swapped?)")
        if bool((seen > want).any()):
            raise Failure(f"{name} sees a pixel after the centre in raster order (a row below, or the "
                          "centre row to the right): it is not causal." + where)
        if kind == "A" and centre:
            raise Failure(f"{name} sees the pixel it predicts: type 'A' excludes the centre." + where)
        if kind == "B" and not centre:
            raise Failure(f"{name} does not see its own position: type 'B' keeps the centre." + where)
        raise Failure(f"{name} misses pixels before the centre in raster order (all rows above, and the "
                      "centre row to the left)." + where)


# --- conversions ----------------------------------------------------------------------------------

B_SEQ, D_SEQ = 5, 12   # 5 sequences of 12 conditionals (batch differs from the dimension)


def _conversion_inputs(g: torch.Generator) -> dict:
    probs = 0.02 + 0.96 * torch.rand(B_SEQ, D_SEQ, generator=g, dtype=torch.float64)
    return {"nll_nats": -probs.log().sum(1), "num_dims": D_SEQ, "probs": probs}


def _call_conversion(fn, inputs: dict):
    nll = inputs["nll_nats"].clone()
    result = fn(nll, inputs["num_dims"])
    if type(result) is not torch.Tensor:
        raise Failure(f"the result must be a tensor of the shape of nll_nats, {(B_SEQ,)}, "
                      f"got {type(result).__name__}")
    if not torch.equal(nll, inputs["nll_nats"]):
        raise Failure("your function modified nll_nats in place: compute a new tensor")
    return result


def _judge_bits(inputs: dict, output) -> None:
    actual = as_tensor(output, (B_SEQ,), "nats_to_bits_per_dim(nll_nats, num_dims) for 5 sequences")
    expected = -torch.log2(inputs["probs"]).mean(1)      # the average code length per dimension
    assert_close(actual, expected, "nats_to_bits_per_dim", rtol=1e-6, atol=1e-9,
                 hint="Bits per dimension is per dimension (divide by num_dims) and in base 2: "
                      "1 nat = 1 / ln 2 bits.")


def _judge_perplexity(inputs: dict, output) -> None:
    actual = as_tensor(output, (B_SEQ,), "perplexity_from_nats(nll_nats, num_tokens) for 5 sequences")
    expected = torch.tensor(1 / stats.gmean(inputs["probs"].numpy(), axis=1), dtype=torch.float64)
    assert_close(actual, expected, "perplexity_from_nats", rtol=1e-6, atol=1e-9,
                 hint="Perplexity is exp of the negative log-likelihood per token, in nats: "
                      "exp(nll_nats / num_tokens), not 2 ** (...) of nats and not exp(nll_nats).")


CASES = {
    "raster_mask": Case(_mask_inputs, _judge_mask, REFERENCES, call=_call_mask, trials=2),
    "nats_to_bits_per_dim": Case(_conversion_inputs, _judge_bits, REFERENCES, call=_call_conversion, trials=3),
    "perplexity_from_nats": Case(_conversion_inputs, _judge_perplexity, REFERENCES, call=_call_conversion,
                                 trials=3),
}

