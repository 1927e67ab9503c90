"""Oracle of the gan_training explorer (lecture 08): a fresh run of the lecture's ring GAN up to the
slider's step, and the modes of its samples counted by brute force.

The explorer looks its numbers up in snapshots stored during one training run; here the run is
repeated (seeded, one torch thread, as the lecture trains) and stopped at the step shown.
"""

from __future__ import annotations

from dataclasses import replace

import torch


def oracle(values: dict[str, float]) -> dict[str, float]:
    from course_lib.data import ring_of_gaussians  # noqa: F401  (the data the run trains on)
    from course_lib.explorers.gan_training import N_SAMPLES, RING_STD
    from course_lib.gan import RING_FIX, ring_means, train_ring_gan

    step = int(round(values["step"]))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen, _, _ = train_ring_gan(replace(RING_FIX, steps=step), seed=0)
    finally:
        torch.set_num_threads(threads)
    z = torch.randn(N_SAMPLES, RING_FIX.latent_dim, generator=torch.Generator().manual_seed(99))
    with torch.no_grad():
        x = gen.eval()(z)
    # brute force: distance of every sample to every mean
    means = ring_means()
    near = [[float(((p - m) ** 2).sum().sqrt()) for m in means] for p in x]
    good = [(min(d), d.index(min(d))) for d in near]
    good = [j for dist, j in good if dist <= 3 * RING_STD]
    counts = [good.count(j) for j in range(len(means))]
    covered = sum(c >= 0.25 * N_SAMPLES / len(means) for c in counts)
    return {"step": float(step), "modes covered": float(covered), "within 3 std": len(good) / N_SAMPLES}
