"""The file-name conventions of learning-management systems' exports: which student a file is.

An export's format is chosen once for the whole folder (:func:`detect_lms`, or given), never per file;
``coursetools.collect`` tries that format's patterns in order (see its docstring for examples).
"""

from __future__ import annotations

import re

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")


def builtin_patterns(names: list[str]) -> list[tuple[str, str]]:
    """(label, regex) pairs tried in order; ``names`` are the known assignments.

    A file may carry the assignment's name or its notebook's (``ex`` + the assignment's name, e.g.
    ``alice_ex01_divergences.ipynb``)."""
    known = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or r"(?!x)x"
    return [
        ("moodle", r"^[^/]*?_(?P<student>\d+)_assignsubmission_file(?:_|/)"),
        ("canvas", r"(?i)^[a-z]+(?:_late)?_(?P<student>\d+)_\d+_[^/]+$"),
        ("named", rf"^(?:[^/]*/)?(?P<student>[A-Za-z0-9][\w.@+-]*?)[_\-. ]+(?:ex)?(?P<assignment>{known})(?![A-Za-z0-9])[^/]*$"),
        ("folder", r"^(?P<student>[A-Za-z0-9][\w.@+-]*)/(?:[^/]+/)*[^/]+$"),
        ("reversed", rf"^(?:ex)?(?P<assignment>{known})[_\-. ]+(?P<student>[A-Za-z0-9][\w.@+-]*?)\.(?:ipynb|zip)$"),
    ]


LMS_FORMATS = {"moodle": ("moodle",), "canvas": ("canvas",), "generic": ("named", "folder", "reversed")}


def detect_lms(rels: list[str], names: list[str]) -> str:
    """The export's format from all its file paths: moodle or canvas (whichever pattern fits more
    files), generic when neither fits any; a tie is refused (ValueError: give ``--lms``)."""
    patterns = dict(builtin_patterns(names))
    fits = {f: sum(bool(re.search(patterns[f], rel)) for rel in rels) for f in ("moodle", "canvas")}
    if not any(fits.values()):
        return "generic"
    if fits["moodle"] == fits["canvas"]:
        raise ValueError(f"cannot tell the export's format: {fits['moodle']} files look like Moodle's and "
                         f"as many like Canvas's; give --lms {'|'.join(LMS_FORMATS)}")
    return max(fits, key=fits.get)
