"""Kernel uids under root: each grading kernel gets one that no kernel on this machine has had since boot."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

#: Kernel uids start here, far above any real user's; ``sandbox.kernel_uid(slot)`` (probes) takes
#: UID_BASE + slot, :func:`fresh_uid` (grading kernels) the uids above UID_BASE + UID_PROBES.
UID_BASE = 1_900_000_000

#: Where, as root, the next never-used kernel uid is kept (a tmpfs: cleared at reboot, when nothing
#: a kernel uid owned -- processes, keyrings, IPC -- can persist any more).
UID_COUNTER = Path(os.environ.get("COURSE_UID_COUNTER", "/run/coursetools-next-uid"))
#: Fresh uids are taken from [UID_BASE + UID_PROBES, UID_LAST]; the first UID_PROBES are kernel_uid's.
UID_PROBES = 1024
UID_LAST = 2**32 - 3  # 2**32 - 1 is (uid_t) -1, and 65534 (nobody) is far below UID_BASE


def fresh_uid() -> int:
    """A uid no kernel on this machine has had since boot (as root; one per kernel).

    Taken from a counter file under an ``flock``, so concurrent grading runs (other courses or
    assignments) never share one: per-uid budgets (RLIMIT_NPROC) and per-uid state that outlives
    the sandbox (the kernel's user keyring) belong to that one kernel alone.
    """
    UID_COUNTER.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(UID_COUNTER, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            uid = int(os.pread(fd, 32, 0).decode() or 0)
        except ValueError:
            uid = 0
        if not UID_BASE + UID_PROBES <= uid <= UID_LAST:
            uid = UID_BASE + UID_PROBES
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{uid + 1}\n".encode(), 0)
        return uid
    finally:
        os.close(fd)
