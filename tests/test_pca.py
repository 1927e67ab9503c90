"""Does pca agree with scikit-learn, principal_angles with scipy, and a trained linear autoencoder with PCA?"""

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from course_lib.pca import (
    Autoencoder,
    AutoencoderConfig,
    LinearAutoencoder,
    denoising_error,
    pca,
    pca_project,
    pca_reconstruct,
    principal_angles,
    reconstruction_error,
)


def anisotropic_data(n=60, d=6, seed=0, dtype=torch.float64, offset=10.0):
    """Rows with clearly distinct variances along a random rotation and a mean far from 0."""
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5, 0.25][:d], dtype=dtype)
    rotation, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=dtype))
    mean = offset + torch.randn(d, generator=g, dtype=dtype)
    return mean + (torch.randn(n, d, generator=g, dtype=dtype) * scales) @ rotation


@pytest.mark.parametrize("k", [1, 3, 6])
@pytest.mark.parametrize("seed", [0, 1])
def test_pca_matches_scikit_learn_up_to_sign(k, seed):
    x = anisotropic_data(seed=seed)
    mean, components, variance = pca(x, k)
    ref = PCA(n_components=k, svd_solver="full").fit(x.numpy())
    assert mean.shape == (6,) and components.shape == (k, 6) and variance.shape == (k,)
    np.testing.assert_allclose(mean.numpy(), ref.mean_, rtol=1e-12)
    np.testing.assert_allclose(variance.numpy(), ref.explained_variance_, rtol=1e-10)
    # Same directions up to sign: |<c_mine, c_ref>| = 1 for every row.
    np.testing.assert_allclose(np.abs((components.numpy() * ref.components_).sum(1)), np.ones(k), atol=1e-10)


def test_pca_components_are_orthonormal_sorted_and_sign_fixed():
    x = anisotropic_data(n=200, d=6, seed=3)
    _, components, variance = pca(x, 4)
    torch.testing.assert_close(components @ components.T, torch.eye(4, dtype=x.dtype))
    assert bool((variance[:-1] > variance[1:]).all())
    biggest = components.abs().argmax(1)
    assert bool((components[torch.arange(4), biggest] > 0).all())


def test_pca_on_float32_and_integer_input():
    x = anisotropic_data(seed=4).float()
    mean, components, variance = pca(x, 2)
    assert mean.dtype == components.dtype == variance.dtype == torch.float32
    ref = PCA(n_components=2).fit(x.double().numpy())
    np.testing.assert_allclose(variance.numpy(), ref.explained_variance_, rtol=1e-4)
    mean_int, _, _ = pca(x.round().long(), 2)
    assert mean_int.dtype.is_floating_point


def test_project_and_reconstruct_match_scikit_learn():
    x = anisotropic_data(seed=5)
    ref = PCA(n_components=3).fit(x.numpy())
    mean, components, _ = pca(x, 3)
    z = pca_project(x, mean, components)
    signs = np.sign((components.numpy() * ref.components_).sum(1))
    np.testing.assert_allclose(z.numpy() * signs, ref.transform(x.numpy()), atol=1e-10)
    np.testing.assert_allclose(pca_reconstruct(z, mean, components).numpy(),
                               ref.inverse_transform(ref.transform(x.numpy())), atol=1e-10)


def test_reconstruction_error_is_sum_of_discarded_variances():
    # (1/N) sum_i ||x_i - x_hat_i||^2 = (N - 1)/N * sum_{j > k} lambda_j  (Eckart-Young)
    x = anisotropic_data(n=80, seed=6)
    mean, components, _ = pca(x, 2)
    _, _, all_variances = pca(x, 6)
    err = reconstruction_error(x, pca_reconstruct(pca_project(x, mean, components), mean, components))
    assert err.shape == (80,)
    torch.testing.assert_close(err.mean(), all_variances[2:].sum() * 79 / 80)


def test_pca_beats_random_subspaces_of_the_same_size():
    x = anisotropic_data(n=80, seed=7)
    mean, components, _ = pca(x, 2)
    best = reconstruction_error(x, pca_reconstruct(pca_project(x, mean, components), mean, components)).mean()
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        q, _ = torch.linalg.qr(torch.randn(6, 2, generator=g, dtype=x.dtype))
        other = q.T
        err = reconstruction_error(x, pca_reconstruct(pca_project(x, mean, other), mean, other)).mean()
        assert err >= best


@pytest.mark.parametrize("ka,kb", [(3, 3), (4, 2), (1, 5), (5, 5)])
def test_principal_angles_match_scipy(ka, kb):
    g = torch.Generator().manual_seed(ka * 10 + kb)
    a = torch.randn(ka, 7, generator=g, dtype=torch.float64)
    b = torch.randn(kb, 7, generator=g, dtype=torch.float64)
    expected = np.sort(subspace_angles(a.T.numpy(), b.T.numpy()))  # scipy: columns, descending
    # Two subspaces of R^7 share at least ka + kb - 7 dimensions: that many angles are exactly 0.
    # scipy returns them only to about 1e-8 (it varies with the version), so the oracle for those is
    # the exact 0; every other angle must match scipy's to 1e-12.
    shared = max(0, ka + kb - 7)
    assert np.all(expected[:shared] < 1e-7)
    expected[:shared] = 0.0
    np.testing.assert_allclose(principal_angles(a, b).numpy(), expected, atol=1e-12)


def test_principal_angles_are_accurate_for_tiny_angles_and_zero_for_the_same_space():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(3, 8, generator=g, dtype=torch.float64)
    b = a + 1e-7 * torch.randn(3, 8, generator=g, dtype=torch.float64)
    expected = np.sort(subspace_angles(a.T.numpy(), b.T.numpy()))
    np.testing.assert_allclose(principal_angles(a, b).numpy(), expected, rtol=1e-5)
    mix = torch.randn(3, 3, generator=g, dtype=torch.float64) @ a  # another basis of the same space
    assert float(principal_angles(a, mix).max()) < 1e-7


def test_principal_angle_of_two_lines_in_the_plane():
    theta = 0.3
    a = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    b = torch.tensor([[np.cos(theta), np.sin(theta)]], dtype=torch.float64)
    torch.testing.assert_close(principal_angles(a, b), torch.tensor([theta], dtype=torch.float64))
    torch.testing.assert_close(principal_angles(a, -b), torch.tensor([theta], dtype=torch.float64))


def test_bad_input_is_rejected_with_the_argument_named():
    x = anisotropic_data()
    with pytest.raises(ValueError, match="k must be between"):
        pca(x, 7)
    with pytest.raises(ValueError, match="x must have shape"):
        pca(x[0], 1)
    mean, components, _ = pca(x, 2)
    with pytest.raises(ValueError, match="z must have 2 columns"):
        pca_reconstruct(torch.zeros(4, 3, dtype=x.dtype), mean, components)
    with pytest.raises(ValueError, match="mean must have shape"):
        pca_project(x, mean[:3], components)
    with pytest.raises(ValueError, match="same number of columns"):
        principal_angles(torch.zeros(1, 3), torch.zeros(1, 4))
    with pytest.raises(TypeError, match="k must be an integer, got float"):
        pca(x, 2.0)
    with pytest.raises(TypeError, match="x must be a tensor, got ndarray"):
        pca(x.numpy(), 2)
    with pytest.raises(ValueError, match=r"x and x_hat must have the same shape, got \(2, 3\) and \(2, 4\)"):
        reconstruction_error(torch.zeros(2, 3), torch.zeros(2, 4))


def test_linear_autoencoder_trained_by_gradient_descent_finds_the_pca_subspace():
    torch.manual_seed(0)
    x = anisotropic_data(n=200, d=6, seed=8, offset=1.0).float()
    _, components, _ = pca(x, 2)
    model = LinearAutoencoder(6, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 500 tiny steps: a second thread only adds waiting on a busy machine
    try:
        for _ in range(500):
            loss = reconstruction_error(x, model(x)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    angles = principal_angles(model.decoder.weight.T.detach(), components)
    assert float(angles.max()) < np.radians(0.1)


def test_autoencoder_shapes_and_output_range():
    model = Autoencoder(AutoencoderConfig(dim=16, latent=3, hidden=(8,)))
    x = torch.rand(5, 16)
    assert model.encode(x).shape == (5, 3)
    out = model(x)
    assert out.shape == (5, 16) and bool(((out > 0) & (out < 1)).all())
    raw = Autoencoder(AutoencoderConfig(dim=16, latent=1, hidden=(8, 4), sigmoid_output=False))
    assert raw.decode(torch.full((2, 1), 100.0)).abs().max() > 1  # no squashing
    with pytest.raises(ValueError):
        Autoencoder(AutoencoderConfig(latent=0))


class PageAutoencoder(torch.nn.Module):
    """The autoencoder as lecture 03 writes it on the page (section 4), repeated as the oracle."""

    def __init__(self, k):
        super().__init__()
        nn = torch.nn
        self.encoder = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, k))
        self.decoder = nn.Sequential(nn.Linear(k, 64), nn.ReLU(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64))

    def forward(self, x):
        return torch.sigmoid(self.decoder(self.encoder(x)))


def test_the_lectures_on_page_autoencoder_and_losses_agree_with_the_library():
    torch.manual_seed(3)
    page = PageAutoencoder(8)
    lib = Autoencoder(AutoencoderConfig(dim=64, latent=8))
    lib.load_state_dict(page.state_dict())
    x = torch.rand(7, 64)
    torch.testing.assert_close(lib(x), page(x))
    # the page's losses: squared error summed over pixels, averaged over the batch, of a clean or noisy input
    torch.testing.assert_close(reconstruction_error(x, lib(x)).mean(), ((x - page(x)) ** 2).sum(1).mean())
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    got = denoising_error(lib, x, 0.3, torch.Generator().manual_seed(5)).mean()
    torch.testing.assert_close(got, ((x - page(x + 0.3 * noise)) ** 2).sum(1).mean())


def test_denoising_error_without_noise_is_the_reconstruction_error_and_noise_hurts_the_identity():
    x = torch.rand(50, 6, dtype=torch.float64)
    identity = torch.nn.Identity()
    assert torch.equal(denoising_error(identity, x, 0.0), reconstruction_error(x, x))
    # the identity copies the noise: its expected error is D * noise_std^2 per example
    big = torch.rand(20000, 6, dtype=torch.float64)
    err = denoising_error(identity, big, 0.5, torch.Generator().manual_seed(0))
    assert err.shape == (20000,) and err.dtype == torch.float64
    assert abs(float(err.mean()) - 6 * 0.25) < 0.03
    with pytest.raises(ValueError, match="noise_std"):
        denoising_error(identity, x, -1.0)
