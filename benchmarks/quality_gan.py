"""Model quality of lecture 08 (GANs), seeded, on the CPU.

    .venv/bin/python -m benchmarks.quality_gan [--full]

Rows:
- the ring of 8 Gaussians (std 0.2, radius 2): modes covered and the fraction of 2000 samples within
  3 standard deviations of a mode, over 5 seeds, reporting the WORST seed (fewest modes, then lowest
  fraction). Target: 8/8 modes and >= 90% in every seed. Notebook config: ``gan.RING_FIX`` (800
  steps); full config: 3000 steps at learning rate 1e-3.
- the digits GAN (``gan.train_digits_gan``): Frechet distance of 1000 samples to the 447 test digits
  in the features of the course's digits classifier, against the floor (training split vs test split
  in the same features; target: within 2x the floor), and the classification accuracy score (a
  classifier trained on 1000 samples labelled by the real-data classifier, tested on the real test
  digits) next to the real-data classifier's test accuracy.
Nothing is saved.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import torch

from course_grading.threads import one_thread
from course_lib import gan, metrics
from course_lib.data import digits

SEEDS = range(5)
RING_NOTEBOOK = gan.RING_FIX
RING_FULL = replace(gan.RING_FIX, steps=3000, lr_g=1e-3, lr_d=1e-3)
DIGITS_NOTEBOOK = gan.DIGITS_GAN
DIGITS_FULL = replace(gan.DIGITS_GAN, steps=3000)


def ring_row(config: gan.GANConfig, label: str) -> list[dict]:
    results = []
    start = time.perf_counter()
    for seed in SEEDS:
        generator, _, _ = gan.train_ring_gan(config, seed=seed)
        x = gan.sample(generator, 2000, config.latent_dim, torch.Generator().manual_seed(99))
        results.append((*gan.mode_coverage(x, gan.ring_means(), 0.2), seed))
    seconds = (time.perf_counter() - start) / len(SEEDS)
    modes, quality, seed = min(results)
    described = (f"{label}: MLP 64x2 players, non-saturating loss, {config.steps} steps, batch "
                 f"{config.batch_size}, Adam lr {config.lr_g}, betas {config.betas}, seeds 0-4, 1 thread")
    every = ", ".join(f"{m}/8 {q:.0%}" for m, q, _ in results)
    return [
        {"metric": "Ring GAN: modes covered, worst of 5 seeds", "value": f"{modes}/8 (seed {seed})",
         "target": "8/8", "config": f"{described}; per seed: {every}"},
        {"metric": "Ring GAN: samples within 3 std of a mode, worst of 5 seeds", "value": f"{quality:.1%}",
         "target": ">= 90%", "config": described},
        {"metric": "Ring GAN training time (per seed)", "value": f"{seconds:.1f} s",
         "target": "reported", "config": described},
    ]


def digits_rows(config: gan.GANConfig, label: str) -> list[dict]:
    start = time.perf_counter()
    generator, _, _ = gan.train_digits_gan(config, seed=0)
    seconds = time.perf_counter() - start
    fake = 16 * gan.sample(generator, 1000, config.latent_dim, torch.Generator().manual_seed(5))
    x_train, _ = digits("train")
    x_test, y_test = digits("test")
    feat_test = metrics.digits_features(x_test)
    floor = metrics.frechet_distance(metrics.digits_features(x_train), feat_test).item()
    fd = metrics.frechet_distance(metrics.digits_features(fake), feat_test).item()
    real_clf = metrics.digits_classifier()
    with torch.no_grad():
        labels = real_clf(fake).argmax(1)
    cas = metrics.classification_accuracy(metrics.train_digits_classifier(fake, labels, seed=0), x_test, y_test)
    real_acc = metrics.classification_accuracy(real_clf, x_test, y_test)
    described = (f"{label}: conv generator (latent {config.latent_dim}) and discriminator, 32 channels, "
                 f"non-saturating loss, {config.steps} steps, batch {config.batch_size}, Adam lr {config.lr_g}, "
                 f"betas {config.betas}, seed 0, 1 thread; 1000 samples vs the 447 test digits")
    return [
        {"metric": "Digits GAN training time", "value": f"{seconds:.1f} s", "target": "reported", "config": described},
        {"metric": "Digits GAN Frechet distance (classifier features) / train-vs-test floor",
         "value": f"{fd:.2f} / {floor:.2f} = {fd / floor:.1f}x", "target": "<= 2x", "config": described},
        {"metric": "Digits GAN classification accuracy score (test accuracy of a classifier trained on samples)",
         "value": f"{cas:.1%}", "target": f"reported next to real-data training: {real_acc:.1%}", "config": described},
    ]


@one_thread  # small models: one thread is faster than two on a shared CPU
def run(full: bool = False) -> list[dict]:
    label = "full" if full else "notebook"
    return (ring_row(RING_FULL if full else RING_NOTEBOOK, label)
            + digits_rows(DIGITS_FULL if full else DIGITS_NOTEBOOK, label))


if __name__ == "__main__":
    for row in run("--full" in sys.argv):
        print(f"{row['metric']}: {row['value']} (target {row['target']}) [{row['config']}]", flush=True)
