"""Kill what a student's code left running inside a sandbox that used up its process budget.

Standard library only (imported by the grading worker's ``SandboxedExecute``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def _sandbox_tasks(outer_pid: int) -> dict[int, tuple[int, int]] | None:
    """{host pid: (pid inside the sandbox, number of threads)} of the live processes under the bwrap
    process ``outer_pid``; None if they have no PID namespace of their own (e.g. --unsafe)."""
    procs = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                          if ":" in line)
            procs[int(entry)] = (int(fields["PPid"]), fields["NSpid"].split(), fields["State"].split()[0],
                                 int(fields["Threads"]))
        except (OSError, KeyError, ValueError):
            continue
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found, todo, namespaced = {}, list(children.get(outer_pid, [])), False
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        _, nspid, state, threads = procs[pid]
        namespaced = namespaced or len(nspid) > 1
        if state != "Z":  # zombies wait for bwrap's init to reap them
            found[pid] = (int(nspid[-1]), threads)
    return found if namespaced else None


def reap_strays(outer_pid: int, limit: int, threshold: float = 0.75) -> int:
    """If the sandbox uses most of its process budget, kill every process but the kernel.

    bwrap's init is pid 1 inside the sandbox and the kernel pid 2; anything else was started by the
    student's code. Called after each cell: a fork bomb's children would otherwise keep the budget
    exhausted and leave the kernel unable to start a thread. Returns how many were killed.
    """
    import signal

    killed = 0
    for _ in range(10):
        tasks = _sandbox_tasks(outer_pid)
        if not tasks:
            return killed
        if killed == 0 and sum(n for _, n in tasks.values()) < threshold * limit:
            return 0
        strays = [pid for pid, (inner, _) in tasks.items() if inner > 2]
        if not strays:
            return killed
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.05)
    return killed
