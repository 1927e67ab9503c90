"""What a grading run may do (:class:`Options`) and why it may refuse to start."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..sandbox import Limits


class GradingRefused(RuntimeError):
    """Grading cannot start (no sandbox and no --unsafe, unknown assignment, broken source)."""


@dataclass
class Options:
    workers: int = 0                   # 0: os.cpu_count()
    unsafe: bool = False               # grade without the sandbox (limits only)
    cell_timeout: int | None = None    # seconds per cell; None: derived by the canary (driver.cell_limit)
    submission_timeout: int = 900      # seconds for a whole submission (then: rejected)
    limits: Limits = field(default_factory=Limits)
    force: bool = False                # regrade even what is graded and unchanged
