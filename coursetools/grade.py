"""Autograde every collected submission in parallel, each student's kernel in a sandbox.

``grade(course_root)`` finds ``submitted/<student>/<assignment>/`` folders that are not graded yet
(or changed since), and hands them to worker processes (default: one per CPU core). A worker grades
ONE submission at a time in a private scratch course folder -- a copy of the course's
``nbgrader_config.py`` (plus the sandbox settings), a gradebook holding only the assignment, the
assignment's source files and that one submission -- with nbgrader's own API. Only the kernel that
runs the student's code is sandboxed (:mod:`coursetools.sandbox`); nbgrader, the hidden-test
verifier and the gradebook stay outside it.

Only the main process writes to the course: it merges each result into ``gradebook.db`` through
nbgrader's Gradebook API in one transaction, copies the autograded notebook to
``autograded/<student>/<assignment>/`` and then records the outcome in
``grading/<assignment>/<student>.json``. So parallel workers never touch the gradebook, an
interrupted run started again grades only what is left (a result merged twice overwrites itself:
nothing is lost or counted twice), and a submission whose grading breaks is reported and skipped
while the others go on.

Outcomes: ``graded``; ``rejected`` (the file is not a gradable notebook, or grading exceeded the
whole-submission time limit: every test scores 0 and the feedback says why); ``error`` (the grader
itself failed: nothing is recorded in the gradebook and the next run tries again).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable, Iterator

import course_grading

from . import sandbox
from .nbapi import REPO, assignments, chdir, load_config
from .sandbox import Limits

STATE_DIR = "grading"
KERNEL_NAME = "course-grading"


class GradingRefused(RuntimeError):
    """Grading cannot start (no sandbox and no --unsafe, unknown assignment, broken source)."""


@dataclass
class Options:
    workers: int = 0                   # 0: os.cpu_count()
    unsafe: bool = False               # grade without the sandbox (limits only)
    cell_timeout: int | None = None    # seconds per cell; None: Execute.timeout of the config
    submission_timeout: int = 900      # seconds for a whole submission (then: rejected)
    limits: Limits = field(default_factory=Limits)
    force: bool = False                # regrade even what is graded and unchanged


@dataclass
class Outcome:
    assignment: str
    student: str
    status: str                        # graded | rejected | error
    score: float = 0.0
    max_score: float = 0.0
    reason: str = ""                   # rejected / error: why
    notes: list[str] = field(default_factory=list)     # shown to the student in the feedback
    review: list[str] = field(default_factory=list)    # for the instructor: patterns worth a look
    seconds: float = 0.0
    digest: str = ""
    graded_at: str = ""

    def line(self) -> str:
        what = {"graded": f"{self.score:g}/{self.max_score:g}",
                "rejected": f"0/{self.max_score:g}, rejected: {self.reason}",
                "error": f"ERROR (not graded, will be retried): {self.reason.splitlines()[0] if self.reason else ''}"}
        extra = f"  [review: {', '.join(self.review)}]" if self.review else ""
        return f"{self.assignment} {self.student}: {what[self.status]} ({self.seconds:.1f} s){extra}"


# ----------------------------------------------------------------------------------------------
# Course folders, state files.

def db_url(root: Path) -> str:
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


def course_id(root: Path) -> str:
    return str(load_config(root).CourseDirectory.course_id or "")


def state_path(root: Path, assignment: str, student: str) -> Path:
    return Path(root) / STATE_DIR / assignment / f"{student}.json"


def read_state(root: Path, assignment: str, student: str) -> dict | None:
    try:
        return json.loads(state_path(root, assignment, student).read_text())
    except (OSError, ValueError):
        return None


def all_states(root: Path) -> list[dict]:
    out = []
    for path in sorted((Path(root) / STATE_DIR).glob("*/*.json")):
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return out


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def digest(folder: Path) -> str:
    """sha256 of every file (relative path and bytes) under a submission folder."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() or p.is_symlink()):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


@dataclass
class Job:
    assignment: str
    student: str
    digest: str


def discover(root: Path, names: list[str], students: list[str] | None = None,
             force: bool = False) -> tuple[list[Job], int]:
    """Submissions still to grade, and how many are done already (graded/rejected, unchanged)."""
    jobs, done = [], 0
    for name in names:
        for folder in sorted((Path(root) / "submitted").glob(f"*/{name}")):
            student = folder.parent.name
            if not folder.is_dir() or student.startswith(".") or (students and student not in students):
                continue
            d = digest(folder)
            state = read_state(root, name, student)
            if not force and state and state.get("status") in ("graded", "rejected") and state.get("digest") == d:
                done += 1
                continue
            jobs.append(Job(name, student, d))
    return jobs, done


# ----------------------------------------------------------------------------------------------
# Templates: the assignment in the course gradebook, and a gradebook holding only it.

@dataclass
class Template:
    assignment: str
    root: Path              # scratch course: nbgrader_config.py, solutions/<a>, exercises/<a>, gradebook.db
    max_score: float
    course_id: str


def _config_file(root: Path) -> Path:
    own = Path(root) / "nbgrader_config.py"
    return own if own.exists() else REPO / "nbgrader_config.py"


def _scratch_course(root: Path, assignment: str, target: Path) -> Path:
    target.mkdir(parents=True)
    shutil.copy(_config_file(root), target / "nbgrader_config.py")
    shutil.copytree(Path(root) / "solutions" / assignment, target / "solutions" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return target


def _generate(course: Path, assignment: str, db: str) -> None:
    from nbgrader.apps import NbGraderAPI

    config = load_config(course)
    config.CourseDirectory.db_url = db
    with chdir(course):
        result = NbGraderAPI(config=config).generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise GradingRefused(f"nbgrader could not generate {assignment} from solutions/:\n"
                             f"{result.get('error', '')}\n{result.get('log', '')[-3000:]}")


def _signature(url: str, cid: str, assignment: str) -> tuple | None:
    """What nbgrader knows of an assignment's cells (None if the gradebook lacks it)."""
    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(url, cid) as gb:
        warnings.simplefilter("ignore")
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return None
        rows = []
        for nb in a.notebooks:
            rows += [(nb.name, "source", c.name, c.cell_type, c.locked, c.checksum) for c in nb.source_cells]
            rows += [(nb.name, "grade", c.name, float(c.max_score)) for c in nb.grade_cells]
            rows += [(nb.name, "solution", c.name) for c in nb.solution_cells]
            rows += [(nb.name, "task", c.name, float(c.max_score)) for c in nb.task_cells]
        return tuple(sorted(map(str, rows)))


def prepare(root: Path, assignment: str, run_dir: Path) -> Template:
    """Build the workers' template for ``assignment`` and make sure the course gradebook has it."""
    from nbgrader.api import Gradebook

    root = Path(root).resolve()
    cid = course_id(root)
    # 1. A gradebook holding only this assignment, generated from solutions/ (release in scratch).
    template = _scratch_course(root, assignment, run_dir / f"template-{assignment}")
    _generate(template, assignment, db_url(template))
    # 2. The course gradebook learns (or re-learns) the assignment's cells; exercises/ is untouched.
    real = root / "gradebook.db"
    if not real.exists():
        shutil.copy(template / "gradebook.db", real)
    elif _signature(db_url(root), cid, assignment) != _signature(db_url(template), cid, assignment):
        _generate(_scratch_course(root, assignment, run_dir / f"sync-{assignment}"), assignment, db_url(root))
    # 3. The template gets the course's due date (for late penalties).
    with warnings.catch_warnings(), Gradebook(db_url(root), cid) as gb:
        warnings.simplefilter("ignore")
        duedate = gb.find_assignment(assignment).duedate
    with warnings.catch_warnings(), Gradebook(db_url(template), cid) as gb:
        warnings.simplefilter("ignore")
        a = gb.update_or_create_assignment(assignment, duedate=duedate)
        max_score = float(a.max_score)
    return Template(assignment, template, max_score, cid)


# ----------------------------------------------------------------------------------------------
# The worker side: one submission in a scratch course.

CONFIG_OVERRIDES = '''

# ---- added by coursetools.grade: sandboxed, hardened autograding ----------------------------
from nbgrader.converters import Autograde as _Autograde
from coursetools.preprocessors import harden as _harden
_pre = (c.Autograde.autograde_preprocessors if "autograde_preprocessors" in c.Autograde
        else _Autograde.autograde_preprocessors.default_value)
c.Autograde.autograde_preprocessors = _harden(list(_pre))
c.Execute.kernel_name = {kernel!r}
c.Execute.iopub_timeout = 10
c.Execute.startup_timeout = 120
c.Execute.shutdown_kernel = "immediate"
c.KernelManager.transport = "ipc"
c.KernelManager.ip = {ip!r}
c.KernelManager.connection_file = {connection_file!r}
'''

def reference_pattern() -> str:
    """A mention of a module whose functions grading switches off (``course_grading`` lists them):
    ``course_lib.divergences`` or ``from course_lib import ... divergences``."""
    modules = sorted({ref.rpartition(".")[0] for ref in course_grading.all_references()})
    short = "|".join(m.rpartition(".")[2] for m in modules)
    return "|".join([*(re.escape(m) + r"\b" for m in modules),
                     r"from\s+course_lib\s+import\s+[^\n]*\b(" + short + r")\b"])


REVIEW_PATTERNS = {
    "calls course_lib reference code": reference_pattern(),
    "touches code objects": r"__code__|__globals__|FunctionType",
    "inspects frames": r"_getframe|inspect\.|f_back|f_locals|gc\.get_",
    "patches the kernel or builtins": r"get_ipython\(\)\.|import builtins|__builtins__|sys\.modules",
    "uses ctypes/processes": r"\bctypes\b|os\.fork|subprocess|os\.system|multiprocessing",
}


def review_flags(notebook) -> list[str]:
    """Patterns in answer cells that deserve a human look (they do not change the score)."""
    source = "\n".join(c.source for c in notebook.cells if c.cell_type == "code"
                       and c.metadata.get("nbgrader", {}).get("solution"))
    return [label for label, pattern in REVIEW_PATTERNS.items() if re.search(pattern, source)]


@dataclass
class WorkerSetup:
    slot: int
    base: Path               # this worker's folder (runtime dir, kernelspec, scratch course)
    course_root: Path
    templates: dict[str, Template]
    options: Options


def _setup_worker(setup: WorkerSetup) -> None:
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
    launch = sandbox.LaunchConfig(limits=setup.options.limits, uid=sandbox.kernel_uid(setup.slot),
                                  runtime_dir=str(runtime), log_file=str(base / "kernel.log"),
                                  sandboxed=not setup.options.unsafe)
    launch.write(base / "sandbox.json")
    (spec_dir / "kernel.json").write_text(json.dumps(sandbox.kernelspec(base / "sandbox.json")))
    os.environ.update(JUPYTER_PATH=str(base / "jupyter"), JUPYTER_RUNTIME_DIR=str(runtime),
                      JUPYTER_PLATFORM_DIRS="1", PYTHONWARNINGS="ignore")
    log = os.open(base / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)


def _pick_notebooks(folder: Path, expected: list[str], notes: list[str]) -> dict[str, Path]:
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


def grade_submission(job: Job, setup: WorkerSetup) -> dict:
    """Autograde one submission in a fresh scratch course; returns the outcome and the grades."""
    import nbformat
    from nbgrader.api import Gradebook

    from . import submission
    from .nbapi import api

    template = setup.templates[job.assignment]
    scratch = setup.base / "c"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir()
    folder = setup.course_root / "submitted" / job.student / job.assignment
    release = template.root / "exercises" / job.assignment
    expected = sorted(p.name for p in release.glob("*.ipynb"))
    notes: list[str] = []
    review: list[str] = []
    base = dict(assignment=job.assignment, student=job.student, max_score=template.max_score, digest=job.digest)

    dest = scratch / "submitted" / job.student / job.assignment
    dest.mkdir(parents=True)
    problems = []
    for name, path in _pick_notebooks(folder, expected, notes).items():
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
        return {"outcome": asdict(Outcome(status="rejected", reason=reason, notes=notes, **base))}
    notes += [f"Not graded: {p}" for p in problems]
    stamp = folder / "timestamp.txt"
    if stamp.is_file() and not stamp.is_symlink():
        from nbgrader.utils import parse_utc

        try:
            parse_utc(stamp.read_text(errors="replace")[:100].strip())
            shutil.copy(stamp, dest / "timestamp.txt")
        except Exception:  # noqa: BLE001 - an unreadable time is noted, not fatal
            notes.append("The submission time (timestamp.txt) could not be read; it is treated as on time.")

    # The scratch course: config + sandbox settings, the assignment's source files, its gradebook.
    config = _config_file(setup.course_root).read_text()
    timeout = setup.options.cell_timeout
    runtime = setup.base / "rt"  # one kernel at a time per worker: fixed names
    overrides = CONFIG_OVERRIDES.format(kernel=KERNEL_NAME, ip=str(runtime / "kernel"),
                                        connection_file=str(runtime / "kernel.json"))
    if timeout:
        overrides += f"c.Execute.timeout = {int(timeout)}\n"
    if not setup.options.unsafe:
        overrides += f"c.SandboxedExecute.process_limit = {setup.options.limits.processes}\n"
    (scratch / "nbgrader_config.py").write_text(config + overrides)
    shutil.copytree(template.root / "solutions" / job.assignment, scratch / "solutions" / job.assignment,
                    ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copy(template.root / "gradebook.db", scratch / "gradebook.db")
    with chdir(scratch):
        result = api(scratch).autograde(job.assignment, job.student, force=True, create=True)
    if not result["success"]:
        log = (result.get("error") or "") + "\n" + (result.get("log") or "")
        kernel_log = setup.base / "kernel.log"
        if kernel_log.exists():
            log += "\n--- kernel log ---\n" + kernel_log.read_text(errors="replace")[-2000:]
        return {"outcome": asdict(Outcome(status="error", reason="nbgrader autograde failed:\n" + log[-4000:],
                                          notes=notes, **base))}

    grades = []
    with Gradebook(db_url(scratch), template.course_id) as gb:
        sub = gb.find_submission(job.assignment, job.student)
        score = float(sub.score)
        timestamp = sub.timestamp.isoformat() if sub.timestamp else None
        for nb in sub.notebooks:
            grades.append({"name": nb.notebook.name, "late_penalty": nb.late_submission_penalty,
                           "grades": {g.name: g.auto_score for g in nb.grades},
                           "comments": {c.name: c.auto_comment for c in nb.comments}})
    autograded = scratch / "autograded" / job.student / job.assignment
    if notes:
        for path in autograded.glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            nb.cells.insert(0, submission.notes_cell(notes))
            nbformat.write(nb, path)
    outcome = Outcome(status="graded", score=score, notes=notes, review=review, **base)
    return {"outcome": asdict(outcome), "grades": grades, "timestamp": timestamp,
            "autograded": str(autograded)}


def worker_entry(argv: list[str] | None = None) -> None:
    """A grading worker: ``python -c 'from coursetools.grade import worker_entry; worker_entry()' R W``.

    Reads its :class:`WorkerSetup`, then jobs, from pipe R; writes one result per job to pipe W.
    The pipes are private to the worker (kernels do not inherit them), unlike stdout.
    """
    r, w = (int(x) for x in (argv or sys.argv[1:])[:2])
    if sys.platform.startswith("linux"):  # die with the main process (its kernels die with us)
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    rx, tx = Connection(r, writable=False), Connection(w, readable=False)
    setup = rx.recv()
    _setup_worker(setup)
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
            result = {"outcome": asdict(Outcome(job.assignment, job.student, "error",
                                                reason=traceback.format_exc()[-4000:], digest=job.digest))}
        tx.send(result)


# ----------------------------------------------------------------------------------------------
# The main process: a pool of workers, and the only writer of the course.

class _Worker:
    def __init__(self, setup: WorkerSetup):
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        setup.base.mkdir(parents=True, exist_ok=True)
        code = "from coursetools.grade import worker_entry; worker_entry()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(to_worker_r), str(from_worker_w)],
            pass_fds=(to_worker_r, from_worker_w), stdin=subprocess.DEVNULL, cwd=str(setup.base),
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))})
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


def run_jobs(jobs: list[Job], setups: list[WorkerSetup], timeout: float) -> Iterator[dict]:
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
            now = time.monotonic()
            wait_for = max(0.0, min(w.started + timeout for w in busy) - now)
            ready = wait([w.conn for w in busy], timeout=wait_for + 0.05)
            for w in busy:
                job = w.job
                if w.conn in ready:
                    try:
                        result = w.conn.recv()
                    except (EOFError, OSError):
                        code = w.process.poll()
                        result = {"outcome": asdict(Outcome(job.assignment, job.student, "error", digest=job.digest,
                                                            reason=f"the grading worker died (exit code {code})"))}
                        w.stop(kill=True)
                        workers[workers.index(w)] = None
                    else:
                        w.job = None
                    result["seconds"] = time.monotonic() - w.started
                    yield result
                elif time.monotonic() - w.started > timeout:
                    w.stop(kill=True)
                    workers[workers.index(w)] = None
                    yield {"outcome": asdict(Outcome(
                        job.assignment, job.student, "rejected", digest=job.digest,
                        reason=f"grading took longer than {timeout:g} s, the limit for a whole submission "
                               "(is there a loop that never ends, or one that ignores interrupts?)")),
                        "seconds": timeout}
    finally:
        for w in workers:
            if w is not None:
                w.stop(kill=w.job is not None)


def merge(root: Path, cid: str, result: dict) -> Outcome:
    """Record one result in the course (gradebook, autograded/, grading/); the main process only."""
    from nbgrader.api import Gradebook

    o = Outcome(**result["outcome"])
    o.seconds = round(result.get("seconds", o.seconds), 2)
    o.graded_at = datetime.now().isoformat(timespec="seconds")
    if o.status in ("graded", "rejected"):
        by_name = {nb["name"]: nb for nb in result.get("grades", [])}
        with warnings.catch_warnings(), Gradebook(db_url(root), cid) as gb:
            warnings.simplefilter("ignore")  # SQLAlchemy's autoflush chatter inside nbgrader
            gb.update_or_create_student(o.student)
            kwargs = {"timestamp": datetime.fromisoformat(result["timestamp"])} if result.get("timestamp") else {}
            sub = gb.update_or_create_submission(o.assignment, o.student, **kwargs)
            for nb in sub.notebooks:
                got = by_name.get(nb.notebook.name, {"grades": {}, "comments": {}, "late_penalty": None})
                nb.late_submission_penalty = got["late_penalty"]
                for grade in nb.grades:
                    auto = got["grades"].get(grade.name, 0.0) if o.status == "graded" else 0.0
                    grade.auto_score = auto
                    grade.needs_manual_grade = grade.manual_score is not None or auto is None
                for comment in nb.comments:
                    comment.auto_comment = got["comments"].get(comment.name) if o.status == "graded" else o.reason
            gb.db.commit()
            o.score = float(sub.score)
            o.max_score = float(sub.max_score)
        target = Path(root) / "autograded" / o.student / o.assignment
        stale_feedback = Path(root) / "feedback" / o.student / o.assignment
        if stale_feedback.exists():
            shutil.rmtree(stale_feedback)
        incoming = target.with_name(f".{o.assignment}.incoming")
        if incoming.exists():
            shutil.rmtree(incoming)
        if result.get("autograded"):
            shutil.copytree(result["autograded"], incoming, symlinks=True)
        if target.exists():
            shutil.rmtree(target)
        if incoming.exists():
            os.replace(incoming, target)
    _write_atomic(state_path(root, o.assignment, o.student), json.dumps(asdict(o), indent=1))
    return o


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


def grade(root: Path = REPO, names: list[str] | None = None, students: list[str] | None = None,
          options: Options | None = None, say: Callable[[str], None] = _say) -> list[Outcome]:
    """Grade every collected, not yet graded submission of ``names`` (default: all assignments)."""
    options = options or Options()
    root = Path(root).resolve()
    if not options.unsafe:
        reason = sandbox.problem()
        if reason:
            raise GradingRefused(f"refusing to run student code without a sandbox: {reason}")
    known = assignments(root)
    names = names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise GradingRefused(f"no such assignment in {root / 'solutions'}: {', '.join(unknown)}")
    jobs, done = discover(root, names, students, options.force)
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
    outcomes = []
    start = time.monotonic()
    try:
        templates = {a: prepare(root, a, run_dir) for a in sorted({j.assignment for j in jobs})}
        cid = next(iter(templates.values())).course_id
        setups = [WorkerSetup(i, run_dir / f"w{i}", root, templates, options) for i in range(n_workers)]
        for result in run_jobs(jobs, setups, options.submission_timeout):
            if result["outcome"]["status"] == "rejected" and not result["outcome"]["max_score"]:
                result["outcome"]["max_score"] = templates[result["outcome"]["assignment"]].max_score
            outcome = merge(root, cid, result)
            outcomes.append(outcome)
            say(f"[{len(outcomes):>{len(str(len(jobs)))}}/{len(jobs)}] {outcome.line()}")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    wall = time.monotonic() - start
    counts = {s: sum(o.status == s for o in outcomes) for s in ("graded", "rejected", "error")}
    say(f"done in {wall:.0f} s ({wall / max(1, len(outcomes)):.1f} s per submission): "
        + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return outcomes


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use ./course grade")
