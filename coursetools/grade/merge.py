"""Record one worker result in the course: gradebook, ``autograded/``, then the grading record.

Only the main process writes to the course, one result at a time, so parallel workers never touch
the gradebook. A result merged twice overwrites itself: nothing is lost or counted twice.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from ..layout import Course
from .state import NotebookGrades, Outcome, Result, state_path, write_atomic


def _record_grades(course: Course, cid: str, o: Outcome, result: Result) -> None:
    """Write the submission's grades (all 0 when rejected) into the course gradebook."""
    from nbgrader.api import Gradebook

    by_name = {nb.name: nb for nb in result.notebooks}
    with warnings.catch_warnings(), Gradebook(course.db_url, cid) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush chatter inside nbgrader
        gb.update_or_create_student(o.student)
        kwargs = {"timestamp": datetime.fromisoformat(result.timestamp)} if result.timestamp else {}
        sub = gb.update_or_create_submission(o.assignment, o.student, **kwargs)
        for nb in sub.notebooks:
            got = by_name.get(nb.notebook.name, NotebookGrades(nb.notebook.name))
            nb.late_submission_penalty = got.late_penalty
            for grade in nb.grades:
                auto = got.grades.get(grade.name, 0.0) if o.status == "graded" else 0.0
                grade.auto_score = auto
                grade.needs_manual_grade = grade.manual_score is not None or auto is None
            for comment in nb.comments:
                comment.auto_comment = got.comments.get(comment.name) if o.status == "graded" else o.reason
        gb.db.commit()
        o.score = float(sub.score)
        o.max_score = float(sub.max_score)


def _install_autograded(course: Course, o: Outcome, result: Result) -> None:
    """Replace ``autograded/<student>/<assignment>`` with the worker's copy; drop stale feedback."""
    target = course.autograded(o.student, o.assignment)
    stale_feedback = course.feedback(o.student, o.assignment)
    if stale_feedback.exists():
        shutil.rmtree(stale_feedback)
    incoming = target.with_name(f".{o.assignment}.incoming")
    if incoming.exists():
        shutil.rmtree(incoming)
    if result.autograded:
        shutil.copytree(result.autograded, incoming, symlinks=True)
    if target.exists():
        shutil.rmtree(target)
    if incoming.exists():
        os.replace(incoming, target)


def merge(root: Path, cid: str, result: Result) -> Outcome:
    """Record one result in the course (gradebook, autograded/, grading/); the main process only."""
    course = Course(root)
    o = Outcome(**asdict(result.outcome))
    o.seconds = round(result.seconds if result.seconds is not None else o.seconds, 2)
    o.graded_at = datetime.now().isoformat(timespec="seconds")
    if o.status in ("graded", "rejected"):
        _record_grades(course, cid, o, result)
        _install_autograded(course, o, result)
    write_atomic(state_path(course.root, o.assignment, o.student), json.dumps(asdict(o), indent=1))
    return o
