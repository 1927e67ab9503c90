"""Build the student versions (``exercises/``) from the nbgrader sources (``solutions/``)."""

from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path

import nbformat

from .nbapi import REPO, api, assignments, chdir


def generate(names: list[str] | None = None, course_root: Path = REPO, out_dir: Path | None = None) -> list[Path]:
    """Run ``nbgrader generate_assignment`` for ``names`` (default: all) and return the written folders.

    Generation happens in a scratch copy (so the course's own gradebook is not touched) and the
    result replaces ``out_dir / name`` (default ``course_root / "exercises"``).
    """
    course_root = Path(course_root).resolve()
    out_dir = Path(out_dir) if out_dir is not None else course_root / "exercises"
    names = names or assignments(course_root)
    unknown = sorted(set(names) - set(assignments(course_root)))
    if unknown:
        raise ValueError(f"no such assignment in {course_root / 'solutions'}: {', '.join(unknown)}")
    written = []
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        scratch = Path(tmp)
        shutil.copy(course_root / "nbgrader_config.py", scratch / "nbgrader_config.py")
        for name in names:
            shutil.copytree(course_root / "solutions" / name, scratch / "solutions" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        with chdir(scratch):
            nb_api = api(scratch)
            for name in names:
                result = nb_api.generate_assignment(name, force=True, create=True)
                if not result["success"]:
                    raise RuntimeError(f"nbgrader could not generate {name}:\n{result['error']}\n{result['log']}")
        for name in names:
            target = out_dir / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(scratch / "exercises" / name, target)
            written.append(target)
    return written


def solution_code(cell_source: str) -> str:
    """An answer cell of the source notebook as a student would write it (no nbgrader markers)."""
    return "\n".join(line for line in cell_source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def solved_release(assignment: str, course_root: Path = REPO) -> nbformat.NotebookNode:
    """The released notebook with every answer cell holding the reference answer: a full-marks
    submission exactly as a student would hand it in (release metadata, no hidden tests)."""
    course_root = Path(course_root)
    (source_path,) = sorted((course_root / "solutions" / assignment).glob("*.ipynb"))
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(course_root / "exercises" / assignment / source_path.name, as_version=4)
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
