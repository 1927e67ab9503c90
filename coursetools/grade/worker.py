"""A grading worker: one submission at a time, each in a fresh scratch course, with nbgrader's API.

The worker runs in its own process (started by :mod:`.pool`), reads its :class:`WorkerSetup` and
then :class:`~.state.Job` s from a private pipe, and answers each with a :class:`~.state.Result`.
Only the kernel that runs the student's code is sandboxed; nbgrader, the hidden-test verifier and
the worker's gradebook stay outside it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from .. import sandbox, sandbox_kernel
from ..layout import Course, chdir
from .options import Options
from .scratch import KERNEL_NAME, Template, grading_config, worker_course
from .state import Job, NotebookGrades, Outcome, Result


@dataclass
class WorkerSetup:
    slot: int
    base: Path               # this worker's folder (runtime dir, kernelspec, scratch course)
    course_root: Path
    templates: dict[str, Template]
    options: Options


def setup_worker(setup: WorkerSetup) -> None:
    """The worker's kernel spec (the sandbox launcher), jupyter folders and log file.

    The grader's own jupyter runtime folder (``rt``) is never visible to a kernel: each submission's
    kernels get a fresh folder of their own (:func:`kernel_space`).
    """
    import json
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    base = setup.base
    runtime = base / "rt"
    runtime.mkdir(parents=True, exist_ok=True)
    os.chmod(runtime, 0o700)
    spec_dir = base / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps(sandbox_kernel.kernelspec(base / "sandbox.json")))
    os.environ.update(JUPYTER_PATH=str(base / "jupyter"), JUPYTER_RUNTIME_DIR=str(runtime),
                      JUPYTER_PLATFORM_DIRS="1", PYTHONWARNINGS="ignore")
    log = os.open(base / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)


def pick_notebooks(folder: Path, expected: list[str], notes: list[str]) -> dict[str, Path]:
    """Map each expected notebook name to a submitted file (a lone wrongly named one is mapped)."""
    found = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    chosen = {name: folder / name for name in expected if (folder / name).is_file()}
    missing = [name for name in expected if name not in chosen]
    others = [p for p in found if p not in chosen.values()]
    if len(missing) == 1 and len(others) == 1:
        chosen[missing[0]] = others[0]
        notes.append(f"Your notebook was named '{others[0].relative_to(folder)}' instead of '{missing[0]}'; "
                     f"it was graded as '{missing[0]}'.")
    elif missing and others:
        notes.append(f"Could not tell which notebook is '{', '.join(missing)}' among "
                     f"{', '.join(str(p.relative_to(folder)) for p in others)}.")
    return chosen


def _place_notebooks(folder: Path, release: Path, dest: Path, notes: list[str], review: list[str]) -> list[str]:
    """Normalized copies of the submitted notebooks in ``dest``; returns the rejected files' reasons."""
    import nbformat

    from .. import submission
    from .review import review_flags

    expected = sorted(p.name for p in release.glob("*.ipynb"))
    dest.mkdir(parents=True)
    problems = []
    for name, path in pick_notebooks(folder, expected, notes).items():
        try:
            nb, changes = submission.normalize(submission.load(path), nbformat.read(release / name, as_version=4))
        except submission.Rejected as err:
            problems.append(str(err))
            continue
        notes += changes
        review += [r for r in review_flags(nb) if r not in review]
        nbformat.write(nb, dest / name)
    if not any(dest.glob("*.ipynb")):
        reason = "; ".join(problems) or (f"no notebook named {', '.join(expected)} in the submission"
                                         + ("" if not notes else f" ({notes[-1]})"))
        raise _Rejected(reason)
    return problems


class _Rejected(Exception):
    """The submission holds no gradable notebook (the message says why)."""


def _copy_timestamp(folder: Path, dest: Path, notes: list[str]) -> None:
    """The submission time nbgrader reads (late penalties); an unreadable one is noted, not fatal."""
    from nbgrader.utils import parse_utc

    stamp = folder / "timestamp.txt"
    if not stamp.is_file() or stamp.is_symlink():
        return
    try:
        parse_utc(stamp.read_text(errors="replace")[:100].strip())
        shutil.copy(stamp, dest / "timestamp.txt")
    except Exception:  # noqa: BLE001 - an unreadable time is noted, not fatal
        notes.append("The submission time (timestamp.txt) could not be read; it is treated as on time.")


def kernel_space(setup: WorkerSetup) -> Path:
    """A fresh folder for one submission's kernels: ``rt/`` (connection file and IPC sockets, the
    only host folder the kernel may write) and ``kernel.log`` (its stdout/stderr, outside the
    sandbox). Its name is random (unguessable by other kernels); the launcher reads it from
    ``sandbox.json``, rewritten here. :func:`remove_tree` deletes it when the submission is done."""
    import tempfile

    space = Path(tempfile.mkdtemp(prefix="k", dir=setup.base))  # 0700, owned by the grader
    (space / "rt").mkdir(mode=0o700)
    launch = sandbox_kernel.LaunchConfig(limits=setup.options.limits, uid=sandbox.kernel_uid(setup.slot),
                                         runtime_dir=str(space / "rt"), log_file=str(space / "kernel.log"),
                                         sandboxed=not setup.options.unsafe,
                                         fresh_uid=sandbox.running_as_root() and not setup.options.unsafe)
    partial = setup.base / ".sandbox.json.tmp"
    launch.write(partial)
    os.replace(partial, setup.base / "sandbox.json")
    return space


def remove_tree(path: Path) -> None:
    """Delete ``path`` even where a kernel left folders without write or search permission."""
    def unlock(func, name, _exc):
        try:
            os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            func(name)
        except OSError:
            pass

    shutil.rmtree(path, onerror=unlock)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _log_tail(path: Path, size: int = 2000) -> str:
    """The last ``size`` bytes of the submission's own kernel log (never the whole file)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - size))
            return f.read(size).decode(errors="replace")
    except OSError:
        return ""


def _cell_timeout(course: Course, job: Job, setup: WorkerSetup) -> int:
    """Seconds per cell: --timeout, else the canary's limit for the assignment, else Execute.timeout."""
    return int(setup.options.cell_timeout or setup.templates[job.assignment].cell_timeout
               or course.config.Execute.get("timeout") or 60)


def _timeout_note(folder: Path, limit: int) -> list[str]:
    """A note naming the per-cell limit when a cell of the autograded notebooks timed out."""
    import nbformat

    for path in folder.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
                return [f"A cell was stopped after {limit} seconds, the time limit for each cell "
                        "(several times what the reference solution needs on the grading machine)."]
    return []


def _autograde(course: Course, job: Job, setup: WorkerSetup) -> str | None:
    """nbgrader's autograde of the submission in ``course``; None, or why it failed (with logs).

    The submission's kernels run with a fresh runtime folder and log of their own, removed after.
    """
    from ..nbapi import api

    space = kernel_space(setup)
    try:
        options = dataclasses.replace(setup.options, cell_timeout=_cell_timeout(course, job, setup))
        config = grading_config(course.config, space / "rt", options)  # one kernel at a time
        with chdir(course.root):
            result = api(course.root, config=config).autograde(job.assignment, job.student, force=True,
                                                               create=True)
        if result["success"]:
            return None
        log = (result.get("error") or "") + "\n" + (result.get("log") or "")
        tail = _log_tail(space / "kernel.log")
        if tail:
            log += "\n--- kernel log (this submission's) ---\n" + tail
        return "nbgrader autograde failed:\n" + log[-4000:]
    finally:
        remove_tree(space)


def _read_grades(course: Course, course_id: str, job: Job) -> tuple[float, str | None, list[NotebookGrades]]:
    """(score, submission time, per-notebook grades) of the submission in the worker's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course_id) as gb:
        sub = gb.find_submission(job.assignment, job.student)
        timestamp = sub.timestamp.isoformat() if sub.timestamp else None
        notebooks = [NotebookGrades(nb.notebook.name, nb.late_submission_penalty,
                                    {g.name: g.auto_score for g in nb.grades},
                                    {c.name: c.auto_comment for c in nb.comments}) for nb in sub.notebooks]
        return float(sub.score), timestamp, notebooks


def _prepend_notes(folder: Path, notes: list[str]) -> None:
    import nbformat

    from ..submission import notes_cell

    for path in folder.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nb.cells.insert(0, notes_cell(notes))
        nbformat.write(nb, path)


def grade_submission(job: Job, setup: WorkerSetup) -> Result:
    """Autograde one submission in a fresh scratch course; returns the outcome and the grades."""
    template = setup.templates[job.assignment]
    course = worker_course(template, setup.base / "c")
    folder = Path(job.folder) if job.folder else Course(setup.course_root).submitted(job.student, job.assignment)
    notes: list[str] = []
    review: list[str] = []
    base = dict(assignment=job.assignment, student=job.student, max_score=template.max_score, digest=job.digest)
    dest = course.submitted(job.student, job.assignment)
    try:
        problems = _place_notebooks(folder, Course(template.root).release(job.assignment), dest, notes, review)
    except _Rejected as err:
        return Result(Outcome(status="rejected", reason=str(err), notes=notes, **base))
    notes += [f"Not graded: {p}" for p in problems]
    _copy_timestamp(folder, dest, notes)
    failure = _autograde(course, job, setup)
    if failure:
        return Result(Outcome(status="error", reason=failure, notes=notes, **base))
    score, timestamp, notebooks = _read_grades(course, template.course_id, job)
    autograded = course.autograded(job.student, job.assignment)
    notes += _timeout_note(autograded, _cell_timeout(course, job, setup))
    from .review import reached_flags

    review += [r for r in reached_flags(autograded) if r not in review]
    if notes:
        _prepend_notes(autograded, notes)
    outcome = Outcome(status="graded", score=score, notes=notes, review=review, **base)
    return Result(outcome, notebooks, timestamp, str(autograded))


def worker_entry(argv: list[str] | None = None) -> None:
    """A grading worker: ``python -c 'from coursetools.grade.worker import worker_entry; worker_entry()' R W``.

    Reads its :class:`WorkerSetup`, then jobs, from pipe R; writes one result per job to pipe W.
    The pipes are private to the worker (kernels do not inherit them), unlike stdout.
    """
    import signal

    r, w = (int(x) for x in (argv or sys.argv[1:])[:2])
    # Ctrl-C reaches the whole process group: the main process stops the run and its workers; a
    # worker itself ignores it (a Python handler, not SIG_IGN, which its kernels would inherit).
    signal.signal(signal.SIGINT, lambda *_: None)
    if sys.platform.startswith("linux"):  # die with the main process (its kernels die with us)
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    rx, tx = Connection(r, writable=False), Connection(w, readable=False)
    setup = rx.recv()
    setup_worker(setup)
    while True:
        try:
            job = rx.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            result = grade_submission(job, setup)
        except Exception:  # noqa: BLE001 - a grader failure is reported, never fatal for the run
            result = Result(Outcome(job.assignment, job.student, "error",
                                    reason=traceback.format_exc()[-4000:], digest=job.digest))
        tx.send(result)
