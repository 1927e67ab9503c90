"""nbgrader's Python API, configured for a course folder (see :mod:`coursetools.layout`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from traitlets.config import Config

from .layout import chdir, load_config

# nbgrader runs the ``alembic`` and ``jupyter`` commands of its own environment: put them on PATH
# even when this Python was started without activating its virtual environment.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


def api(course_root: Path, config: Config | None = None, **overrides) -> NbGraderAPI:
    """An ``NbGraderAPI`` for ``course_root`` (gradebook ``course_root/gradebook.db``).

    ``config`` is merged over the course's own; ``overrides`` as in :func:`layout.load_config`.
    """
    full = load_config(course_root, **overrides)
    if config is not None:
        full.merge(config)
    return NbGraderAPI(config=full)


def generate_assignment(course_root: Path, name: str, db_url: str | None = None) -> None:
    """nbgrader's ``generate_assignment`` in ``course_root`` (gradebook: ``db_url`` or the course's).

    Raises RuntimeError with nbgrader's log when it fails.
    """
    overrides = {"CourseDirectory__db_url": db_url} if db_url else {}
    with chdir(course_root):
        result = api(course_root, **overrides).generate_assignment(name, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader could not generate {name} from its source:\n"
                           f"{result.get('error', '')}\n{(result.get('log') or '')[-3000:]}")
