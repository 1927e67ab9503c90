"""``grade()``: find what is left to grade, run the pool, merge each result as it arrives."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .. import sandbox
from ..layout import REPO, Course
from .merge import merge
from .options import GradingRefused, Options
from .pool import run_jobs
from .scratch import prepare
from .state import Job, Outcome, discover
from .worker import WorkerSetup


def _short_tmp() -> Path:
    # IPC socket paths must stay under ~100 characters.
    base = Path(tempfile.gettempdir())
    return base if len(str(base)) < 40 else Path("/tmp")


def _remove_stale_runs(base: Path) -> None:
    """Scratch folders of grading runs that were killed (their owner process is gone)."""
    for run_dir in base.glob("cg-*"):
        try:
            pid = int((run_dir / "owner.pid").read_text())
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(run_dir, ignore_errors=True)
        except (OSError, ValueError):
            continue


def _say(line: str) -> None:
    print(line, flush=True)  # progress shows at once, also through a pipe (| tee log)


def _check(course: Course, names: list[str] | None, options: Options) -> list[str]:
    """The assignments to grade; refuses without a sandbox (unless unsafe) or for unknown names."""
    if not options.unsafe:
        reason = sandbox.problem()
        if reason:
            raise GradingRefused(f"refusing to run student code without a sandbox: {reason}")
    known = course.assignments()
    names = names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise GradingRefused(f"no such assignment in {course.source()}: {', '.join(unknown)}")
    return names


def _run(course: Course, jobs: list[Job], options: Options, n_workers: int, run_dir: Path,
         say: Callable[[str], None]) -> list[Outcome]:
    """Templates, workers, and each result merged into the course as it arrives."""
    templates = {a: prepare(course.root, a, run_dir) for a in sorted({j.assignment for j in jobs})}
    cid = next(iter(templates.values())).course_id
    setups = [WorkerSetup(i, run_dir / f"w{i}", course.root, templates, options) for i in range(n_workers)]
    outcomes = []
    for result in run_jobs(jobs, setups, options.submission_timeout):
        if result.outcome.status == "rejected" and not result.outcome.max_score:
            result.outcome.max_score = templates[result.outcome.assignment].max_score
        outcome = merge(course.root, cid, result)
        outcomes.append(outcome)
        say(f"[{len(outcomes):>{len(str(len(jobs)))}}/{len(jobs)}] {outcome.line()}")
    return outcomes


def grade(root: Path = REPO, names: list[str] | None = None, students: list[str] | None = None,
          options: Options | None = None, say: Callable[[str], None] = _say) -> list[Outcome]:
    """Grade every collected, not yet graded submission of ``names`` (default: all assignments)."""
    options = options or Options()
    course = Course(root)
    names = _check(course, names, options)
    jobs, done = discover(course, names, students, options.force)
    if not jobs:
        say(f"nothing to grade ({done} submissions already graded; --force regrades them)")
        return []
    n_workers = max(1, min(options.workers or os.cpu_count() or 1, len(jobs)))
    say(f"grading {len(jobs)} submissions ({done} already done) with {n_workers} workers"
        + (", UNSAFE: no sandbox" if options.unsafe else ", sandboxed"))
    _remove_stale_runs(_short_tmp())
    run_dir = Path(tempfile.mkdtemp(prefix="cg-", dir=_short_tmp()))
    os.chmod(run_dir, 0o711)
    (run_dir / "owner.pid").write_text(str(os.getpid()))
    start = time.monotonic()
    try:
        outcomes = _run(course, jobs, options, n_workers, run_dir, say)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    wall = time.monotonic() - start
    counts = {s: sum(o.status == s for o in outcomes) for s in ("graded", "rejected", "error")}
    say(f"done in {wall:.0f} s ({wall / max(1, len(outcomes)):.1f} s per submission): "
        + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return outcomes
