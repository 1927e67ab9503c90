"""PCA and autoencoders (lecture 03).

PCA is the best rank-k linear autoencoder: :func:`pca` fits it by one SVD, :func:`pca_project`
encodes, :func:`pca_reconstruct` decodes, and :func:`principal_angles` measures how far apart two
k-dimensional subspaces are (to check that a :class:`LinearAutoencoder` trained by gradient descent
ends in the PCA subspace). :class:`Autoencoder` is the small nonlinear MLP autoencoder of the
lecture; :func:`reconstruction_error` is the per-example loss both kinds of model minimize, and
:func:`denoising_error` the loss of a denoising autoencoder (reconstruct x from a noisy copy).

Conventions: data are rows, ``x`` has shape (N, D); components are rows, shape (k, D); codes have
shape (N, k). Angles are in radians. Functions follow the device and dtype of their inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import checks, nets

# ----------------------------------------------------------------------------------------------
# PCA

def pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Principal component analysis of the rows of x, by the SVD of the centred data.

    mean = (1/N) sum_i x_i;   x - mean = U S V^T  (thin SVD, singular values S descending)
    components = first k rows of V^T (orthonormal rows, the directions of largest variance first)
    explained_variance_j = S_j^2 / (N - 1)  (the sample variance along component j, as scikit-learn)
    Signs are fixed so that the largest-magnitude entry of every component is positive.
    Shapes: x (N, D) with N >= 2, 1 <= k <= min(N, D) -> mean (D,), components (k, D),
    explained_variance (k,). Lecture 03, section 2.
    """
    x = checks.as_floating(checks.matrix(x, "x"))
    n, d = x.shape
    if n < 2:
        raise ValueError(f"x must have at least 2 rows, got {n}")
    if checks.positive_int(k, "k") > min(n, d):
        raise ValueError(f"k must be between 1 and min(N, D) = {min(n, d)}, got {k}")
    mean = x.mean(0)
    # (N, D) = (N, r) (r,) (r, D), r = min(N, D)
    _, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
    components = vh[:k]
    biggest = components.abs().argmax(1, keepdim=True)
    signs = torch.sign(components.gather(1, biggest))   # never 0: a unit row's largest entry is >= 1/sqrt(D)
    return mean, components * signs, s[:k] ** 2 / (n - 1)


def pca_project(x: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    """Encode: the coordinates of x - mean along the components.

    z = (x - mean) V_k^T
    Shapes: x (N, D), mean (D,), components (k, D) -> z (N, k).
    """
    x = checks.as_floating(checks.matrix(x, "x"))
    _check_components(mean, components)
    if x.shape[1] != components.shape[1]:
        raise ValueError(f"x must have {components.shape[1]} columns like components, got {x.shape[1]}")
    return (x - mean) @ components.T


def pca_reconstruct(z: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    """Decode: the point of the affine PCA subspace with coordinates z.

    x_hat = mean + z V_k   (for z = pca_project(x), the orthogonal projection of x on the subspace)
    Shapes: z (N, k), mean (D,), components (k, D) -> x_hat (N, D).
    """
    z = checks.as_floating(checks.matrix(z, "z", "(N, k)"))
    _check_components(mean, components)
    if z.shape[1] != components.shape[0]:
        raise ValueError(f"z must have {components.shape[0]} columns (one per component), got {z.shape[1]}")
    return mean + z @ components


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Principal angles (radians, ascending) between the row spaces of a (k, D) and b (l, D).

    With orthonormal bases Q_a, Q_b of the two spaces (D x k and D x l, by QR), the cosines are the
    singular values of Q_a^T Q_b and the sines those of Q_b - Q_a (Q_a^T Q_b); small angles are taken
    from the sines (arccos is inaccurate near 1), large ones from the cosines, as in
    scipy.linalg.subspace_angles (which lists them in descending order).
    0 everywhere iff one space contains the other. Shapes: (k, D), (l, D) -> (min(k, l),).
    """
    a, b = checks.float_tensors(a=checks.matrix(a, "a", "(k, D)"), b=checks.matrix(b, "b", "(l, D)"))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same number of columns, got {a.shape[1]} and {b.shape[1]}")
    if a.shape[0] > a.shape[1] or b.shape[0] > b.shape[1]:
        raise ValueError(f"a and b must have at most D = {a.shape[1]} rows, got {a.shape[0]} and {b.shape[0]}")
    if a.shape[0] < b.shape[0]:  # the angles are symmetric: let b be the smaller space
        a, b = b, a
    qa, _ = torch.linalg.qr(a.T)  # (D, k)
    qb, _ = torch.linalg.qr(b.T)  # (D, l), l <= k
    overlap = qa.T @ qb           # (k, l)
    cos = torch.linalg.svdvals(overlap).clamp(max=1)               # (l,) descending, in [0, 1]
    sin = torch.linalg.svdvals(qb - qa @ overlap).clamp(max=1)     # (l,) descending, in [0, 1]
    sin = sin.flip(0)                                              # pairs with cos: ascending
    small = cos ** 2 >= 0.5
    return torch.where(small, torch.arcsin(sin), torch.arccos(cos))


# ----------------------------------------------------------------------------------------------
# Autoencoders

def reconstruction_error(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Squared error of each reconstruction, summed over the features.

    err_i = ||x_i - x_hat_i||^2
    Shapes: x (N, D), x_hat (N, D) -> (N,). The caller averages.
    """
    checks.same_shape(x=x, x_hat=x_hat)
    return ((x - x_hat) ** 2).sum(-1)


def denoising_error(model: nn.Module, x: torch.Tensor, noise_std: float,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Squared error of reconstructing each clean x from a noisy copy of it (a denoising autoencoder).

    x_tilde = x + noise_std * eps,  eps ~ N(0, I);   err_i = ||x_i - model(x_tilde_i)||^2
    The model cannot copy its input to win: it must map noisy points back towards the data, so
    even a code as wide as the input learns something about the data (lecture 03, section 6).
    noise_std = 0 gives reconstruction_error(x, model(x)). Shapes: x (N, D) -> (N,).
    """
    x = checks.as_floating(checks.matrix(x, "x"))
    noise_std = checks.number(noise_std, "noise_std", low=0)
    x_tilde = x + noise_std * checks.randn(x.shape, x, generator)
    return reconstruction_error(x, model(x_tilde))


class LinearAutoencoder(nn.Module):
    """x -> z = W_e x + b_e (k numbers) -> x_hat = W_d z + b_d.

    Trained on the squared error, its decoder's columns span the top-k PCA subspace at the optimum
    (lecture 03, section 3): compare ``principal_angles(model.decoder.weight.T, components)``.
    Shapes: (N, dim) -> codes (N, latent) -> reconstructions (N, dim).
    """

    def __init__(self, dim: int, latent: int):
        super().__init__()
        if checks.positive_int(latent, "latent") > checks.positive_int(dim, "dim"):
            raise ValueError(f"latent must be between 1 and dim = {dim}, got {latent}")
        self.encoder = nn.Linear(dim, latent)
        self.decoder = nn.Linear(latent, dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


@dataclass
class AutoencoderConfig:
    dim: int = 64               # features of x (8 x 8 digits)
    latent: int = 8             # size of the bottleneck z
    hidden: tuple[int, ...] = (128, 64)  # widths of the encoder's hidden layers (mirrored in the decoder)
    sigmoid_output: bool = True  # squash reconstructions into [0, 1] (pixel intensities)


class Autoencoder(nn.Module):
    """A small MLP autoencoder: dim -> hidden... -> latent -> ...hidden -> dim (ReLU in between).

    A plain (deterministic, noiseless) bottleneck: nothing asks the codes to follow any
    distribution, which is why decoding z ~ N(0, I) does not give data (lecture 03, section 5).
    Shapes: (N, dim) -> codes (N, latent) -> reconstructions (N, dim).
    """

    def __init__(self, config: AutoencoderConfig | None = None):
        super().__init__()
        self.config = config = config or AutoencoderConfig()
        sizes = [config.dim, *config.hidden, config.latent]
        if min(sizes) < 1:
            raise ValueError(f"dim, latent and hidden sizes must be >= 1, got {config}")
        self.encoder = nets.mlp(sizes)
        self.decoder = nets.mlp(sizes[::-1])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(z)
        return torch.sigmoid(out) if self.config.sigmoid_output else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


# ----------------------------------------------------------------------------------------------
# Checks particular to this module, below the formulas (the shared ones are in course_lib.checks).

def _check_components(mean, components) -> None:
    """A PCA model: components (k, D) and a mean (D,) like one of their rows."""
    if checks.tensor(mean, "mean").shape != checks.matrix(components, "components", "(k, D)").shape[1:]:
        raise ValueError(f"mean must have shape ({components.shape[1]},) like a row of components, "
                         f"got {tuple(mean.shape)}")
