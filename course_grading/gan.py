"""Hidden tests of exercise 08 (``check("gan.<name>", fn)``).

- ``discriminator_loss_from_probs``: random probabilities, real and fake batches of different sizes;
  oracle ``torch.nn.functional.binary_cross_entropy`` (real labelled 1, fake 0).
- ``generator_loss_from_probs``: called with the default flag and with both values of
  ``non_saturating``; oracle: -mean log D and mean log(1 - D).
- ``one_sided_gradient_penalty``: a random tanh critic f(x) = a . tanh(W x + b) whose gradient is
  known in closed form, scaled so that about half of the gradient norms exceed 1. The probe records
  the points the critic was evaluated at, the penalty and its gradient with respect to ``a``. The
  judge recovers each point's interpolation weight, requires the points on the real-fake segments
  with weights in [0, 1] that differ across the batch (one per example, about uniform), and compares
  the penalty and its gradient with the closed form max(0, ||grad f|| - 1)^2.
- ``discriminator_step_loss``: small seeded networks; the probe backpropagates the returned loss and
  records it, the discriminator's gradient and how much gradient reached the generator (must be 0:
  fake samples are detached).
- ``ring_generator``: the student's trained generator on 2000 seeded noise vectors; the judge counts
  the ring modes covered (a mode holds at least a quarter of its fair share of samples within 3
  standard deviations), by brute force, and requires at least ``MIN_MODES``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from course_grading.threads import one_thread

from . import Case, Failure, as_items, as_tensor, assert_close

REFERENCES = ("course_lib.gan.discriminator_loss", "course_lib.gan.generator_loss",
              "course_lib.gan.gradient_penalty", "course_lib.gan.wasserstein_critic_loss")

B_REAL, B_FAKE = 7, 5


def _probs(g: torch.Generator, n: int) -> torch.Tensor:
    return 0.02 + 0.96 * torch.rand(n, generator=g, dtype=torch.float64)


# --- discriminator_loss_from_probs -----------------------------------------------------------------

def _d_inputs(g: torch.Generator) -> dict:
    return {"real_probs": _probs(g, B_REAL), "fake_probs": _probs(g, B_FAKE)}


def _judge_d(inputs: dict, output) -> None:
    actual = as_tensor(output, (), "discriminator_loss_from_probs(real_probs, fake_probs)")
    real, fake = inputs["real_probs"], inputs["fake_probs"]
    expected = F.binary_cross_entropy(real, torch.ones_like(real)) + F.binary_cross_entropy(fake, torch.zeros_like(fake))
    assert_close(actual, expected, "discriminator_loss_from_probs", rtol=1e-6, atol=1e-8,
                 hint="It is the binary cross-entropy with real labelled 1 and fake labelled 0: "
                      "-mean log D(x) - mean log(1 - D(G(z))), each mean over its own batch (the sizes "
                      "differ), and it is minimized, so it is >= 0.")


# --- generator_loss_from_probs -------------------------------------------------------------------

def _g_inputs(g: torch.Generator) -> dict:
    return {"fake_probs": _probs(g, B_FAKE + 4)}


def _call_g(fn, inputs: dict):
    p = inputs["fake_probs"]
    return (fn(p.clone()), fn(p.clone(), non_saturating=True), fn(p.clone(), non_saturating=False))


def _judge_g(inputs: dict, output) -> None:
    default, ns, sat = as_items(output, 3, "generator_loss_from_probs")
    p = inputs["fake_probs"]
    hint_ns = ("non_saturating=True is -mean log D(G(z)), whose gradient stays large when D(G(z)) is "
               "near 0; mean log(1 - D(G(z))) is the saturating (minimax) loss.")
    for plain, what in ((default, "generator_loss_from_probs(fake_probs) (default non_saturating=True)"),
                        (ns, "generator_loss_from_probs(fake_probs, non_saturating=True)")):
        assert_close(as_tensor(plain, (), what), -torch.log(p).mean(), what, rtol=1e-6, atol=1e-8, hint=hint_ns)
    what = "generator_loss_from_probs(fake_probs, non_saturating=False)"
    assert_close(as_tensor(sat, (), what), torch.log1p(-p).mean(), what, rtol=1e-6, atol=1e-8,
                 hint="non_saturating=False is the minimax loss mean log(1 - D(G(z))), which the generator "
                      "minimizes (it is negative).")


# --- one_sided_gradient_penalty ------------------------------------------------------------------

B_GP, D_GP, H_GP = 64, 3, 5


class TanhCritic(nn.Module):
    """f(x) = a . tanh(x W^T + b): (B, D) -> (B,); grad_x f = (a * (1 - tanh^2)) W. Remembers its inputs."""

    def __init__(self, weight, bias, out):
        super().__init__()
        self.weight, self.bias, self.out = nn.Parameter(weight), nn.Parameter(bias), nn.Parameter(out)
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x)
        return torch.tanh(x @ self.weight.T + self.bias) @ self.out


def _critic_gradients(weight, bias, out, x):
    """Closed-form grad_x f at the rows of x, (B, D)."""
    s = 1 - torch.tanh(x @ weight.T + bias) ** 2            # (B, H)
    return (s * out) @ weight


def _gp_inputs(g: torch.Generator) -> dict:
    real = torch.randn(B_GP, D_GP, generator=g, dtype=torch.float64) + 1.0
    fake = 1.5 * torch.randn(B_GP, D_GP, generator=g, dtype=torch.float64) - 0.5
    weight = torch.randn(H_GP, D_GP, generator=g, dtype=torch.float64)
    bias = 0.5 * torch.randn(H_GP, generator=g, dtype=torch.float64)
    out = torch.randn(H_GP, generator=g, dtype=torch.float64)
    # scale the output weights so that the median gradient norm at the midpoints is 1
    norms = _critic_gradients(weight, bias, out, (real + fake) / 2).norm(dim=1)
    out = out / norms.median()
    seed = int(torch.randint(0, 2 ** 31 - 1, (), generator=g))
    return {"real": real, "fake": fake, "weight": weight, "bias": bias, "out": out, "seed": seed}


def _call_gp(fn, inputs: dict):
    critic = TanhCritic(inputs["weight"].clone(), inputs["bias"].clone(), inputs["out"].clone())
    real, fake = inputs["real"].clone(), inputs["fake"].clone()
    def seeded(seed):   # the documented use of generator: equal seeds agree, different seeds differ
        fresh = TanhCritic(inputs["weight"].clone(), inputs["bias"].clone(), inputs["out"].clone())
        return fn(fresh, real.clone(), fake.clone(), generator=torch.Generator().manual_seed(seed)).detach()
    a, b, c = seeded(inputs["seed"] + 1), seeded(inputs["seed"] + 1), seeded(inputs["seed"] + 2)
    if not torch.equal(a, b):
        raise Failure("one_sided_gradient_penalty: two calls with equally seeded generators gave different "
                      "results: draw eps from `generator` (torch.rand(..., generator=generator))")
    if torch.equal(a, c):
        raise Failure("one_sided_gradient_penalty: generators with different seeds gave the same result: "
                      "draw eps from `generator`")
    penalty = fn(critic, real, fake, generator=torch.Generator().manual_seed(inputs["seed"]))
    if not torch.equal(real, inputs["real"]) or not torch.equal(fake, inputs["fake"]):
        raise Failure("one_sided_gradient_penalty modified real or fake in place: build new tensors instead")
    if not critic.seen:
        raise Failure("one_sided_gradient_penalty never called the critic")
    if not isinstance(penalty, torch.Tensor) or penalty.grad_fn is None:
        raise Failure("the penalty must be a tensor that depends on the critic's parameters (it trains the "
                      "critic): compute the gradient with torch.autograd.grad(..., create_graph=True)")
    (grad_out,) = torch.autograd.grad(penalty, critic.out, allow_unused=True)
    if grad_out is None:
        raise Failure("the penalty does not depend on the critic's parameters: use create_graph=True")
    return penalty, critic.seen[-1].detach(), grad_out


@one_thread
def _judge_gp(inputs: dict, output) -> None:
    penalty_plain, points_plain, grad_plain = as_items(output, 3, "one_sided_gradient_penalty")
    penalty = as_tensor(penalty_plain, (), "one_sided_gradient_penalty(critic, real, fake)")
    x_hat = as_tensor(points_plain, (B_GP, D_GP), "the points the critic was evaluated at (real is (64, 3))")
    real, fake = inputs["real"], inputs["fake"]
    d = real - fake
    eps = ((x_hat - fake) * d).sum(1) / (d * d).sum(1)                       # (B,)
    off = (x_hat - (fake + eps[:, None] * d)).norm(dim=1).max()
    if not bool(torch.isfinite(x_hat).all()) or float(off) > 1e-6:
        raise Failure("the critic must be evaluated at interpolates x_hat = eps * real + (1 - eps) * fake, "
                      "one point on each segment between real[i] and fake[i]")
    if float(eps.min()) < -1e-9 or float(eps.max()) > 1 + 1e-9:
        raise Failure("interpolation weights must lie in [0, 1]: draw them with torch.rand (uniform)")
    if float(eps.std()) < 0.1:
        raise Failure("every example got the same interpolation weight: draw one weight per example, "
                      "eps of shape (B, 1), not one number shared by the whole batch")
    if abs(float(eps.mean()) - 0.5) > 0.2:
        raise Failure(f"the interpolation weights should be uniform on [0, 1]; their mean over 64 examples is "
                      f"{float(eps.mean()):.2f}")
    out = inputs["out"].clone().requires_grad_(True)
    norms = _critic_gradients(inputs["weight"], inputs["bias"], out, x_hat).norm(dim=1)
    expected = torch.clamp(norms - 1, min=0).pow(2).mean()
    (expected_grad,) = torch.autograd.grad(expected, out)
    assert_close(penalty, expected.detach(), "one_sided_gradient_penalty", rtol=1e-5, atol=1e-8,
                 hint="The penalty is mean_i max(0, ||grad_x f(x_hat_i)|| - 1)^2: the Euclidean norm of each "
                      "example's gradient, minus 1, clipped at 0 (one-sided: norms below 1 cost nothing), "
                      "squared, averaged over the batch.")
    assert_close(as_tensor(grad_plain, (H_GP,), "the penalty's gradient"), expected_grad,
                 "the penalty's gradient with respect to the critic's parameters", rtol=1e-5, atol=1e-8,
                 hint="Keep the gradient in the graph (torch.autograd.grad(..., create_graph=True)) so that "
                      "the penalty trains the critic.")


# --- discriminator_step_loss ---------------------------------------------------------------------

B_STEP, LATENT, DIM = 6, 3, 2


def _step_inputs(g: torch.Generator) -> dict:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2 ** 31 - 1, (), generator=g)))
        disc = nn.Sequential(nn.Linear(DIM, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid(), nn.Flatten(0)).double()
        gen = nn.Sequential(nn.Linear(LATENT, 4), nn.Tanh(), nn.Linear(4, DIM)).double()
    real = torch.randn(B_STEP, DIM, generator=g, dtype=torch.float64)
    z = torch.randn(B_STEP + 2, LATENT, generator=g, dtype=torch.float64)
    return {"discriminator": disc, "generator_net": gen, "real": real, "z": z}


def _call_step(fn, inputs: dict):
    disc, gen = inputs["discriminator"], inputs["generator_net"]
    loss = fn(disc, gen, inputs["real"], inputs["z"])
    if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
        raise Failure("discriminator_step_loss must return a tensor that the discriminator's parameters "
                      "can be trained through (call loss.backward())")
    loss.backward()
    disc_grad = torch.cat([p.grad.flatten() if p.grad is not None else torch.zeros_like(p).flatten()
                           for p in disc.parameters()])
    leaked = sum(float(p.grad.abs().sum()) for p in gen.parameters() if p.grad is not None)
    reached = sum(p.grad is not None for p in gen.parameters())
    return loss, disc_grad, float(leaked + reached)


def _judge_step(inputs: dict, output) -> None:
    loss_plain, grad_plain, leaked_plain = as_items(output, 3, "discriminator_step_loss")
    leaked = float(as_tensor(leaked_plain, (), "gradient reaching the generator"))
    if leaked != 0:
        raise Failure("in the discriminator's step the generator received a gradient: the fake samples must be "
                      "detached (generator_net(z).detach()) so that only the discriminator learns from this loss")
    disc, gen = inputs["discriminator"], inputs["generator_net"]
    real, z = inputs["real"], inputs["z"]
    with torch.no_grad():
        fake = gen(z)
    d_real, d_fake = disc(real), disc(fake)
    expected = (F.binary_cross_entropy(d_real, torch.ones_like(d_real))
                + F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake)))
    expected_grad = torch.cat([g.flatten() for g in torch.autograd.grad(expected, list(disc.parameters()))])
    hint = ("The loss is your discriminator_loss_from_probs(discriminator(real), discriminator(fake)) with "
            "fake = generator_net(z) detached.")
    assert_close(as_tensor(loss_plain, (), "discriminator_step_loss(...)"), expected.detach(), "discriminator_step_loss",
                 rtol=1e-6, atol=1e-8, hint=hint)
    assert_close(as_tensor(grad_plain, expected_grad.shape, "the discriminator's gradient"), expected_grad,
                 "the discriminator's gradient from discriminator_step_loss", rtol=1e-5, atol=1e-8, hint=hint)


# --- ring_generator: the experiment ----------------------------------------------------------------

N_RING, MIN_MODES = 2000, 7


def _ring_inputs(g: torch.Generator) -> dict:
    return {"z": torch.randn(N_RING, 2, generator=g)}


def _call_ring(fn, inputs: dict):
    with torch.no_grad():
        out = fn(inputs["z"])
    return out.detach().float() if isinstance(out, torch.Tensor) else out


def _judge_ring(inputs: dict, output) -> None:
    x = as_tensor(output, (N_RING, 2), "ring_generator(z) for z of shape (2000, 2)")
    if not bool(torch.isfinite(x).all()):
        raise Failure("the generator's samples contain NaN or inf: did training diverge?")
    angle = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    means = 2 * torch.stack([angle.cos(), angle.sin()], 1)                   # (8, 2)
    dist = ((x[:, None, :] - means[None, :, :]) ** 2).sum(-1).sqrt()          # (n, 8)
    nearest, which = dist.min(1)
    counts = [int(((which == j) & (nearest <= 0.6)).sum()) for j in range(8)]
    covered = sum(c >= 0.25 * N_RING / 8 for c in counts)
    if covered < MIN_MODES:
        raise Failure(f"the trained generator covers {covered} of the 8 modes (samples per mode within 3 std: "
                      f"{counts}); at least {MIN_MODES} are needed. Check your losses and rerun the training cell.")


CASES = {
    "discriminator_loss_from_probs": Case(_d_inputs, _judge_d, REFERENCES),
    "generator_loss_from_probs": Case(_g_inputs, _judge_g, REFERENCES, call=_call_g),
    "one_sided_gradient_penalty": Case(_gp_inputs, _judge_gp, REFERENCES, call=_call_gp),
    "discriminator_step_loss": Case(_step_inputs, _judge_step, REFERENCES, call=_call_step),
    "ring_generator": Case(_ring_inputs, _judge_ring, REFERENCES, call=_call_ring, trials=1),
}
