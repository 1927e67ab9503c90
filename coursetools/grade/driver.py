"""``grade()``: find what is left to grade, run the pool, merge each result as it arrives."""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .. import sandbox
from ..layout import REPO, Course, grading_record
from .merge import merge
from .options import GradingRefused, Options
from .pool import run_jobs
from .scratch import Template, prepare
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


CANARY = "reference-canary"  # the student id the reference solution is graded under (never merged)


#: A graded cell may take this many times the reference solution's slowest cell, and at least
#: CELL_LIMIT_FLOOR seconds (start-up noise, a loaded machine), at most the configured Execute.timeout.
CELL_LIMIT_FACTOR = 10.0
CELL_LIMIT_FLOOR = 10


def cell_limit(slowest: float, configured: int) -> int:
    """Seconds per cell for students, from the reference solution's slowest cell on this machine."""
    return int(min(configured, max(CELL_LIMIT_FLOOR, math.ceil(CELL_LIMIT_FACTOR * slowest))))


def slowest_cell(folder: str | None) -> float | None:
    """Seconds of the slowest code cell of the autograded notebooks in ``folder`` (nbclient's timing
    metadata), or None when no cell has timing."""
    from datetime import datetime

    import nbformat

    times = []
    for path in sorted(Path(folder).glob("*.ipynb")) if folder else []:
        for cell in nbformat.read(path, as_version=4).cells:
            timing = cell.get("metadata", {}).get("execution", {})
            start = timing.get("iopub.execute_input") or timing.get("shell.execute_reply.started")
            end = timing.get("shell.execute_reply")
            if start and end:
                parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
                times.append((parse(end) - parse(start)).total_seconds())
    return max(times) if times else None


def _first_error(folder: str | None) -> str:
    """``ename: evalue`` of the first error output in an autograded folder's notebooks, or ''."""
    import nbformat

    for path in sorted(Path(folder).glob("*.ipynb")) if folder else []:
        for cell in nbformat.read(path, as_version=4).cells:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    return f"first error: {out.get('ename')}: {str(out.get('evalue'))[:200]}"
    return ""


def _canary(templates: dict[str, Template], setups: list[WorkerSetup], options: Options, run_dir: Path,
            say: Callable[[str], None]) -> None:
    """Grade each assignment's reference solution first, in the same sandbox; refuse unless full marks.

    A run whose kernels cannot grade the reference answers (a kernel importing another
    ``course_lib`` -- a second clone, a stale editable install --, a broken sandbox, a wrong
    solution) would otherwise "grade" every student 0 and exit 0. One submission per assignment
    being graded, once per run; its result is never written into the course.
    """
    import nbformat

    from ..release import solved_release

    configured = int(Course(next(iter(templates.values())).root).config.Execute.get("timeout") or 60)
    jobs = []
    for a, template in templates.items():
        notebooks = Course(template.root).notebooks(a)
        if len(notebooks) != 1:  # solved_release builds single-notebook assignments only
            say(f"canary: {a} has {len(notebooks)} notebooks; not checked")
            continue
        folder = run_dir / "canary" / a
        folder.mkdir(parents=True)
        name = notebooks[0].name
        nbformat.write(solved_release(a, template.root), folder / name)
        jobs.append(Job(a, CANARY, "", folder=str(folder)))
    if not jobs:
        return
    say(f"canary: grading the reference solution of {', '.join(j.assignment for j in jobs)} in the sandbox first")
    failed = []
    for result in run_jobs(jobs, setups[:len(jobs)], options.submission_timeout):
        template = templates[result.outcome.assignment]
        o, full = result.outcome, template.autograded_max if template.autograded_max is not None else template.max_score
        if o.status == "graded" and o.score == full and options.cell_timeout is None:
            slowest = slowest_cell(result.autograded)
            if slowest is not None:
                limit = cell_limit(slowest, configured)
                templates[o.assignment].cell_timeout = limit
                say(f"canary: {o.assignment}: slowest reference cell {slowest:.1f} s -> {limit} s per cell "
                    f"({CELL_LIMIT_FACTOR:g}x, at least {CELL_LIMIT_FLOOR} s, at most {configured} s; --timeout "
                    "sets it)")
        if o.status != "graded" or o.score != full:
            first = o.reason.strip().splitlines()[-1] if o.reason.strip() else _first_error(result.autograded)
            failed.append(f"{o.assignment}: the reference solution got {o.status} {o.score:g} of the {full:g} "
                          "autograded points" + (f" ({first})" if first else ""))
    if failed:
        raise GradingRefused(
            "canary failed, no student was graded: " + "; ".join(failed) + ". The sandboxed kernel cannot "
            "grade the instructor's own answers: does it import a different course_lib (a second clone, a "
            "stale editable install)? Check with the reference solution before grading students.")


def _run(course: Course, jobs: list[Job], options: Options, n_workers: int, run_dir: Path,
         say: Callable[[str], None]) -> list[Outcome]:
    """Templates, the canary, workers, and each result merged into the course as it arrives."""
    templates = {a: prepare(course.root, a, run_dir) for a in sorted({j.assignment for j in jobs})}
    cid = next(iter(templates.values())).course_id
    setups = [WorkerSetup(i, run_dir / f"w{i}", course.root, templates, options) for i in range(n_workers)]
    _canary(templates, setups, options, run_dir, say)
    outcomes = []
    for result in run_jobs(jobs, setups, options.submission_timeout):
        if result.outcome.status == "rejected" and not result.outcome.max_score:
            result.outcome.max_score = templates[result.outcome.assignment].max_score
        outcome = merge(course.root, cid, result)
        outcomes.append(outcome)
        say(f"[{len(outcomes):>{len(str(len(jobs)))}}/{len(jobs)}] {outcome.line()}")
    return outcomes


LOCK_FILE = ".lock"  # grading/.lock: held (flock) by the one grading run of the course


@contextlib.contextmanager
def course_lock(course: Course):
    """Hold the course's grading lock for the block, or refuse if another run holds it.

    An ``flock`` on ``grading/.lock``: the kernel releases it when the holder's file is closed, on
    any exit (a SIGKILL included), so a lock is never stale. The file holds the holder's pid.
    """
    path = grading_record(course.root) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            raise GradingRefused(
                f"another grading run{f' (process {holder})' if holder.isdigit() else ''} is grading "
                f"{course.root}; one run at a time per course: wait for it to finish, then run again "
                "(it grades only what is left)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def grade(root: Path = REPO, names: list[str] | None = None, students: list[str] | None = None,
          options: Options | None = None, say: Callable[[str], None] = _say) -> list[Outcome]:
    """Grade every collected, not yet graded submission of ``names`` (default: all assignments)."""
    options = options or Options()
    course = Course(root)
    names = _check(course, names, options)
    with course_lock(course):
        return _grade_locked(course, names, students, options, say)


def _grade_locked(course: Course, names: list[str], students: list[str] | None, options: Options,
                  say: Callable[[str], None]) -> list[Outcome]:
    _remove_stale_runs(_short_tmp())
    jobs, done = discover(course, names, students, options.force)
    if not jobs:
        say(f"nothing to grade ({done} submissions already graded; --force regrades them)")
        return []
    n_workers = max(1, min(options.workers or os.cpu_count() or 1, len(jobs)))
    say(f"grading {len(jobs)} submissions ({done} already done) with {n_workers} workers"
        + (", UNSAFE: no sandbox" if options.unsafe else ", sandboxed"))
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
