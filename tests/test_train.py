"""Does fit's one-line summary say what the history holds (the line a committed lecture shows)?"""

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
