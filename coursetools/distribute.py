"""Build the student distribution: what students clone or nbgitpuller pulls, without any answers.

    ./course distribute OUT [--git]

OUT receives the lectures, the released exercises (``exercises/``, built by ``./course release``),
the student's library ``course_lib/``, the student lab's settings (``deploy/lab/``) and what
``./course lab`` needs to install and start (the ``course`` script, ``pyproject.toml``,
``requirements/``, ``README.md``). Never: ``solutions/``, hidden tests, the grading harness
``course_grading/``, the instructor commands ``coursetools/``, ``nbgrader_config.py``, the tests.
``--git`` makes OUT a git repository with one commit (serve it for ``git clone`` or nbgitpuller).
The result is checked before it is returned: any solution or hidden-test marker is an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .layout import REPO

# What a student gets, relative to the course root: folders, then single files.
FOLDERS = ["lectures", "exercises", "course_lib", "deploy/lab", "requirements"]
FILES = ["course", "pyproject.toml", "README.md", ".gitignore"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info")
# Text that must not appear in any file of the distribution.
SECRETS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# Names that must not appear in a notebook or in course_lib (the grading harness is instructor-only).
CODE_SECRETS = ("course_grading",)
FORBIDDEN_PATHS = ("solutions", "course_grading", "coursetools", "tests", "nbgrader_config.py", "gradebook.db")


def build(out: Path, course_root: Path = REPO, git: bool = False) -> Path:
    """Write the student distribution of the course at ``course_root`` into ``out`` (must not exist
    or be empty) and return ``out``; with ``git``, ``out`` becomes a repository with one commit."""
    root, out = Path(course_root).resolve(), Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty: give a new folder")
    if out == root or root in out.parents:
        raise ValueError(f"{out} is inside the course folder {root}: give a folder outside it")
    if not any((root / "exercises").glob("*/*.ipynb")):
        raise FileNotFoundError(f"no released exercises in {root / 'exercises'}: run ./course release first")
    out.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS:
        if (root / folder).is_dir():
            shutil.copytree(root / folder, out / folder, ignore=IGNORE)
    for name in FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, out / name)
    problems = leaks(out)
    if problems:
        shutil.rmtree(out)
        raise RuntimeError("the student distribution would leak instructor material:\n  " + "\n  ".join(problems))
    if git:
        _commit(out)
    return out


def leaks(folder: Path) -> list[str]:
    """Every instructor file or solution text found in ``folder`` (empty: nothing leaks)."""
    folder = Path(folder)
    found = [f"{p.relative_to(folder)}: instructor file" for p in folder.rglob("*")
             if p.name in FORBIDDEN_PATHS and ".git" not in p.relative_to(folder).parts]
    for path in folder.rglob("*"):
        if not path.is_file() or ".git" in path.relative_to(folder).parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        rel = path.relative_to(folder)
        code = path.suffix == ".ipynb" or (path.suffix == ".py" and rel.parts[0] == "course_lib")
        secrets = SECRETS + (CODE_SECRETS if code else ())
        found += [f"{path.relative_to(folder)}: contains {s!r}" for s in secrets if s in text]
    return found


def _commit(out: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "course", "GIT_AUTHOR_EMAIL": "course@localhost",
           "GIT_COMMITTER_NAME": "course", "GIT_COMMITTER_EMAIL": "course@localhost"}
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                 ["git", "commit", "-q", "-m", "Course materials for students"]):
        subprocess.run(argv, cwd=out, env=env, check=True)
