"""course_lib.gan against independent oracles: torch's binary cross-entropy, autograd by hand on
critics with known gradients, the closed-form optimal discriminator, brute-force mode counts."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib import gan as G
from course_lib.data import ring_of_gaussians


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


# --- the players' losses -------------------------------------------------------------------------

def test_discriminator_loss_is_binary_cross_entropy_with_real_labelled_one():
    real = 3 * torch.randn(7, generator=seeded(1), dtype=torch.float64)
    fake = 3 * torch.randn(5, 1, generator=seeded(2), dtype=torch.float64)
    expected = (F.binary_cross_entropy(torch.sigmoid(real), torch.ones(7, dtype=torch.float64))
                + F.binary_cross_entropy(torch.sigmoid(fake[:, 0]), torch.zeros(5, dtype=torch.float64)))
    torch.testing.assert_close(G.discriminator_loss(real, fake), expected)


def test_losses_stay_finite_for_confident_logits():
    big = torch.tensor([200.0, -200.0])
    for value in (G.discriminator_loss(big, big), G.generator_loss(big), G.generator_loss(big, False)):
        assert torch.isfinite(value)


def test_generator_losses_match_their_probability_forms_and_gradients():
    fake = torch.randn(9, generator=seeded(3), dtype=torch.float64, requires_grad=True)
    d = torch.sigmoid(fake)
    torch.testing.assert_close(G.generator_loss(fake), -torch.log(d).mean())
    torch.testing.assert_close(G.generator_loss(fake, non_saturating=False), torch.log(1 - d).mean())
    # d/dlogit: -(1 - D) / B for the non-saturating loss, -D / B for the saturating one
    (g_ns,) = torch.autograd.grad(G.generator_loss(fake), fake)
    (g_sat,) = torch.autograd.grad(G.generator_loss(fake, non_saturating=False), fake)
    torch.testing.assert_close(g_ns, -(1 - d.detach()) / 9)
    torch.testing.assert_close(g_sat, -d.detach() / 9)


def test_at_the_optimal_discriminator_the_loss_is_log4_minus_twice_the_jsd():
    # two discrete distributions on 5 points; D* = p / (p + q), logits log p - log q
    p = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15], dtype=torch.float64)
    q = torch.tensor([0.3, 0.3, 0.1, 0.2, 0.1], dtype=torch.float64)
    m = (p + q) / 2
    jsd = 0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum()
    logit = (p / q).log()
    # expectations instead of sample means: weight each point's loss by its probability
    expected_loss = (p * F.softplus(-logit)).sum() + (q * F.softplus(logit)).sum()
    torch.testing.assert_close(expected_loss, math.log(4) - 2 * jsd)
    # the library's loss on a "sample" that holds every point in proportion (1000 draws, exact)
    counts_p, counts_q = (p * 1000).round().long(), (q * 1000).round().long()
    real = torch.repeat_interleave(logit, counts_p)
    fake = torch.repeat_interleave(logit, counts_q)
    torch.testing.assert_close(G.discriminator_loss(real, fake), expected_loss)


def test_wasserstein_critic_loss_is_mean_fake_minus_mean_real():
    real, fake = torch.tensor([1.0, 2.0, 6.0]), torch.tensor([[0.5], [1.5]])
    torch.testing.assert_close(G.wasserstein_critic_loss(real, fake), torch.tensor(1.0 - 3.0))


def test_losses_name_the_bad_argument():
    with pytest.raises(TypeError, match="real_logits"):
        G.discriminator_loss([1.0], torch.zeros(2))
    with pytest.raises(ValueError, match="fake_logits"):
        G.discriminator_loss(torch.zeros(3), torch.zeros(3, 2))
    with pytest.raises(TypeError, match="non_saturating"):
        G.generator_loss(torch.zeros(3), non_saturating="yes")


# --- gradient penalty ----------------------------------------------------------------------------

class LinearCritic(torch.nn.Module):
    """f(x) = w . x: its gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_penalty_of_a_linear_critic_is_norm_minus_one_squared_and_trains_the_critic():
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)          # ||w|| = 5
    critic = LinearCritic(w.clone())
    real = torch.randn(6, 2, generator=seeded(4), dtype=torch.float64)
    fake = torch.randn(6, 2, generator=seeded(5), dtype=torch.float64)
    gp = G.gradient_penalty(critic, real, fake, generator=seeded(6))
    torch.testing.assert_close(gp, torch.tensor(16.0, dtype=torch.float64))
    gp.backward()   # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    torch.testing.assert_close(critic.w.grad, 2 * 4 * w / 5)


def test_penalty_uses_one_weight_per_example_at_points_between_real_and_fake():
    seen = []

    def critic(x):           # f(x) = ||x||^2 / 2 has gradient x: the penalty sees the interpolates
        seen.append(x.detach())
        return 0.5 * x.flatten(1).square().sum(1)

    real = torch.randn(400, 1, 2, 3, generator=seeded(7), dtype=torch.float64)
    fake = torch.randn(400, 1, 2, 3, generator=seeded(8), dtype=torch.float64)
    gp = G.gradient_penalty(critic, real, fake, generator=seeded(9))
    (x_hat,) = seen
    # x_hat = fake + eps (real - fake): recover eps per example by least squares
    d = (real - fake).flatten(1)
    eps = ((x_hat - fake).flatten(1) * d).sum(1) / d.square().sum(1)
    torch.testing.assert_close((fake + eps[:, None, None, None] * (real - fake)), x_hat)
    assert eps.min() >= 0 and eps.max() <= 1
    assert eps.std() > 0.2 and abs(eps.mean() - 0.5) < 0.05      # U[0, 1]: sd 0.29, mean 1/2
    torch.testing.assert_close(gp, ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean())


def test_penalty_is_reproducible_and_rejects_mismatched_shapes():
    critic = LinearCritic(torch.tensor([1.0, 2.0]))
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    torch.testing.assert_close(G.gradient_penalty(critic, real, fake, seeded(1)),
                               G.gradient_penalty(critic, real, fake, seeded(1)))
    with pytest.raises(ValueError, match="real and fake"):
        G.gradient_penalty(critic, real, torch.randn(3, 2))
    with pytest.raises(TypeError, match="critic"):
        G.gradient_penalty(3, real, fake)


# --- networks, sampling, mode counting ------------------------------------------------------------

def test_networks_have_the_documented_shapes():
    torch.manual_seed(0)
    z = torch.randn(5, 16)
    assert G.mlp_generator(2, 8)(torch.randn(5, 2)).shape == (5, 2)
    assert G.mlp_discriminator(2, 8)(torch.randn(5, 2)).shape == (5, 1)
    x = G.ConvGenerator(16, 8)(z)
    assert x.shape == (5, 64) and bool(((x > 0) & (x < 1)).all())
    assert G.ConvDiscriminator(8)(x).shape == (5, 1)


def test_mode_coverage_counts_by_brute_force():
    means = G.ring_means(8, 2.0)
    data = ring_of_gaussians(4000, std=0.2, seed=1)
    assert G.mode_coverage(data, means, 0.2) [0] == 8
    # brute force: the fraction of points within 0.6 of some mean
    near = torch.stack([(data - m).norm(dim=1) <= 0.6 for m in means]).any(0).float().mean()
    assert G.mode_coverage(data, means, 0.2)[1] == pytest.approx(float(near))
    collapsed = means[[0, 3]].repeat(50, 1) + 0.01
    assert G.mode_coverage(collapsed, means, 0.2) == (2, 1.0)


def test_the_training_loop_records_both_players_and_never_feeds_the_generator_in_the_d_step():
    torch.manual_seed(0)
    data = ring_of_gaussians(256, seed=0)
    gen, disc = G.mlp_generator(2, 16), G.mlp_discriminator(2, 16)
    cfg = G.GANConfig(steps=6, batch_size=32, progress=False, loss="wgan_gp", d_steps=2)
    h = G.train_gan(gen, disc, data, cfg, snapshot=lambda s, g, d: s, snapshot_every=3)
    assert len(h["d_loss"]) == len(h["g_loss"]) == 6
    assert [s for s, _ in h["snapshots"]] == [0, 3, 6]
    # same seed, same models -> same run
    torch.manual_seed(0)
    gen2, disc2 = G.mlp_generator(2, 16), G.mlp_discriminator(2, 16)
    h2 = G.train_gan(gen2, disc2, data, cfg)
    assert h2["d_loss"] == h["d_loss"]
    with pytest.raises(ValueError, match="config.loss"):
        G.train_gan(gen, disc, data, G.GANConfig(loss="hinge", progress=False))


@pytest.mark.slow
def test_the_lectures_ring_gan_covers_every_mode():
    """The notebook's configuration (lecture 08) on its seed: all 8 modes."""
    from course_lib.gan import RING_FIX, train_ring_gan

    gen, _, _ = train_ring_gan(RING_FIX, seed=0)
    covered, _ = G.mode_coverage(G.sample(gen, 2000, RING_FIX.latent_dim, seeded(99)), G.ring_means(), 0.2)
    assert covered == 8


# --- lecture 08's on-page code agrees with the library -------------------------------------------

def test_the_lectures_on_page_losses_and_penalty_agree_with_the_library():
    """The few lines lecture 08 writes on the page (sections 2 and 6), repeated here as the oracle."""
    def page_discriminator_loss(real_logits, fake_logits):
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def page_generator_loss(fake_logits, non_saturating=True):
        return F.softplus(-fake_logits).mean() if non_saturating else -F.softplus(fake_logits).mean()

    def page_gradient_penalty(critic, real, fake, generator=None):
        eps = torch.rand(real.shape[0], 1, generator=generator, dtype=real.dtype)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
        return ((grad.norm(dim=1) - 1) ** 2).mean()

    real, fake = 3 * torch.randn(100, generator=seeded(0)), 3 * torch.randn(80, generator=seeded(1))
    torch.testing.assert_close(G.discriminator_loss(real, fake), page_discriminator_loss(real, fake))
    for ns in (True, False):
        torch.testing.assert_close(G.generator_loss(fake, non_saturating=ns), page_generator_loss(fake, ns))
    torch.manual_seed(0)
    critic = G.mlp_discriminator(2, 32)
    x, y = torch.randn(64, 2, generator=seeded(2)), torch.randn(64, 2, generator=seeded(3))
    torch.testing.assert_close(G.gradient_penalty(critic, x, y, generator=seeded(4)),
                               page_gradient_penalty(critic, x, y, generator=seeded(4)))
