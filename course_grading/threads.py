"""One torch thread for small work (hidden tests, quality benchmarks)."""

from __future__ import annotations

import functools

import torch


def one_thread(fn):
    """Decorator: run ``fn`` with one torch thread, then restore the previous count.

    For tiny tensors and small models (hidden tests, benchmarks): on a busy CPU, waking a second
    thread for each small operation costs far more than the operation itself.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)
    return wrapper
