"""Does fit's one-line summary say what the history holds (the line a committed lecture shows)?"""

import math

import pytest
import torch

from course_lib.train import FitConfig, fit, summary


def test_summary_reports_epochs_last_train_loss_and_the_restored_best_validation_epoch():
    history = {"train": [3.0, 2.0, 1.5], "val": [2.5, 1.25, 1.75], "best_epoch": 1, "epochs": 3, "seconds": 0.44}
    assert summary(history, "toy") == "toy: 3 epochs in 0.4 s, train 1.5000, val 1.2500 (best epoch 2)"


def test_summary_without_validation_data_and_of_a_real_fit():
    x = torch.linspace(-1, 1, 32)[:, None]
    model = torch.nn.Linear(1, 1)
    history = fit(model, lambda m, b: ((m(b) - 2 * b) ** 2).mean(), x, None,
                  FitConfig(epochs=3, batch_size=8, lr=0.1, progress=False))
    line = summary(history)
    assert line.startswith("training: 3 epochs in ") and "val" not in line
    assert f"train {history['train'][-1]:.4f}" in line


def test_summary_rejects_what_fit_did_not_return():
    with pytest.raises(TypeError, match="history"):
        summary([1.0, 2.0])


def _lrs_seen(config: FitConfig) -> tuple[list[float], float]:
    """The learning rate at every step of a fit on 10 points, and the one the optimizer ends with."""
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    seen = []

    def loss_fn(m, b):
        seen.append(optimizer.param_groups[0]["lr"])
        return ((m(b) - b) ** 2).mean()

    fit(model, loss_fn, torch.linspace(-1, 1, 10)[:, None], None, config, optimizer=optimizer)
    return seen, optimizer.param_groups[0]["lr"]


def test_the_learning_rate_is_constant_by_default_and_cosine_annealed_to_zero_on_request():
    seen, last = _lrs_seen(FitConfig(epochs=2, batch_size=4, lr=0.1, progress=False))
    assert seen == [0.1] * 6 and last == 0.1
    seen, last = _lrs_seen(FitConfig(epochs=2, batch_size=4, lr=0.1, progress=False, lr_schedule="cosine"))
    # 3 steps per epoch, 6 in all: lr * (1 + cos(pi * step / 6)) / 2 before each step, 0 after the last
    assert seen == pytest.approx([0.1 * (1 + math.cos(math.pi * k / 6)) / 2 for k in range(6)])
    assert last == pytest.approx(0.0, abs=1e-12)


def test_an_unknown_learning_rate_schedule_is_refused():
    with pytest.raises(ValueError, match="lr_schedule"):
        fit(torch.nn.Linear(1, 1), lambda m, b: m(b).mean(), torch.zeros(4, 1), None,
            FitConfig(epochs=1, progress=False, lr_schedule="linear"))
