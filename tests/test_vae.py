"""course_lib.vae against independent oracles: torch.distributions, a linear-Gaussian model whose
evidence and posterior are exact, autograd, brute force."""

import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MultivariateNormal, Normal, kl_divergence

from course_lib import vae as V
from course_lib.train import FitConfig, fit


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


# --- reparameterize ----------------------------------------------------------------------------

def test_reparameterized_samples_have_mean_mu_and_variance_exp_log_var():
    n = 20000
    mu = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    log_var = torch.tensor([-1.2, 0.0, 1.3], dtype=torch.float64)
    z = V.reparameterize(mu.expand(n, 3), log_var.expand(n, 3), generator=seeded(1))
    var = log_var.exp()
    assert ((z.mean(0) - mu).abs() < 5 * (var / n).sqrt()).all()
    assert ((z.var(0) / var - 1).abs() < 5 * math.sqrt(2 / (n - 1))).all()


def test_gradients_of_a_sample_follow_the_chain_rule():
    mu = torch.randn(4, 2, generator=seeded(2), dtype=torch.float64, requires_grad=True)
    log_var = torch.randn(4, 2, generator=seeded(3), dtype=torch.float64, requires_grad=True)
    z = V.reparameterize(mu, log_var, generator=seeded(4))
    weights = torch.randn(4, 2, generator=seeded(5), dtype=torch.float64)
    grad_mu, grad_log_var = torch.autograd.grad((weights * z).sum(), [mu, log_var])
    # z = mu + exp(log_var / 2) eps: dz/dmu = 1, dz/dlog_var = exp(log_var / 2) eps / 2 = (z - mu) / 2
    torch.testing.assert_close(grad_mu, weights)
    torch.testing.assert_close(grad_log_var, weights * (z - mu).detach() / 2)


def test_the_same_generator_seed_gives_the_same_sample_and_validation_names_the_argument():
    mu, log_var = torch.zeros(3), torch.zeros(3)
    assert torch.equal(V.reparameterize(mu, log_var, seeded(7)), V.reparameterize(mu, log_var, seeded(7)))
    with pytest.raises(ValueError, match="mu and log_var"):
        V.reparameterize(torch.zeros(3), torch.zeros(2))
    with pytest.raises(TypeError, match="log_var"):
        V.reparameterize(torch.zeros(3), [0.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="generator"):
        V.reparameterize(mu, log_var, generator=0)


# --- gaussian_kl_standard ----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 6), (1,)])
def test_kl_to_the_standard_normal_agrees_with_torch_distributions(shape):
    g = seeded(sum(shape))
    mu = 2 * torch.randn(shape, generator=g, dtype=torch.float64)
    log_var = 3 * torch.rand(shape, generator=g, dtype=torch.float64) - 1.5
    q = Independent(Normal(mu, (0.5 * log_var).exp()), 1)
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    out = V.gaussian_kl_standard(mu, log_var)
    assert out.shape == shape[:-1]
    torch.testing.assert_close(out, kl_divergence(q, prior))


def test_kl_is_zero_at_the_prior_and_positive_elsewhere():
    assert V.gaussian_kl_standard(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0
    mu, log_var = torch.randn(10, 4, generator=seeded(8)), torch.randn(10, 4, generator=seeded(9))
    assert (V.gaussian_kl_standard(mu, log_var) > 0).all()
    with pytest.raises(ValueError, match="latent axis"):
        V.gaussian_kl_standard(torch.tensor(0.0), torch.tensor(0.0))


# --- elbo and iwae_bound on a linear-Gaussian model ---------------------------------------------

class Decoder:
    """p(x | z) = N(W z + b, s^2 I) in the contract's form: log_prob(x) summed over the pixels."""

    def __init__(self, w, b, s):
        self.w, self.b, self.s = w, b, s

    def __call__(self, z):
        return Independent(Normal(z @ self.w.T + self.b, self.s), 1)


class Encoder:
    """q(z | x) = N(A x + c, diag v), the same variance for every x."""

    def __init__(self, a, c, log_var):
        self.a, self.c, self.log_var = a, c, log_var

    def __call__(self, x):
        mu = x @ self.a.T + self.c
        return mu, self.log_var.expand(mu.shape)


@pytest.fixture
def toy():
    """z ~ N(0, I_2), x | z ~ N(W z + b, s^2 I_3) with orthogonal columns of W, so the exact
    posterior N(m(x), S) has a diagonal S and is an encoder of the contract's form."""
    g = seeded(10)
    q, _ = torch.linalg.qr(torch.randn(3, 2, generator=g, dtype=torch.float64))
    s = 0.7
    w = q * torch.tensor([1.2, 2.0], dtype=torch.float64)
    b = torch.randn(3, generator=g, dtype=torch.float64)
    x = torch.randn(5, 2, generator=g, dtype=torch.float64) @ w.T + b + s * torch.randn(5, 3, generator=g, dtype=torch.float64)
    evidence = MultivariateNormal(b, w @ w.T + s ** 2 * torch.eye(3, dtype=torch.float64)).log_prob(x)
    post_cov = torch.linalg.inv(torch.eye(2, dtype=torch.float64) + w.T @ w / s ** 2)
    a = post_cov @ w.T / s ** 2
    exact = Encoder(a, -a @ b, post_cov.diagonal().log())
    return {"x": x, "decoder": Decoder(w, b, s), "exact": exact, "evidence": evidence,
            "post_cov": post_cov, "a": a}


def test_iwae_with_the_exact_posterior_is_the_evidence_for_every_k(toy):
    for k in (1, 7):
        out = V.iwae_bound(toy["x"], toy["exact"], toy["decoder"], k, generator=seeded(k))
        torch.testing.assert_close(out, toy["evidence"], rtol=0, atol=1e-10)


def test_elbo_with_the_exact_posterior_is_the_evidence(toy):
    out = V.elbo(toy["x"], toy["exact"], toy["decoder"], k=20000, generator=seeded(11))
    assert out.shape == (5,)
    # the Monte Carlo part averages 20000 samples: a few hundredths of a nat
    torch.testing.assert_close(out, toy["evidence"], rtol=0, atol=0.03)


def test_elbo_falls_short_of_the_evidence_by_kl_to_the_posterior(toy):
    shift = torch.tensor([0.3, -0.2], dtype=torch.float64)
    log_var = toy["post_cov"].diagonal().log() + torch.tensor([0.4, -0.3], dtype=torch.float64)
    other = Encoder(toy["a"], toy["exact"].c + shift, log_var)
    mu, _ = other(toy["x"])
    post_mean, _ = toy["exact"](toy["x"])
    gap = kl_divergence(MultivariateNormal(mu, torch.diag(log_var.exp())),
                        MultivariateNormal(post_mean, toy["post_cov"]))
    out = V.elbo(toy["x"], other, toy["decoder"], k=20000, generator=seeded(12))
    torch.testing.assert_close(out, toy["evidence"] - gap, rtol=0, atol=0.03)
    assert (gap > 0.1).all()
    # the importance-weighted bound closes most of the gap with 2000 samples
    iwae = V.iwae_bound(toy["x"], other, toy["decoder"], 2000, generator=seeded(13))
    assert ((toy["evidence"] - iwae).abs() < 0.05).all()
    assert (iwae > out).all()


def test_log_weights_average_to_the_evidence(toy):
    log_w = V.log_weights(toy["x"], toy["exact"], toy["decoder"], 4, generator=seeded(14))
    assert log_w.shape == (4, 5)
    torch.testing.assert_close(log_w, toy["evidence"].expand(4, 5), rtol=0, atol=1e-10)


def test_a_decoder_that_does_not_sum_over_pixels_is_refused(toy):
    def per_pixel(z):
        return Normal(z @ toy["decoder"].w.T, 1.0)   # log_prob(x) would be (k, B, D)

    with pytest.raises(ValueError, match="Independent"):
        V.elbo(toy["x"], toy["exact"], per_pixel)
    with pytest.raises(ValueError, match="k must be"):
        V.iwae_bound(toy["x"], toy["exact"], toy["decoder"], 0)
    with pytest.raises(TypeError, match=r"\(mu, log_var\)"):
        V.elbo(toy["x"], lambda x: x, toy["decoder"])


def test_the_elbo_is_differentiable_in_encoder_and_decoder_parameters(toy):
    w = toy["decoder"].w.clone().requires_grad_(True)
    c = toy["exact"].c.clone().requires_grad_(True)
    out = V.elbo(toy["x"], Encoder(toy["a"], c, toy["exact"].log_var), Decoder(w, toy["decoder"].b, 0.7), k=3)
    grad_w, grad_c = torch.autograd.grad(out.sum(), [w, c])
    assert grad_w.abs().sum() > 0 and grad_c.abs().sum() > 0


# --- the VAE for digits ------------------------------------------------------------------------

def digits_batch(n=6):
    g = seeded(15)
    return torch.randint(0, 17, (n, 64), generator=g)


@pytest.mark.parametrize("rank", [None, 3])
def test_categorical_decoder_log_prob_is_the_sum_of_log_softmax_over_pixels(rank):
    torch.manual_seed(0)
    dec = V.CategoricalDecoder(latent_dim=4, data_dim=64, hidden=16, levels=17, rank=rank)
    z = torch.randn(2, 6, 4)          # (k, B, L)
    x = digits_batch()
    dist = dec(z)
    logits = dist.base_dist.logits    # (2, 6, 64, 17)
    # oracle: log_softmax over the 17 levels, picked at each pixel's level, summed over pixels
    expected = torch.log_softmax(logits, -1).gather(-1, x.expand(2, 6, 64)[..., None]).squeeze(-1).sum(-1)
    torch.testing.assert_close(dist.log_prob(x), expected)
    assert dist.log_prob(x).shape == (2, 6)


@pytest.mark.parametrize("likelihood", ["categorical", "bernoulli", "gaussian"])
def test_every_likelihood_gives_per_example_bounds_and_a_trainable_loss(likelihood):
    torch.manual_seed(0)
    model = V.VAE(V.VAEConfig(latent_dim=3, hidden=16, likelihood=likelihood))
    x = digits_batch()
    if likelihood == "bernoulli":
        x = V.binarize(x)
    elif likelihood == "gaussian":
        x = x / 16.0
    assert model.elbo(x, k=2).shape == (6,)
    assert model.iwae_bound(x, k=5).shape == (6,)
    loss = model.loss(x)
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in model.parameters() if p.requires_grad)
    images = model.mean_image(torch.randn(4, 3))
    assert images.shape == (4, 64)
    if likelihood != "gaussian":   # a Gaussian decoder's mean is not confined to [0, 1]
        assert images.min() >= 0 and images.max() <= 1 + 1e-6
    assert model.sample(5, generator=seeded(1)).shape == (5, 64)


def test_rate_plus_distortion_is_minus_the_one_sample_elbo():
    torch.manual_seed(0)
    model = V.VAE(V.VAEConfig(latent_dim=3, hidden=16))
    x = digits_batch()
    rate, distortion = model.rate_distortion(x, generator=seeded(3))
    torch.testing.assert_close(rate + distortion, -model.elbo(x, k=1, generator=seeded(3)))
    assert (rate >= 0).all()


def test_expected_image_of_a_categorical_is_the_mean_level_over_16():
    probs = torch.softmax(torch.randn(2, 64, 17, generator=seeded(4)), -1)
    levels = torch.arange(17.0)
    brute = torch.stack([sum(probs[i, :, v] * levels[v] for v in range(17)) for i in range(2)]) / 16
    torch.testing.assert_close(V.expected_image(Independent(Categorical(probs=probs), 1)), brute)


def test_latent_grid_runs_left_to_right_and_top_to_bottom():
    grid = V.latent_grid(lambda z: z, 3, lim=1.0)   # "images" that are the latents themselves
    expected = torch.tensor([[-1, 1], [0, 1], [1, 1], [-1, 0], [0, 0], [1, 0], [-1, -1], [0, -1], [1, -1]],
                            dtype=torch.float32)
    torch.testing.assert_close(grid, expected)
    torch.manual_seed(0)
    model = V.VAE(V.VAEConfig(latent_dim=2, hidden=8))
    assert V.latent_grid(model.decoder, 4).shape == (16, 64)
    with pytest.raises(ValueError, match="n must be"):
        V.latent_grid(model.mean_image, 0)


def test_a_few_epochs_of_training_lower_the_test_loss():
    from course_lib.data import digits

    torch.manual_seed(0)
    x_train, _ = digits("train")
    x_test, _ = digits("test")
    model = V.VAE(V.VAEConfig(latent_dim=4, hidden=64, level_rank=2))
    before = -model.elbo(x_test, generator=seeded(0)).mean().item()
    fit(model, V.VAE.loss, x_train[:300], config=FitConfig(epochs=5, batch_size=50, lr=3e-3, progress=False))
    after = -model.elbo(x_test, generator=seeded(0)).mean().item()
    assert after < before - 30   # untrained: about 64 log 17 = 181 nats


# --- the latent explorer (course_lib.explorers.latent) -----------------------------------------------

def test_latent_explorer_shows_the_prior_density_of_z_and_the_decoded_image():
    from course_lib.explorers.latent import LatentExplorer, prior_values

    torch.manual_seed(0)
    model = V.VAE(V.VAEConfig(latent_dim=2, hidden=16))
    explorer = LatentExplorer(model, x=digits_batch(20), labels=torch.arange(20) % 10)
    explorer.sliders["z1"].value = 1.0
    explorer.sliders["z2"].value = -0.5
    # oracle: torch.distributions' 2-D standard normal and the chi-square(2) tail exp(-r^2 / 2)
    z = torch.tensor([1.0, -0.5], dtype=torch.float64)
    log_p = Independent(Normal(torch.zeros(2, dtype=torch.float64), 1.0), 1).log_prob(z).item()
    assert explorer.values["log p(z)"] == pytest.approx(log_p)
    assert explorer.values["P(|Z|>|z|)"] == pytest.approx(math.exp(-0.5 * 1.25))
    assert prior_values(0.0, 0.0)["P(|Z|>|z|)"] == 1.0
    with torch.no_grad():
        expected = model.mean_image(torch.tensor([[1.0, -0.5]]))[0].reshape(8, 8)
    torch.testing.assert_close(torch.from_numpy(explorer.decoded_image()), expected)
    assert 'data-name="log p(z)"' in explorer.numbers.value
    assert explorer._repr_mimebundle_()["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert all(not s.continuous_update for s in explorer.sliders.values())


def test_latent_explorer_needs_a_two_dimensional_latent():
    from course_lib.explorers.latent import LatentExplorer

    with pytest.raises(ValueError, match="latent_dim == 2"):
        LatentExplorer(V.VAE(V.VAEConfig(latent_dim=3, hidden=8)))


# --- the one-page model of lecture 04 is the library's VAE --------------------------------------

def _lecture_04_page():
    """Run the notebook cell that writes the VAE on one page; return its namespace."""
    from pathlib import Path

    import nbformat

    notebook = nbformat.read(Path(__file__).resolve().parents[1] / "lectures" / "04_elbo_vae.ipynb", as_version=4)
    sources = [c.source for c in notebook.cells
               if c.cell_type == "code" and c.source.startswith("# --- the VAE of this lecture on one page")]
    assert len(sources) == 1, "lecture 04 must have exactly one cell with the VAE on one page"
    namespace = {"torch": torch, "nn": torch.nn, "Categorical": Categorical, "Independent": Independent}
    exec(sources[0], namespace)
    return namespace


@pytest.mark.parametrize("latent_dim, hidden, rank", [(8, 32, 2), (3, 16, 4)])
def test_the_lecture_04_page_model_gives_the_library_loss_with_the_same_weights(latent_dim, hidden, rank):
    page = _lecture_04_page()
    torch.manual_seed(0)
    model = V.VAE(V.VAEConfig(latent_dim=latent_dim, hidden=hidden, level_rank=rank))
    encoder = page["Encoder"](latent_dim=latent_dim, hidden=hidden)
    decoder = page["LevelDecoder"](latent_dim=latent_dim, hidden=hidden, rank=rank)
    # the same parameter names and shapes: strict loading fails on any difference of architecture
    encoder.load_state_dict(model.encoder.state_dict())
    decoder.load_state_dict(model.decoder.state_dict())
    x = torch.randint(0, 17, (6, 64), generator=seeded(7))
    eps = torch.randn(6, latent_dim, generator=seeded(8))
    rate, distortion = model.rate_distortion(x, generator=seeded(8))   # the library draws the same eps
    torch.testing.assert_close(page["negative_elbo"](encoder, decoder, x, eps), rate + distortion)
    mu, log_var = encoder(x)
    torch.testing.assert_close(mu, model.encoder(x)[0])
    torch.testing.assert_close(log_var, model.encoder(x)[1])
