"""Collect a learning-management system's export into nbgrader's ``submitted/`` layout.

An LMS exports one ``.ipynb`` or ``.zip`` per student, with the student's id in the file (or folder)
name. :func:`collect` places each one at ``submitted/<student>/<assignment>/<notebook>.ipynb`` with a
``timestamp.txt`` (the file's modification time), and reports -- never drops -- what it cannot place:
those files are listed, copied to ``collected/unplaced/`` and left where they were. A file that
cannot be read (a zip with a bad CRC, corrupt deflate data, an encrypted or Deflate64 member) is
``refused`` for that file alone, with the reason, and copied aside the same way: one bad file never
stops the collection of the rest of the class.

Which student: the export's format is chosen ONCE for the whole folder (``--lms``, or detected:
the one of ``moodle`` and ``canvas`` whose pattern fits the most files, ``generic`` if neither fits
any; a tie refuses and asks for ``--lms``), never per file -- so a file named to look like another
LMS's upload cannot be filed under someone else's id. Within that format, the first of its patterns
that matches the file's path relative to the export folder names the student (a Python regex with a
named group ``student`` and optionally ``assignment``; ``--pattern`` puts yours first); a file that
fits none of them is unplaced. The formats and their patterns, in order:

=======  ==========  ===========================================================================
moodle   moodle      ``Jane Doe_123456_assignsubmission_file_01_divergences.ipynb`` (or a folder
                     ``Jane Doe_123456_assignsubmission_file/`` holding the files): student 123456
canvas   canvas      ``doejane_123456_7890123_01_divergences.ipynb`` (also ``doejane_LATE_...``):
                     student 123456
generic  named       ``alice_01_divergences.ipynb``, ``alice.smith-01_divergences.zip``: the id
                     before the assignment's name
generic  folder      ``alice/01_divergences.ipynb``: one folder per student
generic  reversed    ``01_divergences_alice.ipynb``: the id after the assignment's name
=======  ==========  ===========================================================================

Which assignment: the pattern's ``assignment`` group, else ``--assignment``, else the one
assignment of ``solutions/`` whose name occurs in the path (or in the zip's notebook names).

Which notebook: a single-notebook assignment takes the file whatever its name (a different name
is noted); in a zip, notebooks are matched by name and a lone wrongly named notebook is mapped to
the missing one (noted). Zips are read member by member (no extraction to disk: no path tricks),
with size limits against zip bombs.
"""

from __future__ import annotations

import re
import shutil
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

from .collect_report import Report, Row
from .layout import REPO, Course
from .lms import LMS_FORMATS, STUDENT_ID, builtin_patterns, detect_lms

MAX_NOTEBOOK = 32 * 2**20
MAX_ZIP_TOTAL = 128 * 2**20


class _Unplaceable(Exception):
    pass


class _Refused(_Unplaceable):
    """The file cannot be read (a corrupt or encrypted zip, an unreadable file): status ``refused``."""


#: What reading a zip member can raise: a bad CRC (BadZipFile), corrupt deflate data (zlib.error),
#: an encrypted member (RuntimeError), an unsupported method such as Deflate64 (NotImplementedError),
#: a truncated file (EOFError, OSError).
ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError,
                   ValueError)


def _identify(rel: str, patterns: list[tuple[str, str]], names: list[str],
              assignment: str | None) -> tuple[str, str | None, str]:
    """(student, assignment or None, pattern label) for a relative path, or raise _Unplaceable."""
    for label, pattern in patterns:
        m = re.search(pattern, rel)
        if not m or not m.groupdict().get("student"):
            continue
        student = m.group("student")
        if not STUDENT_ID.match(student):
            continue
        found = m.groupdict().get("assignment") or assignment
        if found is None:
            hits = [n for n in names if n in rel]
            found = max(hits, key=len) if hits else None
        if found is not None and found not in names:
            raise _Unplaceable(f"assignment {found!r} is not in solutions/ ({', '.join(names)})")
        return student, found, label
    raise _Unplaceable(f"no pattern of the export's format ({', '.join(label for label, _ in patterns)}) "
                       "finds a student id in this name (use --pattern or --lms)")


def _notebooks_in_zip(path: Path) -> tuple[dict[str, bytes], list[str]]:
    """Notebook members of a zip as {member path: bytes}, and the names of ignored members."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise _Refused(f"not a readable zip file ({err})") from None
    notebooks, ignored, total = {}, [], 0
    with zf:
        for info in zf.infolist():
            name = info.filename
            parts = name.replace("\\", "/").split("/")
            if info.is_dir():
                continue
            if parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts) or not name.endswith(".ipynb"):
                ignored.append(name)
                continue
            if info.file_size > MAX_NOTEBOOK or total + info.file_size > MAX_ZIP_TOTAL:
                raise _Unplaceable(f"{name} in the zip is too large ({info.file_size} bytes)")
            try:
                with zf.open(info) as f:
                    data = f.read(MAX_NOTEBOOK + 1)
            except ZIP_READ_ERRORS as err:  # bad CRC, corrupt deflate, encrypted, Deflate64, truncated
                raise _Refused(f"{name} in the zip cannot be read ({type(err).__name__}: {err})") from None
            if len(data) > MAX_NOTEBOOK:
                raise _Unplaceable(f"{name} in the zip is too large")
            total += len(data)
            notebooks[name] = data
    return notebooks, ignored


def _match_notebooks(files: dict[str, bytes], expected: list[str], single_file: bool) -> tuple[dict[str, bytes], list[str]]:
    """{expected notebook name: bytes} and notes; a lone unmatched notebook fills a lone gap."""
    notes = []
    if single_file and len(expected) == 1 and len(files) == 1:
        (src, data), = files.items()
        if Path(src).name != expected[0]:
            notes.append(f"{Path(src).name} saved as {expected[0]}")
        return {expected[0]: data}, notes
    chosen = {}
    for src, data in files.items():
        base = Path(src).name
        if base in expected and base not in chosen:
            chosen[base] = data
    leftovers = {src: d for src, d in files.items() if Path(src).name not in chosen or chosen[Path(src).name] is not d}
    missing = [n for n in expected if n not in chosen]
    if len(missing) == 1 and len(leftovers) == 1:
        (src, data), = leftovers.items()
        chosen[missing[0]] = data
        notes.append(f"notebook {src} has the wrong name; saved as {missing[0]}")
        leftovers = {}
    for src in leftovers:
        notes.append(f"extra notebook {src} not collected")
    for name in missing:
        if name not in chosen:
            notes.append(f"no {name} in it")
    return chosen, notes


def _write_submission(folder: Path, notebooks: dict[str, bytes], timestamp: datetime) -> str:
    """Replace ``folder`` with the notebooks + timestamp.txt; 'placed', 'updated' or 'unchanged'."""
    stamp = timestamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    if folder.exists():
        old = {p.name: p.read_bytes() for p in folder.glob("*.ipynb")}
        old_stamp = (folder / "timestamp.txt").read_text().strip() if (folder / "timestamp.txt").exists() else ""
        if old == notebooks and old_stamp == stamp:
            return "unchanged"
    incoming = folder.with_name(f".{folder.name}.incoming")
    if incoming.exists():
        shutil.rmtree(incoming)
    incoming.mkdir(parents=True)
    for name, data in notebooks.items():
        (incoming / name).write_bytes(data)
    (incoming / "timestamp.txt").write_text(stamp + "\n")
    status = "updated" if folder.exists() else "placed"
    if folder.exists():
        shutil.rmtree(folder)
    incoming.rename(folder)
    return status


def _read_candidate(path: Path, rel: str, course: Course, names: list[str], patterns: list[tuple[str, str]],
                    assignment: str | None) -> tuple[str, str, dict[str, bytes], list[str]]:
    """(student, assignment, {notebook name: bytes}, notes) of one exported file, or raise _Unplaceable."""
    if path.suffix.lower() not in (".ipynb", ".zip"):
        raise _Unplaceable(f"not a notebook or a zip ({path.suffix or 'no extension'})")
    student, found, label = _identify(rel, patterns, names, assignment)
    notes = []
    if path.suffix.lower() == ".zip":
        files, ignored = _notebooks_in_zip(path)
        if ignored:
            notes.append(f"{len(ignored)} other files in the zip not collected")
        if found is None:
            hits = {n for n in names for member in files if n in member}
            found = hits.pop() if len(hits) == 1 else None
    else:
        files = {path.name: path.read_bytes()}
    if found is None:
        raise _Unplaceable("cannot tell which assignment this is (use --assignment)")
    if not files:
        raise _Unplaceable("the zip holds no notebook")
    expected = course.notebook_names(found)
    chosen, more = _match_notebooks(files, expected, single_file=path.suffix.lower() == ".ipynb")
    if not chosen:
        raise _Unplaceable("; ".join(more) or "no notebook of the assignment in it")
    return student, found, chosen, notes + more + [f"pattern {label}"]


def _place(candidates: dict, export_dir: Path, course: Course, report: Report, dry_run: bool) -> None:
    """The newest file of each (student, assignment) goes to submitted/; the older ones are superseded."""
    for (student, found), options in sorted(candidates.items()):
        options.sort(key=lambda o: o[0].stat().st_mtime, reverse=True)
        (path, chosen, notes), older = options[0], options[1:]
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        folder = course.submitted(student, found)
        try:
            status = "placed (dry run)" if dry_run else _write_submission(folder, chosen, mtime)
        except OSError as err:  # reported for this student; the others are still placed
            report.rows.append(Row(path.relative_to(export_dir).as_posix(), "refused", student, found,
                                   note=f"could not be written to {folder} ({err})"))
            continue
        report.rows.append(Row(path.relative_to(export_dir).as_posix(), status, student, found,
                               ", ".join(sorted(chosen)), "; ".join(notes)))
        for other, _, _ in older:
            report.rows.append(Row(other.relative_to(export_dir).as_posix(), "superseded", student, found,
                                   note=f"an older file of the same student; kept {path.name}"))


def _listing(export_dir: Path) -> list[tuple[Path, str]]:
    return [(p, p.relative_to(export_dir).as_posix())
            for p in sorted(p for p in export_dir.rglob("*") if p.is_file() or p.is_symlink())]


def collect(export_dir: Path, root: Path = REPO, assignment: str | None = None, pattern: str | None = None,
            dry_run: bool = False, lms: str = "auto") -> Report:
    """Place every submission of ``export_dir`` under ``root/submitted``; return what happened.

    ``lms``: the export's format (``moodle``, ``canvas``, ``generic``), or ``auto`` to detect it
    once from all the file names (:func:`detect_lms`).
    """
    export_dir, course = Path(export_dir).resolve(), Course(root)
    if not export_dir.is_dir():
        raise FileNotFoundError(f"no such folder: {export_dir}")
    names = course.assignments()
    if assignment is not None and assignment not in names:
        raise ValueError(f"no assignment {assignment!r} in {course.source()} ({', '.join(names)})")
    if lms != "auto" and lms not in LMS_FORMATS:
        raise ValueError(f"unknown --lms {lms!r} (auto, {', '.join(LMS_FORMATS)})")
    if pattern:
        re.compile(pattern)  # a bad regex is the instructor's error: raise re.error now
    listing = _listing(export_dir)
    visible = [rel for p, rel in listing if not p.is_symlink() and "__MACOSX" not in rel
               and p.suffix.lower() in (".ipynb", ".zip") and not any(part.startswith(".") for part in rel.split("/"))]
    lms = detect_lms(visible, names) if lms == "auto" else lms
    patterns = ([("--pattern", pattern)] if pattern else []) + \
        [(label, regex) for label, regex in builtin_patterns(names) if label in LMS_FORMATS[lms]]
    report = Report(lms=lms)
    candidates: dict[tuple[str, str], list[tuple[Path, dict[str, bytes], list[str]]]] = {}
    for path, rel in listing:
        if path.is_symlink():
            report.rows.append(Row(rel, "unplaced", note="a symbolic link (not followed)"))
            continue
        if any(part.startswith(".") for part in path.relative_to(export_dir).parts) or "__MACOSX" in rel:
            report.rows.append(Row(rel, "ignored", note="hidden or system file"))
            continue
        try:
            student, found, chosen, notes = _read_candidate(path, rel, course, names, patterns, assignment)
            candidates.setdefault((student, found), []).append((path, chosen, notes))
        except _Refused as err:
            report.rows.append(Row(rel, "refused", note=str(err)))
        except _Unplaceable as err:
            report.rows.append(Row(rel, "unplaced", note=str(err)))
        except Exception as err:  # noqa: BLE001 - one file never stops the collection of the class
            report.rows.append(Row(rel, "refused", note=f"cannot be read ({type(err).__name__}: {err})"))
    _place(candidates, export_dir, course, report, dry_run)
    if not dry_run:
        for row in report.of("unplaced", "refused"):
            target = course.collected / "unplaced" / row.source
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(export_dir / row.source, target, follow_symlinks=False)
        report.write_csv(course.collected / "collect-report.csv")
    return report
