"""Model quality of lecture 03 (PCA and autoencoders), seeded, on the CPU.

    .venv/bin/python -m benchmarks.quality_pca [--full]

Rows: the linear autoencoder's largest principal angle to the PCA subspace, test reconstruction
error of PCA and of the MLP autoencoder at k = 4 and 8 on the digits, and the 1-D bottleneck on the
16-pixel manifold (error against the noise floor, rank correlation of the code with the hidden z).
``full`` is the lecture's ``FULL = True``: the linear autoencoder trains longer; the MLPs may train
longer too but keep their best validation epoch, which comes before epoch 120 here, so their rows
do not change.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import spearmanr

from course_grading.threads import one_thread
from course_lib.data import digits, manifold16
from course_lib.pca import (
    Autoencoder,
    AutoencoderConfig,
    LinearAutoencoder,
    pca,
    pca_project,
    pca_reconstruct,
    principal_angles,
    reconstruction_error,
)
from course_lib.train import FitConfig, fit


def _squared_error(model, batch):
    return reconstruction_error(batch, model(batch)).mean()


def _pca_error(x_fit: torch.Tensor, x_eval: torch.Tensor, k: int) -> float:
    mean, components, _ = pca(x_fit, k)
    return float(reconstruction_error(x_eval, pca_reconstruct(pca_project(x_eval, mean, components), mean, components)).mean())


@one_thread  # small models: one thread is faster than two on a shared CPU
def run(full: bool = False) -> list[dict]:
    return _rows(full)


def _rows(full: bool) -> list[dict]:
    x_train, x_val, x_test = (digits(s)[0].float() / 16 for s in ("train", "val", "test"))
    rows = []

    # Linear autoencoder -> PCA subspace (k = 4, full-batch Adam).
    k, epochs = 4, (4000 if full else 1500)
    torch.manual_seed(0)
    linear = LinearAutoencoder(64, k)
    fit(linear, _squared_error, x_train, None, FitConfig(epochs=epochs, batch_size=len(x_train), lr=0.05, progress=False))
    _, components, _ = pca(x_train, k)
    angle = math.degrees(float(principal_angles(linear.decoder.weight.T.detach(), components).max()))
    rows.append({"metric": "linear autoencoder: largest principal angle to the PCA subspace (digits, k = 4)",
                 "value": f"{angle:.4f} deg", "target": "< 1 deg",
                 "config": f"LinearAutoencoder(64, 4), full-batch Adam lr 0.05, {epochs} steps, seed 0"})

    # MLP autoencoder vs PCA on test digits.
    ae_epochs = 400 if full else 120
    for k in (4, 8):
        torch.manual_seed(k)
        model = Autoencoder(AutoencoderConfig(dim=64, latent=k))
        fit(model, _squared_error, x_train, x_val,
            FitConfig(epochs=ae_epochs, batch_size=128, lr=4e-3, patience=20, progress=False))
        with torch.no_grad():
            ae = float(reconstruction_error(x_test, model(x_test)).mean())
        rows.append({"metric": f"test reconstruction error, digits, k = {k}: autoencoder / PCA",
                     "value": f"{ae:.3f} / {_pca_error(x_train, x_test, k):.3f}",
                     "target": "autoencoder < PCA",
                     "config": f"Autoencoder hidden (128, 64), Adam lr 4e-3, batch 128, <= {ae_epochs} epochs, "
                               f"patience 20, 1000 train digits / 447 test, sum of squares per digit"})

    # 16-pixel manifold: a 1-D bottleneck.
    x16, _ = manifold16(2000, seed=0)
    x16_val, z16_val = manifold16(500, seed=1)
    torch.manual_seed(0)
    ae1 = Autoencoder(AutoencoderConfig(dim=16, latent=1, hidden=(64, 32), sigmoid_output=False))
    m_epochs = 300 if full else 100
    fit(ae1, _squared_error, x16, x16_val, FitConfig(epochs=m_epochs, batch_size=64, lr=3e-3, patience=20, progress=False))
    with torch.no_grad():
        err = float(reconstruction_error(x16_val, ae1(x16_val)).mean())
        code = ae1.encode(x16_val)[:, 0].numpy()
    rho = max(abs(spearmanr(code, (z16_val.numpy() - c) % 4)[0]) for c in np.linspace(0, 4, 161))
    rows.append({"metric": "16-pixel manifold, 1-D bottleneck: validation error (PCA k = 1 / noise floor 15 sigma^2)",
                 "value": f"{err:.3f} ({_pca_error(x16, x16_val, 1):.3f} / {15 * 0.05 ** 2:.4f})",
                 "target": "close to the noise floor",
                 "config": f"Autoencoder(16 -> 64 -> 32 -> 1), {m_epochs} epochs max, 2000 train / 500 val images"})
    rows.append({"metric": "16-pixel manifold, 1-D bottleneck: |rank correlation| of code and z, from the cut",
                 "value": f"{rho:.4f}", "target": "> 0.95",
                 "config": "Spearman, z counted from the best of 161 cut points (the data manifold is a loop)"})
    return rows


if __name__ == "__main__":
    import sys

    for row in run(full="--full" in sys.argv):
        print(row)
