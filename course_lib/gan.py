"""Generative adversarial networks (lecture 08): the two players' losses, the WGAN-GP penalty, small
networks and a training loop that records both players.

Conventions:

- a *discriminator* returns one logit per example, ``D(x) = sigmoid(logit)`` is its belief that
  ``x`` is real; a *critic* (Wasserstein GAN) returns one unbounded score per example. Both map
  ``(B, ...) -> (B,)`` (or ``(B, 1)``, which is flattened).
- a *generator* maps noise ``z ~ N(0, I)`` of shape ``(B, latent_dim)`` to samples ``(B, ...)``.
- every loss is the mean over the batch (real and fake batches may differ in size) and is
  *minimized* by the player it belongs to.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .nets import mlp


def _scores(t, name: str) -> torch.Tensor:
    checks.tensor(t, name, floating=True, min_dim=1)
    if t.dim() == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.dim() != 1:
        raise ValueError(f"{name} must have shape (B,) or (B, 1), got {tuple(t.shape)}")
    return t


# --- losses -----------------------------------------------------------------------------------

def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the discriminator, real labelled 1 and fake labelled 0.

    L_D = -mean_i log D(x_i) - mean_j log(1 - D(G(z_j))),   D = sigmoid(logit)
        =  mean_i softplus(-real_i) + mean_j softplus(fake_j)      (stable for any logit)
    Shapes: real_logits (B,) or (B, 1), fake_logits (B',) or (B', 1) -> scalar.
    At the best discriminator D* = p / (p + q), L_D = log 4 - 2 JSD(p, q).
    """
    real, fake = _scores(real_logits, "real_logits"), _scores(fake_logits, "fake_logits")
    # -log sigmoid(a) = softplus(-a);  -log(1 - sigmoid(a)) = softplus(a)
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def generator_loss(fake_logits: torch.Tensor, non_saturating: bool = True) -> torch.Tensor:
    """The generator's loss on the discriminator's logits of its samples.

    non-saturating (default): L_G = -mean log D(G(z)) = mean softplus(-logit)
    saturating (the minimax game): L_G = mean log(1 - D(G(z))) = -mean softplus(logit)
    Both push D(G(z)) up; d L / d logit is -(1 - D) for the first and -D for the second, so the
    saturating loss has almost no gradient exactly when the discriminator wins (D(G(z)) near 0).
    Shapes: fake_logits (B,) or (B, 1) -> scalar.
    """
    fake = _scores(fake_logits, "fake_logits")
    if not isinstance(non_saturating, bool):
        raise TypeError(f"non_saturating must be a bool, got {type(non_saturating).__name__}")
    if non_saturating:
        return F.softplus(-fake).mean()
    return -F.softplus(fake).mean()


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The critic's loss of a Wasserstein GAN (minimized by the critic).

    L_C = mean_j f(G(z_j)) - mean_i f(x_i);  -L_C estimates sup_f E_p f - E_q f over the critic's
    family, the Wasserstein-1 distance when that family is the 1-Lipschitz functions. The generator
    minimizes -mean_j f(G(z_j)). Shapes: (B,) or (B, 1) and (B',) or (B', 1) -> scalar.
    """
    real, fake = _scores(real_scores, "real_scores"), _scores(fake_scores, "fake_scores")
    return fake.mean() - real.mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): the critic's gradient norm pushed to 1 between the sets.

    x_hat_i = eps_i x_i + (1 - eps_i) x~_i,  eps_i ~ U[0, 1], ONE weight per example (broadcast over
    the other axes);   GP = mean_i (||grad_x f(x_hat_i)||_2 - 1)^2.
    The gradient is built with ``create_graph=True`` so that GP trains the critic. ``fake`` is used
    as given (detach it first in a critic step). Shapes: real, fake (B, ...) -> scalar.
    """
    checks.function(critic, "critic")
    checks.tensor(real, "real", floating=True, min_dim=2)
    checks.tensor(fake, "fake", floating=True, min_dim=2)
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    # (B, 1, ..., 1): one interpolation weight per example
    eps = checks.rand((real.shape[0],) + (1,) * (real.dim() - 1), real, generator)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = _scores(critic(x_hat), "critic(x_hat)")
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(dim=1)                      # (B,)
    return ((norms - 1) ** 2).mean()


# --- networks ---------------------------------------------------------------------------------

def mlp_generator(latent_dim: int = 2, hidden: int = 64, out_dim: int = 2, layers: int = 2) -> nn.Sequential:
    """z (B, latent_dim) -> x (B, out_dim): an MLP with ``layers`` hidden ReLU layers, linear output."""
    return mlp([latent_dim] + [hidden] * layers + [out_dim])


def mlp_discriminator(in_dim: int = 2, hidden: int = 64, layers: int = 2) -> nn.Sequential:
    """x (B, in_dim) -> logit (B, 1): an MLP with ``layers`` hidden LeakyReLU(0.2) layers."""
    return mlp([in_dim] + [hidden] * layers + [1], activation=lambda: nn.LeakyReLU(0.2))


class ConvGenerator(nn.Module):
    """z (B, latent_dim) -> 8x8 images flattened (B, 64) in (0, 1).

    Linear -> (2C, 2, 2) -> ConvTranspose (C, 4, 4) -> ConvTranspose (1, 8, 8) -> sigmoid.
    """

    def __init__(self, latent_dim: int = 16, channels: int = 32):
        super().__init__()
        self.latent_dim, self.channels = latent_dim, channels
        self.project = nn.Sequential(nn.Linear(latent_dim, 2 * channels * 4), nn.BatchNorm1d(2 * channels * 4), nn.ReLU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, 2 * self.channels, 2, 2)       # (B, 2C, 2, 2)
        return torch.sigmoid(self.up(h)).flatten(1)                 # (B, 1, 8, 8) -> (B, 64)


class ConvDiscriminator(nn.Module):
    """8x8 images flattened (B, 64) -> logit (B, 1): two strided convolutions, then a linear layer."""

    def __init__(self, channels: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2),             # (C, 4, 4)
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (2C, 2, 2)
            nn.Flatten(), nn.Linear(2 * channels * 4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.view(-1, 1, 8, 8))


# --- training ---------------------------------------------------------------------------------

@dataclass
class GANConfig:
    steps: int = 2000            # generator updates
    batch_size: int = 128
    latent_dim: int = 2
    loss: str = "non_saturating"  # "non_saturating", "saturating" or "wgan_gp"
    d_steps: int = 1             # discriminator (critic) updates per generator update
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.9)
    gp_weight: float = 10.0      # WGAN-GP only
    pack: int = 1                # PacGAN: the discriminator judges packs of this many samples at once
    seed: int = 0                # noise and mini-batch order
    progress: bool = True
    description: str = "GAN"


LOSSES = ("non_saturating", "saturating", "wgan_gp")


def train_gan(generator: nn.Module, discriminator: nn.Module, data: torch.Tensor, config: GANConfig | None = None,
              snapshot: Callable[[int, nn.Module, nn.Module], object] | None = None,
              snapshot_every: int = 0) -> dict:
    """Alternate ``d_steps`` discriminator updates (fake samples detached) and one generator update.

    Real batches are drawn with replacement from ``data`` (N, ...); noise and draws come from one
    generator seeded with ``config.seed`` and live on ``data``'s device. Returns
    ``{"d_loss": [...], "g_loss": [...]}`` (one value per generator step; d_loss is the last critic
    step's loss, without the penalty) plus ``"seconds"`` and ``"snapshots"``:
    ``[(step, snapshot(step, G, D)), ...]`` at step 0 and every ``snapshot_every`` steps.
    """
    from tqdm.auto import tqdm

    config = config or GANConfig()
    if config.loss not in LOSSES:
        raise ValueError(f"config.loss must be one of {LOSSES}, got {config.loss!r}")
    checks.tensor(data, "data", floating=True, min_dim=2)
    if config.batch_size % config.pack:
        raise ValueError(f"config.batch_size must be a multiple of config.pack, got {config.batch_size}, {config.pack}")
    judge = discriminator if config.pack == 1 else (lambda x: discriminator(pack(x, config.pack)))
    g = torch.Generator(device=data.device).manual_seed(config.seed)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d, betas=config.betas)
    history = {"d_loss": [], "g_loss": [], "snapshots": [], "seconds": 0.0}
    noise = lambda: torch.randn(config.batch_size, config.latent_dim, generator=g, device=data.device, dtype=data.dtype)
    start = time.perf_counter()
    generator.train(), discriminator.train()
    bar = tqdm(range(config.steps), desc=config.description, disable=not config.progress)
    for step in bar:
        if snapshot is not None and snapshot_every and step % snapshot_every == 0:
            history["snapshots"].append((step, _snap(snapshot, step, generator, discriminator)))
        for _ in range(config.d_steps):
            real = data[torch.randint(0, data.shape[0], (config.batch_size,), generator=g, device=data.device)]
            fake = generator(noise()).detach()               # the generator gets no gradient here
            real_out, fake_out = judge(real), judge(fake)
            if config.loss == "wgan_gp":
                d_loss = wasserstein_critic_loss(real_out, fake_out)
                total = d_loss + config.gp_weight * gradient_penalty(judge, real, fake, generator=g)
            else:
                d_loss = total = discriminator_loss(real_out, fake_out)
            opt_d.zero_grad(set_to_none=True)
            total.backward()
            opt_d.step()
        fake_out = judge(generator(noise()))
        if config.loss == "wgan_gp":
            g_loss = -_scores(fake_out, "fake_scores").mean()
        else:
            g_loss = generator_loss(fake_out, non_saturating=config.loss == "non_saturating")
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        history["d_loss"].append(float(d_loss.detach()))
        history["g_loss"].append(float(g_loss.detach()))
        if step % 50 == 0:
            bar.set_postfix(d=f"{history['d_loss'][-1]:.3f}", g=f"{history['g_loss'][-1]:.3f}")
    if snapshot is not None and snapshot_every:
        history["snapshots"].append((config.steps, _snap(snapshot, config.steps, generator, discriminator)))
    generator.eval(), discriminator.eval()
    history["seconds"] = time.perf_counter() - start
    return history


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN packing (Lin et al. 2018): m consecutive samples side by side, (B, d) -> (B / m, m d).
    A discriminator that sees m samples at once can tell a generator that puts them all on one mode."""
    return x.reshape(x.shape[0] // m, -1)


def _snap(snapshot, step, generator, discriminator):
    was = generator.training, discriminator.training
    generator.eval(), discriminator.eval()
    with torch.no_grad():
        out = snapshot(step, generator, discriminator)
    generator.train(was[0]), discriminator.train(was[1])
    return out


@torch.no_grad()
def sample(generator: nn.Module, n: int, latent_dim: int, gen: torch.Generator | None = None,
           like: torch.Tensor | None = None) -> torch.Tensor:
    """n samples G(z), z ~ N(0, I) of shape (n, latent_dim) drawn from ``gen`` (on ``like``'s device/dtype)."""
    checks.positive_int(n, "n")
    like = like if like is not None else next(generator.parameters())
    was = generator.training
    generator.eval()
    x = generator(checks.randn((n, latent_dim), like, gen))
    generator.train(was)
    return x


# --- counting modes ---------------------------------------------------------------------------

def ring_means(k: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The k means of the ring of Gaussians of ``course_lib.data.ring_of_gaussians``, (k, 2)."""
    angle = 2 * math.pi * torch.arange(k) / k
    return radius * torch.stack([angle.cos(), angle.sin()], dim=1)


def mode_coverage(samples: torch.Tensor, means: torch.Tensor, std: float, within: float = 3.0,
                  min_share: float = 0.25) -> tuple[int, float]:
    """(modes covered, fraction of high-quality samples) of 2-D samples against a Gaussian mixture.

    A sample is high quality if it lies within ``within`` standard deviations of its nearest mean;
    a mode is covered if it holds at least ``min_share`` of its fair share (n / k) of such samples.
    Shapes: samples (n, d), means (k, d).
    """
    checks.tensor(samples, "samples", floating=True, min_dim=2)
    means = means.to(samples)
    dist = torch.cdist(samples, means)                       # (n, k)
    nearest, which = dist.min(dim=1)
    good = nearest <= within * std
    counts = torch.bincount(which[good], minlength=means.shape[0])
    covered = int((counts >= min_share * samples.shape[0] / means.shape[0]).sum())
    return covered, float(good.float().mean())


# --- the lecture's ring GANs ------------------------------------------------------------------

# Adam with its default momentum (beta1 = 0.9) and a large step: the generator overshoots, hops
# from mode to mode and collapses; the same run with beta1 = 0.5 (DCGAN's choice; less momentum
# damps the rotation of the game's gradient field) covers all 8 modes.
RING_COLLAPSE = GANConfig(steps=800, batch_size=128, latent_dim=2, loss="non_saturating", lr_g=2e-3, lr_d=2e-3,
                          betas=(0.9, 0.999), progress=False, description="ring GAN, beta1 = 0.9")
RING_FIX = GANConfig(steps=800, batch_size=128, latent_dim=2, loss="non_saturating", lr_g=2e-3, lr_d=2e-3,
                     betas=(0.5, 0.999), progress=False, description="ring GAN, beta1 = 0.5")


def train_ring_gan(config: GANConfig, seed: int = 0, hidden: int = 64, n: int = 2000, snapshot=None,
                   snapshot_every: int = 0) -> tuple[nn.Module, nn.Module, dict]:
    """Lecture 08's ring GAN: MLP generator and discriminator (``hidden`` units, discriminator input
    ``2 * config.pack``) trained with ``config`` on ``n`` points of the ring of 8 Gaussians (std 0.2).
    Weights are initialized from ``seed`` without touching the caller's global random state."""
    from .data import ring_of_gaussians

    data = ring_of_gaussians(n, seed=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = mlp_generator(config.latent_dim, hidden)
        disc = mlp_discriminator(2 * config.pack, hidden)
    if snapshot is None and snapshot_every:
        from .explorers.gan_training import ring_snapshot

        snapshot = ring_snapshot(config.latent_dim, pack=config.pack)
    config = GANConfig(**{**config.__dict__, "seed": seed})
    history = train_gan(gen, disc, data, config, snapshot=snapshot, snapshot_every=snapshot_every)
    return gen, disc, history


DIGITS_GAN = GANConfig(steps=600, batch_size=64, latent_dim=16, loss="non_saturating", lr_g=2e-3, lr_d=2e-3,
                       betas=(0.5, 0.999), progress=False, description="digits GAN")


def train_digits_gan(config: GANConfig = DIGITS_GAN, seed: int = 0, channels: int = 32,
                     device: torch.device | str = "cpu") -> tuple[ConvGenerator, ConvDiscriminator, dict]:
    """Lecture 08's digits GAN: :class:`ConvGenerator` / :class:`ConvDiscriminator` on the 1000
    training digits scaled to [0, 1] (x / 16); weights seeded by ``seed`` (global state untouched).
    The generator's samples times 16 are on the digits' 0..16 scale."""
    from .data import digits

    data = (digits("train")[0].float() / 16).to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen, disc = ConvGenerator(config.latent_dim, channels), ConvDiscriminator(channels)
    gen, disc = gen.to(device), disc.to(device)
    history = train_gan(gen, disc, data, GANConfig(**{**config.__dict__, "seed": seed}))
    return gen, disc, history
