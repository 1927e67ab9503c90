"""Helpers for tests that run nbgrader end to end in a scratch course directory."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from traitlets.config import Config

from coursetools.layout import Course, chdir, make_scratch_course
from coursetools.nbapi import api
from tests.mutants import Mutant


def notebook_name(assignment: str) -> str:
    return Course().notebook(assignment).name


def read_solution(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(Course().notebook(assignment), as_version=4)


def read_release(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(Course().release(assignment) / notebook_name(assignment), as_version=4)


def cell_by_id(nb, grade_id: str):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def mutate(nb, mutant: Mutant):
    """A copy of ``nb`` with the mutant's edit applied (the edit must match exactly once)."""
    nb = nbformat.from_dict(nb)
    cell = cell_by_id(nb, mutant.cell)
    count = cell.source.count(mutant.old)
    if count != 1:
        raise AssertionError(f"mutant {mutant.label!r}: {mutant.old!r} occurs {count} times in cell {mutant.cell}")
    cell.source = cell.source.replace(mutant.old, mutant.new)
    return nb


def exec_solution_cells(nb) -> dict:
    """Run every code cell that is not a graded test cell in one namespace (no kernel) and return it."""
    namespace: dict = {"__name__": "__exercise__"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        exec(compile(source, f"<cell {meta.get('grade_id', '?')}>", "exec"), namespace)
    return namespace


class ScratchCourse:
    """A course directory in ``root`` holding one assignment, released, ready to autograde."""

    def __init__(self, root: Path, assignment: str, *, existing: bool = False):
        """``existing=True``: a course ``root`` already made by this class (a copy, in a worker)."""
        self.course = Course(Path(root)) if existing else make_scratch_course(Path(root), [assignment], generate=True)
        self.root, self.assignment = self.course.root, assignment

    def submit(self, student: str, nb) -> None:
        folder = self.course.submitted(student, self.assignment)
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / notebook_name(self.assignment))

    def autograde(self, student: str) -> dict:
        """Autograde ``student`` and return ``{"score", "max_score", "grades": {grade_id: score}}``."""
        with chdir(self.root):
            result = api(self.root, self._kernel_config()).autograde(self.assignment, student, force=True, create=True)
        assert result["success"], result["log"]
        with Gradebook(self.course.db_url) as gb:
            submission = gb.find_submission(self.assignment, student)
            grades = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
            return {"score": submission.score, "max_score": submission.max_score, "grades": grades}

    def autograde_many(self, students: list[str], workers: int | None = None) -> dict[str, dict]:
        """:meth:`autograde` for every student, ``workers`` at a time (default: one per core, at most
        2; ``COURSE_TEST_GRADING_WORKERS`` overrides). Each worker process grades in its own copy of
        this course (its own gradebook: SQLite is not shared between writers); every result also
        holds ``"notebook"``, the path of that student's autograded notebook."""
        workers = workers or int(os.environ.get("COURSE_TEST_GRADING_WORKERS", min(2, os.cpu_count() or 1)))
        workers = max(1, min(workers, len(students)))
        if workers == 1:
            return {s: {**self.autograde(s), "notebook": str(self._autograded_path(s))} for s in students}
        roots = [self.root] + [self.root.with_name(f"{self.root.name}-worker{i}") for i in range(1, workers)]
        for root in roots[1:]:
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(self.root, root, symlinks=True)
        context = get_context("spawn")  # no fork of a process that holds torch and pytest threads
        free_roots = context.Queue()
        for root in roots:
            free_roots.put(str(root))
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_take_a_root,
                                 initargs=(free_roots, self.assignment)) as pool:
            futures = {s: pool.submit(_autograde_in_worker, s) for s in students}
            return {s: f.result() for s, f in futures.items()}

    def _kernel_config(self) -> Config:
        """Kernels talk over IPC sockets in this course's folder, as ``./course grade``'s do: with TCP,
        two workers starting kernels at once can pick the same free port, and one kernel dies with
        "Address already in use" (a lost grade in a test that expects full marks)."""
        c = Config()
        c.KernelManager.transport = "ipc"
        c.KernelManager.ip = str(self.root / "kernel")
        return c

    def _autograded_path(self, student: str) -> Path:
        return self.course.autograded(student, self.assignment) / notebook_name(self.assignment)

    def autograded_notebook(self, student: str):
        return nbformat.read(self.course.autograded(student, self.assignment) / notebook_name(self.assignment),
                             as_version=4)


_WORKER_COURSE: ScratchCourse | None = None


def _take_a_root(free_roots, assignment: str) -> None:
    """Worker initializer: this process grades in the next unused copy of the course."""
    global _WORKER_COURSE
    _WORKER_COURSE = ScratchCourse(Path(free_roots.get()), assignment, existing=True)


def _autograde_in_worker(student: str) -> dict:
    course = _WORKER_COURSE
    return {**course.autograde(student), "notebook": str(course._autograded_path(student))}
