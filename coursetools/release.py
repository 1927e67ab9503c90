"""Build the student versions (``exercises/``) from the nbgrader sources (``solutions/``)."""

from __future__ import annotations

import copy
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from .layout import REPO, Course, make_scratch_course


def generate(names: list[str] | None = None, course_root: Path = REPO, out_dir: Path | None = None) -> list[Path]:
    """Run ``nbgrader generate_assignment`` for ``names`` (default: all) and return the written folders.

    Generation happens in a scratch copy (so the course's own gradebook is not touched) and the
    result replaces ``out_dir / name`` (default: the course's ``exercises/``).
    """
    course = Course(course_root)
    out_dir = Path(out_dir) if out_dir is not None else course.release()
    known = course.assignments()
    names = names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"no such assignment in {course.source()}: {', '.join(unknown)}")
    written = []
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        scratch = make_scratch_course(Path(tmp), names, course.root, generate=True)
        for name in names:
            target = out_dir / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(scratch.release(name), target)
            for notebook in target.glob("*.ipynb"):
                _add_kernel_metadata(notebook)
            written.append(target)
    return written


def kernel_language_info() -> dict:
    """The ``language_info`` the course's Python kernel (ipykernel) writes into a notebook it runs."""
    version = sys.version_info
    return {"codemirror_mode": {"name": "ipython", "version": version.major},
            "file_extension": ".py", "mimetype": "text/x-python", "name": "python",
            "nbconvert_exporter": "python", "pygments_lexer": f"ipython{version.major}",
            "version": sys.version.split()[0]}


def _add_kernel_metadata(path: Path) -> None:
    """Give a released notebook the kernelspec and ``language_info`` the kernel would fill in on
    opening, so that JupyterLab does not mark a notebook the student has not touched as changed."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = kernel_language_info()
    nbformat.write(nb, path)


def solution_code(cell_source: str) -> str:
    """An answer cell of the source notebook as a student would write it (no nbgrader markers)."""
    return "\n".join(line for line in cell_source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def solved_release(assignment: str, course_root: Path = REPO) -> nbformat.NotebookNode:
    """The released notebook with every answer cell holding the reference answer: a full-marks
    submission exactly as a student would hand it in (release metadata, no hidden tests)."""
    course = Course(course_root)
    source_path = course.notebook(assignment)
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(course.release(assignment) / source_path.name, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: solution_code(c.source) for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


if __name__ == "__main__":  # python -m coursetools.release [names...]
    import sys

    for path in generate(sys.argv[1:] or None):
        print(f"wrote {path}")
