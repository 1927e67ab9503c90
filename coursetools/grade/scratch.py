"""Scratch courses of a grading run: the template of each assignment, and a worker's one-submission course.

Template (main process, once per assignment): the course's config and the assignment's sources,
released by nbgrader into a gradebook holding only that assignment (with the course's due date).
The course's own gradebook learns (or re-learns) the assignment's cells at the same time.

Worker course (one per submission): the template's config, the files beside the source notebooks,
a copy of the template's gradebook and the submission -- graded with :func:`grading_config` merged
over the course's config (a traitlets ``Config``: sandboxed kernel, hardened preprocessors).
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

from ..layout import Course, make_scratch_course
from .options import GradingRefused, Options

KERNEL_NAME = "course-grading"


@dataclass
class Template:
    assignment: str
    root: Path              # scratch course: nbgrader_config.py, solutions/<a>, exercises/<a>, gradebook.db
    max_score: float
    course_id: str
    cell_timeout: int | None = None     # derived from the reference solution's time (the canary)
    autograded_max: float | None = None  # the points autograding can give (not the hand-graded answers)


def _generate(root: Path, assignment: str, db_url: str | None = None) -> None:
    from ..nbapi import generate_assignment

    try:
        generate_assignment(root, assignment, db_url)
    except RuntimeError as err:
        raise GradingRefused(str(err)) from None


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

    course = Course(root)
    cid = course.course_id
    # 1. A gradebook holding only this assignment, generated from the sources (release in scratch).
    template = make_scratch_course(run_dir / f"template-{assignment}", [assignment], course.root)
    _generate(template.root, assignment)
    # 2. The course gradebook learns (or re-learns) the assignment's cells; exercises/ is untouched.
    if not course.gradebook.exists():  # copied whole, then put in place: never a torn gradebook.db
        partial = course.gradebook.with_name(f".{course.gradebook.name}.{os.getpid()}.tmp")
        shutil.copy(template.gradebook, partial)
        os.replace(partial, course.gradebook)
    elif _signature(course.db_url, cid, assignment) != _signature(template.db_url, cid, assignment):
        sync = make_scratch_course(run_dir / f"sync-{assignment}", [assignment], course.root)
        _generate(sync.root, assignment, course.db_url)
    # 3. The template gets the course's due date (for late penalties).
    with warnings.catch_warnings(), Gradebook(course.db_url, cid) as gb:
        warnings.simplefilter("ignore")
        duedate = gb.find_assignment(assignment).duedate
    with warnings.catch_warnings(), Gradebook(template.db_url, cid) as gb:
        warnings.simplefilter("ignore")
        a = gb.update_or_create_assignment(assignment, duedate=duedate)
        max_score = float(a.max_score)
        # A grade cell that is also an answer cell (a written answer) is graded by hand.
        autograded_max = sum(float(c.max_score) for nb in a.notebooks for c in nb.grade_cells
                             if c.name not in {s.name for s in nb.solution_cells})
    return Template(assignment, template.root, max_score, cid, autograded_max=autograded_max)


def worker_course(template: Template, target: Path) -> Course:
    """A fresh course at ``target`` for grading one submission of ``template.assignment``."""
    if target.exists():
        shutil.rmtree(target)
    course = make_scratch_course(target, [template.assignment], template.root, notebooks=False)
    shutil.copy(Course(template.root).gradebook, course.gradebook)
    return course


def harden(preprocessors: list) -> list:
    """The course's autograde preprocessors with ``Execute`` made robust and the guard added.

    ``GuardGradeCells`` goes right after the hidden-test verifier (or after ``Execute``).
    """
    from nbgrader.preprocessors import Execute

    from ..preprocessors import GuardGradeCells, SandboxedExecute

    out = [SandboxedExecute if p is Execute else p for p in preprocessors]
    if SandboxedExecute not in out:
        out.insert(0, SandboxedExecute)
    names = [getattr(p, "__name__", "") for p in out]
    anchor = names.index("VerifyHiddenChecks") if "VerifyHiddenChecks" in names else out.index(SandboxedExecute)
    out.insert(anchor + 1, GuardGradeCells)
    return out


def grading_config(course_config: Config, runtime: Path, options: Options) -> Config:
    """What a worker adds to the course's config: the sandboxed kernel (one at a time, talking
    over IPC sockets in ``runtime``), hardened preprocessors, the run's limits."""
    from nbgrader.converters import Autograde

    own = course_config.Autograde
    preprocessors = (own.autograde_preprocessors if "autograde_preprocessors" in own
                     else Autograde.autograde_preprocessors.default_value)
    c = Config()
    c.Autograde.autograde_preprocessors = harden(list(preprocessors))
    c.Execute.kernel_name = KERNEL_NAME
    c.Execute.iopub_timeout = 10
    c.Execute.startup_timeout = 120
    c.Execute.shutdown_kernel = "immediate"
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(runtime / "kernel")
    c.KernelManager.connection_file = str(runtime / "kernel.json")
    if options.cell_timeout:
        c.Execute.timeout = int(options.cell_timeout)
    if not options.unsafe:
        c.SandboxedExecute.process_limit = options.limits.processes
    return c
