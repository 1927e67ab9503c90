"""What grading knows about each submission: outcomes, worker results, records, what is left to do.

A submission's record is ``grading/<assignment>/<student>.json`` (its :class:`Outcome`); it holds
the digest of the submitted files, so a changed submission is graded again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..layout import Course, grading_record


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
        first = self.reason.splitlines()[0] if self.reason else ""
        what = {"graded": f"{self.score:g}/{self.max_score:g}",
                "rejected": f"0/{self.max_score:g}, rejected: {self.reason}",
                "error": f"ERROR (not graded, will be retried): {first}"}
        extra = f"  [review: {', '.join(self.review)}]" if self.review else ""
        return f"{self.assignment} {self.student}: {what[self.status]} ({self.seconds:.1f} s){extra}"


@dataclass
class NotebookGrades:
    """nbgrader's automatic grades of one notebook of a submission, read in the worker's gradebook."""

    name: str
    late_penalty: float | None = None
    grades: dict[str, float | None] = field(default_factory=dict)      # grade cell -> auto score
    comments: dict[str, str | None] = field(default_factory=dict)      # cell -> auto comment


@dataclass
class Result:
    """What a worker (or the pool, for a submission that timed out) reports for one submission."""

    outcome: Outcome
    notebooks: list[NotebookGrades] = field(default_factory=list)
    timestamp: str | None = None       # the submission time nbgrader recorded (ISO), if any
    autograded: str | None = None      # the worker's autograded/ folder of the submission
    seconds: float | None = None       # wall time, measured by the pool


@dataclass
class Job:
    assignment: str
    student: str
    digest: str
    folder: str = ""                   # the submission's folder, if not submitted/<student>/<assignment>


def state_path(root: Path, assignment: str, student: str) -> Path:
    return grading_record(root, assignment, student)


def read_state(root: Path, assignment: str, student: str) -> dict | None:
    try:
        return json.loads(state_path(root, assignment, student).read_text())
    except (OSError, ValueError):
        return None


def all_states(root: Path) -> list[dict]:
    out = []
    for path in sorted(grading_record(root).glob("*/*.json")):
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return out


def write_atomic(path: Path, text: str) -> None:
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


def submissions(course: Course, assignment: str) -> list[tuple[str, Path]]:
    """(student, folder) of every collected submission of ``assignment``."""
    found = []
    for folder in sorted(course.submitted().glob(f"*/{assignment}")):
        student = folder.parent.name
        if folder.is_dir() and not student.startswith("."):
            found.append((student, folder))
    return found


def discover(course: Course, names: list[str], students: list[str] | None = None,
             force: bool = False) -> tuple[list[Job], int]:
    """Submissions still to grade, and how many are done already (graded/rejected, unchanged)."""
    jobs, done = [], 0
    for name in names:
        for student, folder in submissions(course, name):
            if students and student not in students:
                continue
            d = digest(folder)
            state = read_state(course.root, name, student)
            if not force and state and state.get("status") in ("graded", "rejected") and state.get("digest") == d:
                done += 1
                continue
            jobs.append(Job(name, student, d))
    return jobs, done
