"""The student's JupyterLab (``./course lab``; ``./course lab --instructor`` skips this folder).

The course script puts this folder first on ``JUPYTER_CONFIG_PATH``, so this file and
``labconfig/page_config.json`` override the virtual environment's settings:

* nbgrader's instructor tools are off: the Formgrader (server and lab), Create Assignment, the
  Course List and the Assignment List (the course has no exchange; where an instructor sets one
  up, delete the ``assignment_list`` lines here and in ``labconfig/page_config.json``). No
  ``gradebook.db`` is created. Validate stays.
* Validate checks exercises only: on a notebook without nbgrader cells (a lecture) it answers with
  a sentence instead of running the notebook and "passing"; for a failed cell its dialog shows the
  error's last line (the assert's message: what was expected, what came back) before the code.
* Lecture notebooks (``lectures/*.ipynb``) are read-only: saving one is refused with a sentence on
  how to keep a copy, so a ``git pull`` of the course never conflicts with a student's edits.
* The file browser lists the lectures, the exercises and ``course_lib`` only.
"""

import html
import json
import re
from pathlib import Path, PurePosixPath

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from nbgrader.server_extensions.validate_assignment import handlers as _validate
from tornado import web

c = get_config()  # noqa: F821 - provided by traitlets when the server loads this file

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.assignment_list": False,
    "nbgrader.server_extensions.validate_assignment": True,
}

READ_ONLY = ("{path} is a course file and opens read-only (the course updates it). To keep your "
             "own version: File > Save Notebook As... and save it outside lectures/, for example "
             "as my_{name}. (Validate checks exercises only.)")
NOT_AN_EXERCISE = ("Validate checks exercises (exercises/NN_topic/exNN_topic.ipynb). {path} has no "
                   "tests to check: it is a lecture or your own notebook.")


def _is_lecture(path: str) -> bool:
    parts = PurePosixPath(path.strip("/")).parts
    return len(parts) == 2 and parts[0] == "lectures" and parts[1].endswith(".ipynb")


class StudentContentsManager(AsyncLargeFileManager):
    """Jupyter's file manager, with the lecture notebooks read-only."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if _is_lecture(path):
            model["writable"] = False
        return model

    async def save(self, model, path=""):
        if _is_lecture(path) and await self.file_exists(path):
            raise web.HTTPError(403, READ_ONLY.format(path=path.strip("/"), name=PurePosixPath(path).name))
        return await super().save(model, path)

    async def rename_file(self, old_path, new_path):
        if _is_lecture(old_path):
            raise web.HTTPError(403, READ_ONLY.format(path=old_path.strip("/"), name=PurePosixPath(old_path).name))
        return await super().rename_file(old_path, new_path)

    async def delete_file(self, path):
        if _is_lecture(path):
            raise web.HTTPError(403, READ_ONLY.format(path=path.strip("/"), name=PurePosixPath(path).name))
        return await super().delete_file(path)


c.ServerApp.contents_manager_class = StudentContentsManager
# The file browser: lectures/, exercises/, course_lib/ and the README (hidden names can still be
# opened by path; they are only not listed).
c.ContentsManager.hide_globs = [
    "__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*.so", "*.dylib", "*~", "*.egg-info",
    "solutions", "tests", "deploy", "docs", "course_grading", "coursetools", "benchmarks",
    "requirements", "submitted", "autograded", "feedback", "collected", "grading", "build",
    "gradebook.db", "grades.csv", "nbgrader_config.py", "pyproject.toml", "environment.yml",
    "conftest.py", "course",
]


def _has_nbgrader_cells(fullpath: Path) -> bool:
    try:
        cells = json.loads(fullpath.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return False
    return any(cell.get("metadata", {}).get("nbgrader", {}).get("grade") for cell in cells)


_validate_notebook = _validate.ValidateAssignmentHandler.validate_notebook


def _key_line(error: str) -> str:
    """The last line of a traceback, without colours: "AssertionError: <what was expected, got>"."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"\x1b\[[0-9;]*m", "", error)))  # ANSI or HTML
    lines = [line.strip() for line in plain.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _validate_exercises_only(self, path):
    root = Path(self.root_dir).resolve()
    if not _has_nbgrader_cells((root / path).resolve()):
        return {"success": False, "value": NOT_AN_EXERCISE.format(path=path)}
    result = _validate_notebook(self, path)
    # The dialog shows each failed cell's source, then its traceback: put the assert's message
    # first, so the line that says what was expected and what came back needs no scrolling.
    if result.get("success") and isinstance(result.get("value"), dict):
        for cell in result["value"].get("failed", []):
            key = _key_line(cell.get("error", ""))
            if key:
                cell["source"] = f"{key}\n\n{cell.get('source', '')}"
    return result


_validate.ValidateAssignmentHandler.validate_notebook = _validate_exercises_only
