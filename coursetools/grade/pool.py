"""A pool of grading workers (separate processes), fed one submission at a time.

A worker that dies, or that exceeds the whole-submission time limit, is killed and replaced by a
fresh one; its submission is reported as an error (died) or rejected (too slow).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait

from ..layout import REPO
from .state import Job, Outcome, Result
from .worker import WorkerSetup

WORKER_CODE = "from coursetools.grade.worker import worker_entry; worker_entry()"


class _Worker:
    def __init__(self, setup: WorkerSetup):
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        setup.base.mkdir(parents=True, exist_ok=True)
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER_CODE, str(to_worker_r), str(from_worker_w)],
            pass_fds=(to_worker_r, from_worker_w), stdin=subprocess.DEVNULL, cwd=str(setup.base),
            env={**os.environ, "PYTHONPATH": path})
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.tx = Connection(to_worker_w, readable=False)
        self.conn = Connection(from_worker_r, writable=False)
        self.tx.send(setup)
        self.setup = setup
        self.job: Job | None = None
        self.started = 0.0

    def send(self, job: Job) -> None:
        self.job, self.started = job, time.monotonic()
        self.tx.send(job)

    def stop(self, kill: bool = False) -> None:
        if not kill and self.process.poll() is None:
            try:
                self.tx.send(None)
                self.process.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.tx.close()
        self.conn.close()


def _receive(w: _Worker) -> tuple[Result, bool]:
    """The result the worker sent (and whether it lives on), or an error if it died."""
    job = w.job
    try:
        result = w.conn.recv()
    except (EOFError, OSError):
        code = w.process.poll()
        w.stop(kill=True)
        return Result(Outcome(job.assignment, job.student, "error", digest=job.digest,
                              reason=f"the grading worker died (exit code {code})")), False
    w.job = None
    return result, True


def _too_slow(job: Job, timeout: float) -> Result:
    reason = (f"grading took longer than {timeout:g} s, the limit for a whole submission "
              "(is there a loop that never ends, or one that ignores interrupts?)")
    return Result(Outcome(job.assignment, job.student, "rejected", digest=job.digest, reason=reason),
                  seconds=timeout)


def run_jobs(jobs: list[Job], setups: list[WorkerSetup], timeout: float) -> Iterator[Result]:
    """Grade ``jobs`` on ``len(setups)`` workers; yield each result as it arrives.

    A worker that dies or exceeds ``timeout`` on a submission is replaced by a fresh one.
    The consumer handles each result before the worker that produced it gets its next job.
    """
    pending = deque(jobs)
    workers: list[_Worker | None] = [None] * len(setups)
    try:
        while pending or any(w is not None and w.job is not None for w in workers):
            for i, w in enumerate(workers):
                if pending and (w is None or w.job is None):
                    if w is None:
                        w = workers[i] = _Worker(setups[i])
                    w.send(pending.popleft())
            busy = [w for w in workers if w is not None and w.job is not None]
            wait_for = max(0.0, min(w.started + timeout for w in busy) - time.monotonic())
            ready = wait([w.conn for w in busy], timeout=wait_for + 0.05)
            for w in busy:
                if w.conn in ready:
                    result, alive = _receive(w)
                    if not alive:
                        workers[workers.index(w)] = None
                    result.seconds = time.monotonic() - w.started
                    yield result
                elif time.monotonic() - w.started > timeout:
                    job = w.job
                    w.stop(kill=True)
                    workers[workers.index(w)] = None
                    yield _too_slow(job, timeout)
    finally:
        for w in workers:
            if w is not None:
                w.stop(kill=w.job is not None)
