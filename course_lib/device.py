"""Picking the device a notebook runs on, and seeding it.

Library functions never choose a device (they follow their inputs, ``x.device``) and never seed
anything (they take a ``generator``). Only notebooks call :func:`default_device` and
:func:`seed_everything`, once, in their first cell.
"""

from __future__ import annotations

import os

import torch

ENV_VAR = "COURSE_DEVICE"


def available_devices() -> list[torch.device]:
    """Every device this machine can run on, CPU first: [cpu, (cuda), (mps)]."""
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    if _mps_available():
        devices.append(torch.device("mps"))
    return devices


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def default_device() -> torch.device:
    """The device notebooks use: ``$COURSE_DEVICE`` if set, else cuda, else mps, else cpu.

    ``COURSE_DEVICE=cpu ./course lab`` forces the CPU, e.g. to compare timings.
    """
    name = os.environ.get(ENV_VAR, "").strip()
    if name:
        try:
            device = torch.device(name)
        except RuntimeError as err:
            raise ValueError(f"{ENV_VAR} must name a torch device, got {name!r}") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{ENV_VAR}={name!r} but CUDA is not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("mps") if _mps_available() else torch.device("cpu")


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed torch, numpy and random; return a CPU ``torch.Generator`` seeded with ``seed``.

    For a notebook's first cell only (so that its models start from the same weights on every run);
    library functions take the returned generator instead of relying on the global seed.
    """
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
