"""nbgrader's Python API, configured for a course directory (``nbgrader_config.py`` in it)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent

# nbgrader runs the ``alembic`` and ``jupyter`` commands of its own environment: put them on PATH
# even when this Python was started without activating its virtual environment.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


@contextlib.contextmanager
def chdir(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def load_config(course_root: Path, **overrides) -> Config:
    """The course's nbgrader config with ``CourseDirectory.root`` set to ``course_root``.

    ``overrides`` are ``"Section.trait": value`` pairs written as ``Section__trait=value``.
    """
    course_root = Path(course_root).resolve()
    config_file = course_root / "nbgrader_config.py"
    if not config_file.exists():
        config_file = REPO / "nbgrader_config.py"
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    config.CourseDirectory.root = str(course_root)
    for key, value in overrides.items():
        section, _, trait = key.partition("__")
        setattr(getattr(config, section), trait, value)
    return config


def api(course_root: Path, **overrides) -> NbGraderAPI:
    """An ``NbGraderAPI`` for ``course_root`` (gradebook ``course_root/gradebook.db``)."""
    config = load_config(course_root, **overrides)
    config.CourseDirectory.db_url = f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"
    return NbGraderAPI(config=config)


def assignments(course_root: Path = REPO) -> list[str]:
    """Names of the assignments in ``solutions/`` (folders holding a notebook), sorted."""
    source = Path(course_root) / "solutions"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
