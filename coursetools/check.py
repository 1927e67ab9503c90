"""``./course check``: a student runs the hidden checks on their own exercise before submitting.

Validate (in JupyterLab) runs only the visible tests.  This command runs the notebook's graded test
cells as the grader does, visible asserts and hidden checks, so "passes locally, fails when graded"
does not happen, with two differences:

* the hidden checks draw **practice inputs**: :func:`course_grading.practice_inputs` changes every
  seed, so the grading inputs stay unknown (a correct function passes both; a wrong one fails both
  with overwhelming probability, since the checks are not tuned to particular inputs);
* the notebook runs in this process (like a kernel on the student's own machine), not in the
  grading sandbox, and written answers are left to the person who grades them.

It needs the instructor's test cells (``solutions/``) and ``course_grading``: a full clone of the
course has both; a graded class's student copy (``./course distribute``) has neither, and then this
command says so and points to Validate.  It never shows solution code: only the test cells of the
source notebook are run, and only their verdicts and messages are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .layout import REPO, Course

NOT_AVAILABLE = ("the hidden checks are not part of this copy of the course (in a graded class the "
                 "instructor keeps them): use Validate in JupyterLab, which runs the visible tests")


@dataclass
class Verdict:
    cell: str        # the grade_id of the test cell (or of the written answer)
    points: float
    status: str      # "passed", "failed", "by hand"
    message: str = ""


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {}) if isinstance(cell.metadata, dict) else {}


def _runnable(source: str) -> str:
    """A cell's code without IPython magics and shell escapes (they need a kernel)."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def _first_line(err: BaseException) -> str:
    if isinstance(err, NotImplementedError):
        return "not answered yet (the cell still raises NotImplementedError)"
    text = f"{type(err).__name__}: {err}".strip()
    return text.splitlines()[0] if text else type(err).__name__


def check_notebook(notebook: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[Verdict]:
    """Run ``notebook`` (a student's) top to bottom in one namespace, each graded test cell replaced
    by the source's cell of the same grade_id (visible and hidden tests), hidden checks on practice
    inputs. Returns one verdict per graded cell, in notebook order."""
    from course_grading import practice_inputs

    tests = {_meta(c).get("grade_id"): c for c in source.cells if _meta(c).get("grade")}
    namespace: dict = {"__name__": "__main__"}
    verdicts = []
    os.environ.setdefault("MPLBACKEND", "Agg")
    with practice_inputs(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for cell in notebook.cells:
            meta = _meta(cell)
            grade_id = meta.get("grade_id")
            if cell.cell_type == "markdown":
                if meta.get("grade") and grade_id in tests:
                    verdicts.append(Verdict(grade_id, float(meta.get("points", 0)), "by hand",
                                            "a written answer: graded by a person"))
                continue
            if cell.cell_type != "code":
                continue
            graded = bool(meta.get("grade")) and grade_id in tests
            code = _runnable(tests[grade_id].source if graded else cell.source)
            try:
                exec(compile(code, f"<cell {grade_id or '?'}>", "exec"), namespace)
            except Exception as err:  # noqa: BLE001 - the student's error is the verdict
                if graded:
                    verdicts.append(Verdict(grade_id, float(tests[grade_id].metadata["nbgrader"].get("points", 0)),
                                            "failed", _first_line(err)))
                continue
            if graded:
                verdicts.append(Verdict(grade_id, float(tests[grade_id].metadata["nbgrader"].get("points", 0)),
                                        "passed"))
    return verdicts


def _resolve(target: str, course: Course) -> tuple[str, Path]:
    """(assignment, the student's notebook) from an assignment name or a notebook path."""
    names = course.assignments()
    path = Path(target)
    if target in names:
        return target, course.release(target) / course.notebook(target).name
    if path.suffix == ".ipynb":
        found = [n for n in names if n in path.resolve().parts or path.stem.removeprefix("ex") == n]
        if found:
            return found[0], path
    raise ValueError(f"{target!r} is neither an assignment ({', '.join(names) or 'none found'}) "
                     "nor an exercise notebook")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="./course check", description=__doc__.split("\n\n")[0])
    p.add_argument("target", help="an exercise notebook (exercises/NN_topic/exNN_topic.ipynb) or an "
                                  "assignment name (NN_topic: checks exercises/NN_topic/)")
    args = p.parse_args(argv)
    course = Course(REPO)
    try:
        import course_grading  # noqa: F401 - the hidden checks
    except ImportError:
        course_grading = None
    if course_grading is None or not course.assignments():
        print(f"error: {NOT_AVAILABLE}", file=sys.stderr)
        return 2
    try:
        assignment, path = _resolve(args.target, course)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    source = nbformat.read(course.notebook(assignment), as_version=4)
    if not path.is_file():
        print(f"error: no notebook at {path}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(path.resolve().parent))  # as a kernel started beside the notebook
    try:
        verdicts = check_notebook(nbformat.read(path, as_version=4), source)
    except Exception:  # noqa: BLE001 - a notebook that cannot even be read as one
        traceback.print_exc()
        return 2
    auto = [v for v in verdicts if v.status != "by hand"]
    earned = sum(v.points for v in auto if v.status == "passed")
    print(f"{path}: practice run of the hidden checks (other inputs than grading uses)")
    for v in verdicts:
        print(f"  {v.status:8} {v.points:4g}  {v.cell}" + (f"  {v.message}" if v.message else ""))
    print(f"{earned:g} of {sum(v.points for v in auto):g} autograded points; "
          f"{sum(v.points for v in verdicts if v.status == 'by hand'):g} more graded by hand")
    return 0 if all(v.status == "passed" for v in auto) else 1


if __name__ == "__main__":
    sys.exit(main())
