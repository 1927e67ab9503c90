"""Feedback pages, ``grades.csv`` and a status table, from the gradebook and the grading records.

- :func:`feedback`: nbgrader's ``generate_feedback`` for every graded submission
  (``feedback/<student>/<assignment>/<notebook>.html``); for a rejected submission, a short page
  with the reason and the score (0) instead. Pages are rendered in a worker process, each under a
  time limit (``PAGE_SECONDS``, ``./course feedback --timeout``): a page that takes longer (a 32 MB
  notebook) is stopped and replaced by a short page with the score, and the others go on.
- :func:`export`: ``grades.csv``, one row per student and assignment of the gradebook (nbgrader's
  CSV columns, plus ``status`` and ``note``); a student without a submission scores 0 ("missing").
  A text cell starting with ``= + - @`` is written with a leading ``'`` (a spreadsheet never
  evaluates it).
- :func:`status`: what is collected, graded, rejected, failed, or waiting, per assignment.
"""

from __future__ import annotations

import csv
import html
import multiprocessing
import os
import warnings
from collections.abc import Callable
from pathlib import Path

from .grade import all_states, digest, read_state
from .grade.state import submissions
from .layout import REPO, Course, chdir
from .nbapi import api
from .preprocessors import SanitizeStudentMarkdown


def _rejected_page(state: dict, notebook: str) -> str:
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in state.get("notes", []))
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(state['assignment'])}: feedback</title>
<style>body{{font-family:sans-serif;max-width:42em;margin:2em auto;line-height:1.5}}
.score{{font-size:1.4em}} .reason{{background:#fee;border-left:4px solid #c00;padding:.6em 1em}}</style>
</head><body>
<h1>{html.escape(state['assignment'])} &mdash; {html.escape(notebook)}</h1>
<p class="score">Score: 0 / {state.get('max_score', 0):g}</p>
<div class="reason"><p><strong>Your submission could not be graded.</strong></p>
<p>{html.escape(state.get('reason', ''))}</p></div>
{f'<ul>{notes}</ul>' if notes else ''}
<p>Open the notebook in Jupyter, check that it runs from top to bottom
(<em>Kernel &rarr; Restart Kernel and Run All Cells</em>), save it, and submit the
<code>.ipynb</code> file again if the deadline allows.</p>
</body></html>
"""


PAGE_SECONDS = 120.0  # a normal page takes 1-3 s; a page over this is stopped (--timeout)


def _timed_out_page(state: dict, notebook: str, seconds: float) -> str:
    score = f"{state.get('score', 0):g} / {state.get('max_score', 0):g}"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(state['assignment'])}: feedback</title>
<style>body{{font-family:sans-serif;max-width:42em;margin:2em auto;line-height:1.5}}
.score{{font-size:1.4em}}</style></head><body>
<h1>{html.escape(state['assignment'])} &mdash; {html.escape(notebook)}</h1>
<p class="score">Score: {score}</p>
<p>Your notebook was graded, but its feedback page could not be rendered within {seconds:g} seconds
(the notebook is very large: big outputs or images). The score above is your grade; ask your
instructor for the per-test details, and keep outputs small next time.</p>
</body></html>
"""


def _render_pages(conn, root: str) -> None:
    """Worker process: render (assignment, student) pages sent through ``conn`` until None."""
    # Student-written markdown and outputs are rendered sanitized: no <script> in anyone's page.
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    nb_api = api(Path(root), HTMLExporter__sanitize_html=True,
                 GenerateFeedback__preprocessors=[GetGrades, CSSHTMLHeaderPreprocessor, SanitizeStudentMarkdown])
    while (job := conn.recv()) is not None:
        with chdir(Path(root)), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = nb_api.generate_feedback(*job, force=True)
        conn.send({"success": bool(result["success"]), "log": str(result.get("log") or "")[-1500:]})


class _PageWorker:
    """One renderer process, replaced when a page runs over its time limit."""

    def __init__(self, root: Path):
        self.root, self.process = root, None

    def render(self, assignment: str, student: str, seconds: float) -> dict | None:
        """nbgrader's result for one page, or None when it took longer than ``seconds``."""
        if self.process is None:
            context = multiprocessing.get_context("spawn")
            self.conn, child = context.Pipe()
            self.process = context.Process(target=_render_pages, args=(child, str(self.root)), daemon=True)
            self.process.start()
            child.close()
        self.conn.send((assignment, student))
        if self.conn.poll(seconds):
            try:
                return self.conn.recv()
            except EOFError:
                pass
        self.close(kill=True)
        return None

    def close(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.conn.send(None)
        self.process.join(10)
        self.process = None


def feedback(root: Path = REPO, names: list[str] | None = None, say: Callable[[str], None] = print,
             page_seconds: float = PAGE_SECONDS) -> dict[str, int]:
    """Write feedback for every graded or rejected submission of ``names`` (default: all); each
    autograded page under ``page_seconds`` (over it: a short page with the score, counted in
    ``"timed out"``)."""
    course = Course(root)
    names = names or course.assignments()
    counts = {"graded": 0, "rejected": 0, "failed": 0, "timed out": 0}
    states = [s for s in all_states(course.root) if s["assignment"] in names and s["status"] in ("graded", "rejected")]
    worker = _PageWorker(course.root)
    try:
        for state in states:
            a, student = state["assignment"], state["student"]
            target = course.feedback(student, a)
            if state["status"] == "rejected":
                target.mkdir(parents=True, exist_ok=True)
                for name in course.notebook_names(a):
                    (target / name.replace(".ipynb", ".html")).write_text(_rejected_page(state, name))
                counts["rejected"] += 1
                continue
            # The first page also pays for the worker's start (imports): it gets that time on top.
            result = worker.render(a, student, page_seconds + (30 if worker.process is None else 0))
            if result is None:
                counts["timed out"] += 1
                target.mkdir(parents=True, exist_ok=True)
                for name in course.notebook_names(a):
                    (target / name.replace(".ipynb", ".html")).write_text(_timed_out_page(state, name, page_seconds))
                say(f"feedback for {a} {student} stopped after {page_seconds:g} s: a short page with the score instead")
            elif result["success"]:
                counts["graded"] += 1
            else:
                counts["failed"] += 1
                say(f"feedback for {a} {student} failed:\n{result['log']}")
    finally:
        worker.close()
    say(f"feedback: {counts['graded']} pages from autograded notebooks, {counts['rejected']} for rejected "
        f"submissions, {counts['timed out']} stopped at the {page_seconds:g} s page limit, "
        f"{counts['failed']} failed (in {course.feedback()})")
    return counts


COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
           "raw_score", "late_submission_penalty", "score", "max_score", "status", "note"]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as a spreadsheet shows it but never evaluates it: text starting with ``= + - @``
    (or a tab or carriage return) gets a leading ``'``; numbers such as ``-0.5`` stay numbers."""
    if not cell.startswith(FORMULA_START):
        return cell
    try:
        float(cell)
        return cell
    except ValueError:
        return "'" + cell


def export(root: Path = REPO, out: Path | None = None, say: Callable[[str], None] = print) -> Path:
    """Write ``grades.csv`` (default ``root/grades.csv``) from the gradebook; return its path."""
    from nbgrader.api import Gradebook, MissingEntry

    course = Course(root)
    root = course.root
    out = Path(out) if out else root / "grades.csv"
    rows = []
    with warnings.catch_warnings(), Gradebook(course.db_url, course.course_id) as gb:
        warnings.simplefilter("ignore")
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            for student in sorted(gb.students, key=lambda s: s.id):
                state = read_state(root, assignment.name, student.id) or {}
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:  # nothing submitted, or its grading failed before any result
                    raw, penalty, score, stamp = 0.0, 0.0, 0.0, ""
                    status = "error" if state.get("status") == "error" else "missing"
                else:
                    raw, penalty = float(sub.score), float(sub.late_submission_penalty or 0)
                    score, stamp = max(0.0, raw - penalty), sub.timestamp or ""
                    status = state.get("status", "graded")
                note = state.get("reason") or "; ".join(state.get("notes", []))
                if status == "error":  # a traceback: its last line says what failed
                    note = "grading failed, will be retried: " + ([ln for ln in note.splitlines() if ln.strip()]
                                                                  or [""])[-1].strip()
                rows.append([assignment.name, assignment.duedate or "", stamp, student.id,
                             student.last_name or "", student.first_name or "", student.email or "",
                             f"{raw:g}", f"{penalty:g}", f"{score:g}", f"{float(assignment.max_score):g}",
                             status, note])
        # A submission whose grading failed before it ever had a result: no student in the gradebook.
        known = {(r[0], r[3]) for r in rows}
        max_scores = {a.name: float(a.max_score) for a in gb.assignments}
        for state in all_states(root):
            key = (state.get("assignment"), state.get("student"))
            if state.get("status") == "error" and key not in known and key[0] in max_scores:
                last = ([ln for ln in state.get("reason", "").splitlines() if ln.strip()] or [""])[-1].strip()
                rows.append([key[0], "", "", key[1], "", "", "", "0", "0", "0", f"{max_scores[key[0]]:g}",
                             "error", "grading failed, will be retried: " + last])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # written whole, then put in place
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows([[spreadsheet_safe(str(cell)) for cell in row] for row in rows])
    os.replace(tmp, out)
    say(f"wrote {out} ({len(rows)} rows)")
    return out


def status(root: Path = REPO, say: Callable[[str], None] = print) -> list[dict]:
    """Per assignment: collected, graded, rejected, errors, waiting, feedback; then the problems."""
    course = Course(root)
    table, problems = [], []
    for a in course.assignments():
        row = {"assignment": a, "collected": 0, "graded": 0, "rejected": 0, "error": 0, "waiting": 0,
               "feedback": 0}
        for student, folder in submissions(course, a):
            row["collected"] += 1
            state = read_state(course.root, a, student)
            if not state or state.get("digest") != digest(folder):
                row["waiting"] += 1
                continue
            row[state["status"]] += 1
            if state["status"] != "graded" or state.get("review"):
                problems.append(state)
            if any(course.feedback(student, a).glob("*.html")):
                row["feedback"] += 1
        table.append(row)
    headers = list(table[0]) if table else []
    say("  ".join(f"{h:>10}" if h != "assignment" else f"{h:<24}" for h in headers))
    for row in table:
        say("  ".join(f"{v:>10}" if k != "assignment" else f"{v:<24}" for k, v in row.items()))
    for s in problems:
        what = s["reason"].splitlines()[0] if s.get("reason") else "review: " + ", ".join(s.get("review", []))
        say(f"  {s['status']:<8} {s['assignment']} {s['student']}: {what}")
    return table
