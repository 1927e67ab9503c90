"""Read a submitted notebook defensively and put the assignment's own cells back in order.

A submission is data from an untrusted source. Before nbgrader sees it:

- a file that is empty, too big, not JSON or not a notebook is *rejected* with a reason (the
  student's score is 0 and the feedback says why);
- every cell is rebuilt from its type, source and a few metadata keys, so malformed outputs,
  attachments or metadata cannot trip nbgrader up (outputs are never trusted anyway; invalid
  attachments are dropped with a note; a grade id that is not a string is no id);
- data the rebuild cannot use (JSON nested too deeply, anything that makes it fail) is *rejected*
  once with the reason, never left to fail the grader on every run;
- nbgrader metadata is taken from the released notebook, never from the submission: a solution
  cell claiming to be a test worth 1000 points, changed points, or a made-up grade id earn nothing;
- cells of the assignment that were deleted (a test cell, the setup cell, an answer cell) are put
  back where they were, so every test runs (a deleted answer comes back as the empty stub).

Each change is described in a note that ends up in the student's feedback.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

MAX_BYTES = 32 * 2**20  # a notebook bigger than this is not an exercise solution


class Rejected(Exception):
    """The submission cannot be graded; the message is shown to the student."""


def load(path: Path) -> nbformat.NotebookNode:
    """Parse a submitted notebook file or raise :class:`Rejected` saying what is wrong with it."""
    path = Path(path)
    if path.is_symlink():  # the grader reads with its own rights: never follow a link
        raise Rejected(f"{path.name} is a symbolic link, not a notebook file")
    size = path.stat().st_size
    if size == 0:
        raise Rejected(f"{path.name} is empty (0 bytes): nothing was submitted")
    if size > MAX_BYTES:
        raise Rejected(f"{path.name} is {size / 2**20:.0f} MB, more than the {MAX_BYTES // 2**20} MB "
                       "a notebook may have (clear the outputs before submitting)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(f"{path.name} is not a Jupyter notebook (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise Rejected(f"{path.name} is not a valid notebook: its JSON is broken at line {err.lineno}, "
                       f"column {err.colno} ({err.msg}). Was it edited outside Jupyter?") from None
    except RecursionError:
        raise Rejected(f"{path.name} is not a valid notebook: its JSON is nested too deeply to be read "
                       "(was it edited outside Jupyter?)") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", data.get("worksheets")), list):
        raise Rejected(f"{path.name} is JSON but not a Jupyter notebook (no list of cells)")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as err:  # noqa: BLE001 - any parse failure of untrusted data is a rejection
        raise Rejected(f"{path.name} is not a notebook nbformat can read: {err}") from None


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def _valid_attachments(value) -> bool:
    """Markdown attachments as nbformat's schema wants them: {name: {mime type: str or [str]}}."""
    return isinstance(value, dict) and all(
        isinstance(name, str) and isinstance(bundle, dict) and all(
            isinstance(mime, str) and (isinstance(data, str)
                                      or isinstance(data, list) and all(isinstance(x, str) for x in data))
            for mime, data in bundle.items())
        for name, bundle in value.items())


def _rebuild(cell, notes: list[str] | None = None) -> nbformat.NotebookNode:
    """A fresh, valid cell holding only the submission's type, source, tags and nbgrader metadata."""
    kind = cell.get("cell_type") if isinstance(cell, dict) else None
    source = _text(cell.get("source", "")) if isinstance(cell, dict) else ""
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    meta = meta if isinstance(meta, dict) else {}
    make = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}.get(kind, new_markdown_cell)
    new = make(source=source)
    tags = meta.get("tags")
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        new.metadata["tags"] = list(tags)
    if isinstance(meta.get("nbgrader"), dict):
        new.metadata["nbgrader"] = copy.deepcopy(meta["nbgrader"])
    if kind == "markdown" and cell.get("attachments") is not None:
        if _valid_attachments(cell["attachments"]):
            new["attachments"] = copy.deepcopy(cell["attachments"])
        elif notes is not None:
            notes.append("A markdown cell had attachments (pasted images) that are not valid notebook data; "
                         "they were removed.")
    return new


def _official_cells(release: nbformat.NotebookNode) -> list:
    return [c for c in release.cells if isinstance(c.metadata.get("nbgrader"), dict)
            and c.metadata["nbgrader"].get("grade_id")]


def _describe(meta: dict) -> str:
    if meta.get("grade") and meta.get("points") is not None:
        return f"a graded cell worth {meta.get('points')} points"
    return "a graded cell" if meta.get("grade") else "an nbgrader cell"


def _match(cell, official: dict, seen: set[str], notes: list[str]):
    """One submitted cell with its nbgrader metadata taken from the release (or dropped)."""
    meta = cell.metadata.get("nbgrader")
    if meta is None:
        return cell
    gid = meta.get("grade_id")
    if isinstance(gid, str) and gid in official and gid not in seen:
        want = official[gid]
        keys = ("grade", "solution", "locked", "points", "task")
        if any(meta.get(k) != want.metadata["nbgrader"].get(k) for k in keys):
            notes.append(f"Cell '{gid}' had its grading metadata changed (it claimed to be "
                         f"{_describe(meta)}); the original metadata was restored.")
        if cell.cell_type != want.cell_type:
            cell = _rebuild({**dict(cell), "cell_type": want.cell_type})
        if want.metadata["nbgrader"].get("locked") and cell.source.strip() != want.source.strip():
            notes.append(f"Cell '{gid}' is read-only but was edited; the original was restored "
                         "for grading.")
        cell.metadata["nbgrader"] = copy.deepcopy(want.metadata["nbgrader"])
        seen.add(gid)
    else:
        del cell.metadata["nbgrader"]
        if meta.get("grade") or meta.get("solution"):
            what = f"'{gid}'" if isinstance(gid, str) else "without an id"
            reason = "a copy of another cell" if isinstance(gid, str) and gid in seen else "not part of the assignment"
            notes.append(f"A cell {what} claimed to be {_describe(meta)} but is {reason}; "
                         "it is graded as an ordinary cell (no points).")
    return cell


def _restore_missing(cells: list, official: dict, seen: set[str], notes: list[str]) -> None:
    """Put back the assignment's cells that are missing, after the official cell that preceded them."""
    order = list(official)
    for i, gid in enumerate(order):
        if gid in seen:
            continue
        restored = copy.deepcopy(official[gid])
        if restored.cell_type == "code":
            restored.update(outputs=[], execution_count=None)
        position = 0
        for prev in reversed(order[:i]):
            idx = next((k for k, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == prev), None)
            if idx is not None:
                position = idx + 1
                break
        cells.insert(position, restored)
        seen.add(gid)
        meta = restored.metadata["nbgrader"]
        what = "test cell" if meta.get("grade") and not meta.get("solution") else \
            "answer cell" if meta.get("solution") else "cell"
        extra = " (as the empty stub: no answer)" if meta.get("solution") else ""
        notes.append(f"The {what} '{gid}' was missing from the submission; it was put back{extra}.")


def normalize(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    """The submission rebuilt against the released notebook, and notes on what had to change.

    Raises :class:`Rejected` (never anything else) for a submission that cannot be rebuilt -- data
    nested too deeply, metadata of a kind the rebuild does not expect -- so it is refused once,
    with the reason, instead of failing the grader on every run.
    """
    try:
        return _normalize(submitted, release)
    except Rejected:
        raise
    except RecursionError:
        raise Rejected("the notebook's data is nested too deeply to be graded (was it edited outside "
                       "Jupyter?)") from None
    except Exception as err:  # noqa: BLE001 - untrusted data: any failure is a refusal with its reason
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise Rejected(f"the notebook holds data the grader cannot use ({type(err).__name__}: {first})") from None


def _normalize(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    notes: list[str] = []
    official = {c.metadata["nbgrader"]["grade_id"]: c for c in _official_cells(release)}
    seen: set[str] = set()
    cells = [_match(_rebuild(raw, notes), official, seen, notes) for raw in submitted.get("cells", [])]
    _restore_missing(cells, official, seen, notes)
    ids = set()
    for cell in cells:
        if not cell.get("id") or cell["id"] in ids:
            cell["id"] = uuid.uuid4().hex[:8]
        ids.add(cell["id"])
    nb = new_notebook(cells=cells, metadata=copy.deepcopy(release.metadata))
    nbformat.validate(nb)
    return nb, notes


def notes_cell(notes: list[str]) -> nbformat.NotebookNode:
    """A markdown cell listing the grader's notes (put first in the autograded notebook)."""
    lines = ["**Notes from the grader**", ""] + [f"- {n}" for n in notes]
    cell = new_markdown_cell("\n".join(lines))
    cell["id"] = "grader-notes"
    return cell
