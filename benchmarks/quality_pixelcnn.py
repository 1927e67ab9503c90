"""Model quality of lecture 07 (PixelCNN on the 8x8 digits; character n-grams), seeded, on the CPU.

    .venv/bin/python -m benchmarks.quality_pixelcnn [--full]

Rows: the PixelCNN's exact test negative log-likelihood on the 447 test digits (nats per image, levels
0..16, so the uniform model's 64 log 17 = 181.3 nats is the scale) and the same number in bits per
dimension; its training time; the time to sample 64 digits (64 sequential network passes). Targets:
notebook configuration (the one lecture 07 trains) <= 90 nats, full configuration <= 84, where the Deep
Generative Modeling book's autoregressive model measured here gets 86.36 after 9.1 min. The notebook
run adds the character n-gram perplexity table of the lecture (held-out standard-library docstrings).
The configurations are ``course_lib.pixelcnn.LECTURE_CONFIGS``. Nothing is saved.
"""

from __future__ import annotations

import sys
import time

import torch

from course_grading.threads import one_thread
from course_lib.data import digits
from course_lib.metrics import bits_per_dim, perplexity
from course_lib.ngram import ALPHABET, CharNGram, stdlib_text
from course_lib.pixelcnn import LECTURE_CONFIGS, PixelCNN, pixelcnn_loss
from course_lib.train import FitConfig, fit

NGRAM_ORDERS = range(1, 8)
NGRAM_ALPHA = 0.01


def train(full: bool = False, progress: bool = False, seed: int = 0) -> tuple[PixelCNN, list[dict]]:
    """Train the notebook (or full) PixelCNN on the first 1000 digits, early-stopped on the next 350,
    one ``fit`` per stage of its configuration; returns the model and the stages' histories."""
    model_config, *stages = LECTURE_CONFIGS["full" if full else "notebook"]
    torch.manual_seed(seed)
    model = PixelCNN(model_config)
    histories = []
    for i, fit_config in enumerate(stages):
        fit_config = FitConfig(**{**fit_config.__dict__, "progress": progress, "seed": seed + i})
        histories.append(fit(model, pixelcnn_loss, digits("train")[0], digits("val")[0], fit_config))
    return model, histories


def ngram_table() -> str:
    """'n=1: PPL, n=2: PPL, ...' on the held-out docstrings (additive smoothing NGRAM_ALPHA)."""
    text_train, text_test = stdlib_text()
    cells = []
    for n in NGRAM_ORDERS:
        nll, count = CharNGram(n, NGRAM_ALPHA).fit(text_train).nll(text_test)
        cells.append(f"n={n}: {float(perplexity(nll, count)):.2f}")
    return ", ".join(cells)


@one_thread  # small models: one thread is faster than two on a shared CPU
def run(full: bool = False) -> list[dict]:
    start, cpu_start = time.perf_counter(), time.process_time()
    model, histories = train(full)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    with torch.no_grad():
        nll = -model.log_prob(digits("test")[0]).mean().item()
    start = time.perf_counter()
    model.sample(64, generator=torch.Generator().manual_seed(0), progress=False)
    sampling = time.perf_counter() - start
    model_config, *stages = LECTURE_CONFIGS["full" if full else "notebook"]
    schedule = " then ".join(f"Adam lr {c.lr}: {h['epochs']} epochs (best {h['best_epoch'] + 1}, patience {c.patience})"
                             for c, h in zip(stages, histories))
    config = (f"{'full' if full else 'notebook'}: 7x7 'A' + {model_config.layers} residual 3x3 'B' layers, "
              f"{model_config.channels} channels, 17-way softmax per pixel, batch {stages[0].batch_size}, "
              f"{schedule}, seed 0, 1 thread")
    rows = [
        {"metric": "PixelCNN training time, digits (1000 train / 350 val)", "value": f"{seconds:.1f} s ({cpu_seconds:.1f} s CPU)",
         "target": "<= 600 s" if full else "<= 60 s (2 cores)", "config": config},
        {"metric": "PixelCNN test NLL, digits (nats per image)", "value": f"{nll:.2f}",
         "target": "<= 84 (book ARM: 86.36 after 9.1 min)" if full else "<= 90", "config": config},
        {"metric": "PixelCNN test bits per dimension, digits", "value": f"{float(bits_per_dim(nll, 64)):.3f}",
         "target": "reported (uniform: log2 17 = 4.087)", "config": config},
        {"metric": "PixelCNN: sample 64 digits (64 sequential passes)", "value": f"{sampling:.2f} s",
         "target": "reported", "config": config},
    ]
    if not full:
        rows.append({"metric": "character n-gram test perplexity (stdlib docstrings)", "value": ngram_table(),
                     "target": f"reported (uniform: {len(ALPHABET)})",
                     "config": f"additive smoothing alpha = {NGRAM_ALPHA}, every 10th docstring held out"})
    return rows


if __name__ == "__main__":
    for row in run("--full" in sys.argv):
        print(f"{row['metric']}: {row['value']} (target {row['target']}) [{row['config']}]")
