"""Model quality of lecture 09 (SimCLR on the 8x8 digits), seeded, on the CPU.

    .venv/bin/python -m benchmarks.quality_contrastive [--full]

Rows: SimCLR's training time, and the linear-probe test accuracy (447 test digits) at 1, 5 and 10
labelled training digits per class (mean and spread over 5 random draws of the labelled digits) and
with all 1000 labels, for SimCLR's representation h, raw pixels and PCA codes (k = 16). Target: at
10 labels per class SimCLR beats raw pixels and PCA by >= 5 points. The notebook config is the
encoder lecture 09 trains (120 epochs); the full config trains the same encoder for 300. Nothing is saved.
"""

from __future__ import annotations

import sys
import time

import torch

from course_grading.threads import one_thread
from course_lib.contrastive import DigitEncoder, few_labels, linear_probe, probe_features, simclr_loss
from course_lib.data import digits
from course_lib.pca import pca, pca_project
from course_lib.train import FitConfig, fit

# The lecture's two configurations (lectures/09_contrastive.ipynb, FULL = False / True).
TEMPERATURE = 0.1
NOTEBOOK = FitConfig(epochs=120, batch_size=128, lr=3e-3, progress=False)
FULL = FitConfig(epochs=300, batch_size=128, lr=3e-3, progress=False)
BUDGETS = (1, 5, 10, None)   # labelled digits per class; None: all labels
DRAWS = 5


def train(full: bool = False, seed: int = 0) -> tuple[DigitEncoder, dict]:
    """SimCLR on the 1000 training digits (pixels / 16), no labels."""
    config = FitConfig(**{**(FULL if full else NOTEBOOK).__dict__, "seed": seed})
    x = digits("train")[0].float() / 16
    torch.manual_seed(seed)
    model = DigitEncoder()
    g = torch.Generator().manual_seed(seed)
    history = fit(model, lambda m, b: simclr_loss(m, b, TEMPERATURE, g), x, None, config)
    return model, history


def probe(f_train, y_train, f_test, y_test, per_class) -> torch.Tensor:
    """Probe accuracies (%) over DRAWS labelled subsets (one value with all labels)."""
    if per_class is None:
        return torch.tensor([100 * linear_probe(f_train, y_train, f_test, y_test)])
    accs = []
    for seed in range(DRAWS):
        rows = few_labels(y_train, per_class, torch.Generator().manual_seed(seed))
        accs.append(100 * linear_probe(f_train[rows], y_train[rows], f_test, y_test))
    return torch.tensor(accs)


@one_thread  # small models: one thread is faster than two on a shared CPU
def run(full: bool = False) -> list[dict]:
    return _rows(full)


def _rows(full: bool) -> list[dict]:
    x_train, y_train = digits("train")
    x_test, y_test = digits("test")
    x_train, x_test = x_train.float() / 16, x_test.float() / 16
    start = time.perf_counter()
    model, history = train(full)
    seconds = time.perf_counter() - start
    mean, components, _ = pca(x_train, 16)
    features = {
        "SimCLR h": (probe_features(model, x_train), probe_features(model, x_test)),
        "raw pixels": (x_train, x_test),
        "PCA k = 16": (pca_project(x_train, mean, components), pca_project(x_test, mean, components)),
    }
    fit_config = FULL if full else NOTEBOOK
    config = (f"{'full' if full else 'notebook'}: DigitEncoder (conv 32-64, h 128, z 32), symmetric InfoNCE "
              f"tau {TEMPERATURE}, augment defaults, Adam lr {fit_config.lr}, "
              f"batch {fit_config.batch_size}, {history['epochs']} epochs, seed 0, 1 thread; "
              f"probe: linear_probe (C = 1, standardized), {DRAWS} draws of the labelled digits")
    rows = [{"metric": "SimCLR training time, digits (1000 unlabelled)", "value": f"{seconds:.1f} s",
             "target": "<= 600 s" if full else "<= 60 s (2 cores)", "config": config}]
    at10 = {}
    for name, (f_train, f_test) in features.items():
        for per_class in BUDGETS:
            accs = probe(f_train, y_train, f_test, y_test, per_class)
            budget = "all labels" if per_class is None else f"{per_class} labels / class"
            value = (f"{accs.mean():.1f} %" if per_class is None
                     else f"{accs.mean():.1f} ± {accs.std(unbiased=False):.1f} %")
            if per_class == 10:
                at10[name] = accs.mean().item()
            target = "reported"
            if per_class == 10 and name == "SimCLR h":
                target = ">= raw pixels + 5 and >= PCA + 5"
            rows.append({"metric": f"linear probe, digits test accuracy, {name}, {budget}", "value": value,
                         "target": target, "config": config})
    margin = min(at10["SimCLR h"] - at10["raw pixels"], at10["SimCLR h"] - at10["PCA k = 16"])
    rows.append({"metric": "linear probe at 10 labels / class: SimCLR minus the better of raw pixels and PCA",
                 "value": f"{margin:.1f} points", "target": ">= 5 points", "config": config})
    return rows


if __name__ == "__main__":
    for row in run("--full" in sys.argv):
        print(f"{row['metric']}: {row['value']} (target {row['target']}) [{row['config']}]")
