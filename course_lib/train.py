"""A small fit loop shared by every lecture that trains something.

    history = fit(model, loss_fn, train_x, val_x, FitConfig(epochs=50, lr=1e-3))

``loss_fn(model, batch) -> scalar`` is the mean loss of a mini-batch; ``batch`` is a tensor, or a
tuple of tensors when the data is a tuple. The loop shows a ``tqdm.auto`` progress bar, tracks the
validation loss, stops early after ``patience`` epochs without improvement, restores the best
weights, and returns the history.

A committed notebook is rendered without its widgets, where a progress bar reads "0%". Lectures
therefore train with ``progress=False`` and print one line instead:

    history = fit(model, loss_fn, train_x, val_x, FitConfig(epochs=50, progress=False))
    print(summary(history, "autoencoder"))   # autoencoder: 50 epochs in 3.1 s, train 0.912, val 0.958 (best epoch 47)
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from . import checks

Data = torch.Tensor | Sequence[torch.Tensor]


@dataclass
class FitConfig:
    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int | None = None  # early stopping: epochs without a better validation loss
    seed: int = 0                # shuffling order (turned into the loop's torch.Generator once)
    progress: bool = True        # show a progress bar (lectures: False, and print summary(history))
    description: str = "training"
    lr_schedule: str = "constant"  # or "cosine": lr * (1 + cos(pi * step / total steps)) / 2, set every step


def _as_tuple(data: Data) -> tuple[torch.Tensor, ...]:
    if isinstance(data, torch.Tensor):
        return (data,)
    data = tuple(data)
    if not data or not all(isinstance(t, torch.Tensor) for t in data):
        raise TypeError("data must be a tensor or a non-empty tuple of tensors")
    n = data[0].shape[0]
    if any(t.shape[0] != n for t in data):
        raise ValueError(f"all tensors in data must have the same first dimension, got {[t.shape[0] for t in data]}")
    return data


def _batches(data: tuple[torch.Tensor, ...], batch_size: int, perm: torch.Tensor | None):
    n = data[0].shape[0]
    order = perm if perm is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        rows = order[start:start + batch_size]
        batch = tuple(t[rows.to(t.device)] for t in data)
        yield batch[0] if len(batch) == 1 else batch


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn: Callable, data: Data, batch_size: int = 512) -> float:
    """Mean of ``loss_fn`` over ``data`` (weighted by batch size), in eval mode."""
    data = _as_tuple(data)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in _batches(data, batch_size, None):
        size = (batch if isinstance(batch, torch.Tensor) else batch[0]).shape[0]
        total += float(loss_fn(model, batch)) * size
        count += size
    model.train(was_training)
    return total / count


def fit(model: nn.Module, loss_fn: Callable, train: Data, val: Data | None = None,
        config: FitConfig | None = None, optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Train ``model`` with Adam (or ``optimizer``) on mini-batches of ``train``.

    Returns ``{"train": [mean train loss per epoch], "val": [val loss per epoch],
    "best_epoch": int, "epochs": int, "seconds": float}``. With ``val`` given, the weights of the
    best validation epoch are restored at the end. ``config.lr_schedule="cosine"`` anneals the
    learning rate to 0 over ``config.epochs`` epochs (early stopping may end sooner).
    """
    from tqdm.auto import tqdm

    config = config or FitConfig()
    checks.function(loss_fn, "loss_fn")
    checks.positive_int(config.epochs, "config.epochs")
    checks.positive_int(config.batch_size, "config.batch_size")
    if config.lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"config.lr_schedule must be 'constant' or 'cosine', got {config.lr_schedule!r}")
    train = _as_tuple(train)
    val = _as_tuple(val) if val is not None else None
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = None
    if config.lr_schedule == "cosine":  # from the optimizer's lr down to 0 at the last step of the last epoch
        total_steps = config.epochs * math.ceil(train[0].shape[0] / config.batch_size)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps)))
    g = torch.Generator().manual_seed(checks.positive_int(config.seed, "config.seed", minimum=0))
    history = {"train": [], "val": [], "best_epoch": 0, "epochs": 0, "seconds": 0.0}
    best, best_state, stale = float("inf"), None, 0
    start = time.perf_counter()
    bar = tqdm(range(config.epochs), desc=config.description, disable=not config.progress)
    model.train()
    for epoch in bar:
        total, count = 0.0, 0
        perm = torch.randperm(train[0].shape[0], generator=g)
        for batch in _batches(train, config.batch_size, perm):
            loss = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            size = (batch if isinstance(batch, torch.Tensor) else batch[0]).shape[0]
            total += float(loss.detach()) * size
            count += size
        history["train"].append(total / count)
        postfix = {"train": f"{history['train'][-1]:.3f}"}
        if val is not None:
            v = evaluate(model, loss_fn, val)
            history["val"].append(v)
            postfix["val"] = f"{v:.3f}"
            if v < best:
                best, stale, history["best_epoch"] = v, 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
        bar.set_postfix(postfix)
        history["epochs"] = epoch + 1
        if config.patience is not None and val is not None and stale >= config.patience:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history["seconds"] = time.perf_counter() - start
    return history


def summary(history: dict, description: str = "training") -> str:
    """One line that says how a :func:`fit` run went, for the committed output of a lecture.

    "description: E epochs in S s, train T, val V (best epoch B)": T is the last epoch's mean training
    loss, V the best validation loss (whose weights ``fit`` restored), B counted from 1.
    """
    if not isinstance(history, dict) or not {"train", "val", "epochs", "seconds"} <= history.keys():
        raise TypeError(f"history must be the dict that fit returns, got {type(history).__name__}")
    line = f"{description}: {history['epochs']} epochs in {history['seconds']:.1f} s, train {history['train'][-1]:.4f}"
    if history["val"]:
        best = history["best_epoch"]
        line += f", val {history['val'][best]:.4f} (best epoch {best + 1})"
    return line
