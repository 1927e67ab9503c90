"""Where a course keeps its files: the one owner of the course's layout.

A course folder (default: this repository, :data:`REPO`) holds ``nbgrader_config.py`` and nbgrader's
step folders, whose names nbgrader's ``CourseDirectory`` reads from that config (which takes them
from here)::

    nbgrader_config.py
    solutions/NAME/*.ipynb      source: the instructor's notebooks (nbgrader's source_directory)
    exercises/NAME/             release: the student versions (release_directory)
    submitted/STUDENT/NAME/     collected submissions          autograded/STUDENT/NAME/
    feedback/STUDENT/NAME/      feedback pages                 gradebook.db
    grading/NAME/STUDENT.json   our grading records            collected/  collect reports

:class:`Course` answers every "where is ..." question for one course folder;
:func:`make_scratch_course` builds a throw-away course (release, grading workers, benchmarks, tests).

Importing this module is cheap (standard library only: the sandbox's kernel launcher imports it);
traitlets and nbgrader are imported when a config is loaded or a :class:`Course` is built.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from traitlets.config import Config

REPO = Path(__file__).resolve().parent.parent

COURSE_ID = "unsupervised-generative"
SOURCE = "solutions"            # nbgrader's source_directory
RELEASE = "exercises"           # nbgrader's release_directory
CONFIG_FILE = "nbgrader_config.py"
GRADEBOOK = "gradebook.db"
GRADING = "grading"             # coursetools.grade's records: grading/NAME/STUDENT.json
COLLECTED = "collected"         # coursetools.collect's report and unplaced files
#: Never copied into a scratch course.
IGNORED = (".ipynb_checkpoints", "__pycache__")


def db_url(root: Path) -> str:
    """The gradebook of the course folder ``root``: ``sqlite:///ROOT/gradebook.db``."""
    return f"sqlite:///{Path(root).resolve() / GRADEBOOK}"


def grading_record(root: Path, assignment: str = "", student: str = "") -> Path:
    """``grading/`` or ``grading/NAME/STUDENT.json``: coursetools.grade's outcome of a submission."""
    folder = Path(root) / GRADING
    return folder / assignment / f"{student}.json" if assignment else folder


def config_file(root: Path) -> Path:
    """The course's ``nbgrader_config.py`` (the repository's where the folder has none)."""
    own = Path(root) / CONFIG_FILE
    return own if own.exists() else REPO / CONFIG_FILE


@contextlib.contextmanager
def chdir(path: Path):
    """Run the block in ``path`` (nbgrader resolves some paths against the working directory)."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def load_config(course_root: Path, **overrides) -> Config:
    """The course's nbgrader config with ``CourseDirectory.root`` and ``db_url`` set to ``course_root``.

    ``overrides`` are ``"Section.trait": value`` pairs written as ``Section__trait=value``.
    """
    from traitlets.config.loader import PyFileConfigLoader

    course_root = Path(course_root).resolve()
    path = config_file(course_root)
    config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = db_url(course_root)
    for key, value in overrides.items():
        section, _, trait = key.partition("__")
        setattr(getattr(config, section), trait, value)
    return config


class Course:
    """One course folder as nbgrader's ``CourseDirectory`` sees it, and the paths the tools use."""

    def __init__(self, root: Path = REPO):
        from nbgrader.coursedir import CourseDirectory

        self.root = Path(root).resolve()
        self.config = load_config(self.root)
        self.dirs = CourseDirectory(config=self.config)

    @property
    def course_id(self) -> str:
        return str(self.dirs.course_id or "")

    @property
    def db_url(self) -> str:
        return self.dirs.db_url

    @property
    def gradebook(self) -> Path:
        return self.root / GRADEBOOK

    def _step(self, folder: str, student: str, assignment: str) -> Path:
        path = Path(self.dirs.format_path(folder, student or "*", assignment or "*"))
        parts = path.relative_to(self.root).parts
        # Unnamed trailing parts ("submitted/*/*") are left off: the folder of the step itself.
        while parts and parts[-1] == "*":
            parts = parts[:-1]
        return self.root.joinpath(*parts)

    def source(self, assignment: str = "") -> Path:
        """``solutions/`` or ``solutions/NAME``."""
        return self._step(self.dirs.source_directory, ".", assignment)

    def release(self, assignment: str = "") -> Path:
        """``exercises/`` or ``exercises/NAME``."""
        return self._step(self.dirs.release_directory, ".", assignment)

    def submitted(self, student: str = "", assignment: str = "") -> Path:
        return self._step(self.dirs.submitted_directory, student, assignment)

    def autograded(self, student: str = "", assignment: str = "") -> Path:
        return self._step(self.dirs.autograded_directory, student, assignment)

    def feedback(self, student: str = "", assignment: str = "") -> Path:
        return self._step(self.dirs.feedback_directory, student, assignment)

    @property
    def collected(self) -> Path:
        return self.root / COLLECTED

    def assignments(self) -> list[str]:
        """Names of the assignments in ``solutions/`` (folders holding a notebook), sorted."""
        source = self.source()
        if not source.is_dir():
            return []
        return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def notebooks(self, assignment: str) -> list[Path]:
        """The source notebooks of an assignment, sorted."""
        return sorted(self.source(assignment).glob("*.ipynb"))

    def notebook_names(self, assignment: str) -> list[str]:
        return [p.name for p in self.notebooks(assignment)]

    def notebook(self, assignment: str) -> Path:
        """The one source notebook of a single-notebook assignment."""
        (path,) = self.notebooks(assignment)
        return path


def assignments(course_root: Path = REPO) -> list[str]:
    """Names of the assignments of the course at ``course_root`` (see :meth:`Course.assignments`)."""
    return Course(course_root).assignments()


def make_scratch_course(target: Path, names: Iterable[str], source_root: Path = REPO, *,
                        notebooks: bool = True, generate: bool = False) -> Course:
    """A course folder at ``target``: ``source_root``'s config and the sources of ``names``.

    ``notebooks=False`` copies only the files beside the notebooks (a grading worker's course: the
    gradebook already holds the source cells). ``generate=True`` also runs nbgrader's
    ``generate_assignment`` for each name (``exercises/NAME`` and the gradebook's cells).
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    origin = Course(source_root)
    shutil.copy(config_file(origin.root), target / CONFIG_FILE)
    scratch = Course(target)
    ignore = shutil.ignore_patterns(*IGNORED, *(() if notebooks else ("*.ipynb",)))
    names = list(names)
    for name in names:
        shutil.copytree(origin.source(name), scratch.source(name), ignore=ignore)
    if generate:
        from .nbapi import generate_assignment

        for name in names:
            generate_assignment(scratch.root, name)
    return scratch
