"""Hidden tests of exercise 06 (``check("flows.<name>", fn)``).

Oracles, all computed after the submitted function has returned:

- ``coupling_forward(x, mask, conditioner) -> (z, log_det)``: z against the definition of the affine
  coupling (the conditioner sees only the kept entries ``mask * x``); log_det against
  ``torch.linalg.slogdet`` of the autograd Jacobian of that map, row by row; the kept entries must
  pass bit for bit and the input must not be modified.
- ``coupling_inverse(z, mask, conditioner) -> x``: the round trip, forward(x) = z, through the
  definition above (never through an inverse formula).
- ``flow_log_prob(layers, x) -> (B,)``: layers that are fixed affine maps z = A x + b, so the flow's
  density is a Gaussian whose log-density ``torch.distributions.MultivariateNormal`` gives.

Inputs use a batch size different from every other dimension, float64, and a conditioner that
depends on every entry it is given (so a conditioner fed the transformed entries shows).
"""

from __future__ import annotations

import torch
from torch.distributions import MultivariateNormal

from course_grading.threads import one_thread

from . import Case, Failure, as_items, as_tensor, assert_close

REFERENCES = tuple(f"course_lib.flows.{name}" for name in (
    "dequantize", "dequantized_nll", "pixel_histogram", "realnvp", "ring_log_prob"))

B, D, H = 7, 5, 6


class _Conditioner:
    """a (B, D) -> (log_scale, shift), both (B, D): a fixed random network of every entry of a."""

    def __init__(self, g: torch.Generator):
        self.w1 = torch.randn(D, H, generator=g, dtype=torch.float64)
        self.b1 = torch.randn(H, generator=g, dtype=torch.float64)
        self.w2 = torch.randn(H, 2 * D, generator=g, dtype=torch.float64) / 2

    def __call__(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = torch.tanh(a @ self.w1 + self.b1) @ self.w2
        return torch.tanh(out[..., :D]) + 0.3, out[..., D:]


def _coupling_inputs(g: torch.Generator, name: str) -> dict:
    mask = torch.zeros(D, dtype=torch.float64)
    mask[torch.randperm(D, generator=g)[:2]] = 1.0            # two kept entries, three transformed
    x = 1.5 * torch.randn(B, D, generator=g, dtype=torch.float64)
    return {name: x, "mask": mask, "conditioner": _Conditioner(g)}


def _forward(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    return mask * x + (1 - mask) * (x * torch.exp(log_scale) + shift)


def _jacobian_logdet(x, mask, conditioner) -> torch.Tensor:
    return torch.stack([torch.linalg.slogdet(torch.autograd.functional.jacobian(
        lambda r: _forward(r[None], mask, conditioner)[0], row)).logabsdet for row in x])


@one_thread
def _call_forward(fn, inputs: dict):
    x = inputs["x"]
    out = fn(x, inputs["mask"], inputs["conditioner"])
    if type(out) is not tuple or len(out) != 2:
        raise Failure(f"coupling_forward must return the tuple (z, log_det), got {type(out).__name__}")
    return out[0], out[1], x


def _judge_forward(inputs: dict, output) -> None:
    z_plain, log_det_plain, x_plain = as_items(output, 3, "coupling_forward")
    x, mask, conditioner = inputs["x"], inputs["mask"], inputs["conditioner"]
    assert_close(as_tensor(x_plain, (B, D), "x after the call"), x, "x after the call", rtol=0, atol=0,
                 hint="coupling_forward must not modify its input in place.")
    z = as_tensor(z_plain, (B, D), "z")
    if not torch.equal(z[:, mask == 1], x[:, mask == 1]):
        raise Failure("the entries where mask is 1 must pass through unchanged (z = x there)")
    assert_close(z, _forward(x, mask, conditioner), "z", rtol=1e-6, atol=1e-8,
                 hint="The conditioner must see only the kept entries, mask * x (not x itself), and the "
                      "other entries become x * exp(log_scale) + shift.")
    log_det = as_tensor(log_det_plain, None, "log_det")
    if tuple(log_det.shape) == (B, D):
        raise Failure(f"log_det must be one number per example, shape ({B},), got ({B}, {D}): sum the "
                      "log-scales over the transformed dimensions")
    if tuple(log_det.shape) != (B,):
        raise Failure(f"log_det must have shape ({B},) (one per example), got {tuple(log_det.shape)}: "
                      "do not sum over the batch")
    assert_close(log_det, _jacobian_logdet(x, mask, conditioner), "log_det", rtol=1e-6, atol=1e-8,
                 hint="log|det dz/dx| is + sum of log_scale over the entries where mask is 0 (the "
                      "kept entries contribute nothing); check the sign and the mask.")


def _inverse_inputs(g: torch.Generator) -> dict:
    return _coupling_inputs(g, "z")


@one_thread
def _call_inverse(fn, inputs: dict):
    z = inputs["z"]
    return fn(z, inputs["mask"], inputs["conditioner"]), z


def _judge_inverse(inputs: dict, output) -> None:
    x_plain, z_plain = as_items(output, 2, "coupling_inverse")
    z, mask, conditioner = inputs["z"], inputs["mask"], inputs["conditioner"]
    assert_close(as_tensor(z_plain, (B, D), "z after the call"), z, "z after the call", rtol=0, atol=0,
                 hint="coupling_inverse must not modify its input in place.")
    x = as_tensor(x_plain, (B, D), "x")
    assert_close(_forward(x, mask, conditioner), z, "forward(coupling_inverse(z))", rtol=1e-6, atol=1e-8,
                 hint="Undo the coupling: the kept entries are the same in x and z, so the conditioner "
                      "gives the same log_scale and shift from mask * z; then x = (z - shift) * exp(-log_scale) "
                      "on the other entries.")


class _Affine:
    """A fixed layer z = x A^T + b with log|det| = log|det A| per example."""

    def __init__(self, g: torch.Generator, dim: int):
        self.a = torch.eye(dim, dtype=torch.float64) + 0.4 * torch.randn(dim, dim, generator=g, dtype=torch.float64)
        self.b = torch.randn(dim, generator=g, dtype=torch.float64)

    def forward(self, x):
        return x @ self.a.T + self.b, torch.linalg.slogdet(self.a).logabsdet.expand(x.shape[0])

    __call__ = forward

    def inverse(self, z):
        return torch.linalg.solve(self.a, (z - self.b).T).T


B_FLOW, D_FLOW = 6, 3


def _flow_inputs(g: torch.Generator) -> dict:
    return {"layers": [_Affine(g, D_FLOW) for _ in range(3)],
            "x": torch.randn(B_FLOW, D_FLOW, generator=g, dtype=torch.float64)}


def _judge_flow(inputs: dict, output) -> None:
    actual = as_tensor(output, None, "flow_log_prob(layers, x)")
    if tuple(actual.shape) != (B_FLOW,):
        raise Failure(f"flow_log_prob must return one log-density per example, shape ({B_FLOW},), got "
                      f"{tuple(actual.shape)}: sum the base log-density over the dimensions, not over the batch")
    m, c = torch.eye(D_FLOW, dtype=torch.float64), torch.zeros(D_FLOW, dtype=torch.float64)
    for layer in inputs["layers"]:                     # z = M x + c after all layers
        m, c = layer.a @ m, layer.a @ c + layer.b
    # z ~ N(0, I) and x = M^{-1}(z - c): x ~ N(-M^{-1} c, (M^T M)^{-1})
    mean = -torch.linalg.solve(m, c)
    expected = MultivariateNormal(mean, precision_matrix=m.T @ m).log_prob(inputs["x"])
    assert_close(actual, expected, "flow_log_prob(layers, x)", rtol=1e-6, atol=1e-8,
                 hint="log p(x) = log N(z; 0, I) + the sum of every layer's log_det, where z is x after "
                      "all the layers, in order (log N sums over the dimensions and includes -D/2 log 2 pi).")


CASES = {
    "coupling_forward": Case(lambda g: _coupling_inputs(g, "x"), _judge_forward, REFERENCES, call=_call_forward),
    "coupling_inverse": Case(_inverse_inputs, _judge_inverse, REFERENCES, call=_call_inverse),
    "flow_log_prob": Case(_flow_inputs, _judge_flow, REFERENCES),
}
