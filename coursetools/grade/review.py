"""What in a submission deserves a human look (it never changes a score).

- :func:`review_flags`: text patterns in the answer cells; the first is built from the references
  that grading switches off (each topic of ``course_grading`` declares them once, next to its cases).
- :func:`reached_flags`: what the hidden tests saw at run time -- a graded call that ran a
  switched-off reference anyway (through ``importlib``, ``getattr``, a kept code object: no text
  pattern needed), or that removed the harness's call watcher. The hidden test records it
  (``course_grading.watching_references``); this reads it from the autograded notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

import course_grading


def reference_pattern() -> str:
    """A mention of a module whose functions grading switches off (``course_grading`` lists them):
    ``course_lib.divergences`` or ``from course_lib import ... divergences``."""
    modules = sorted({ref.rpartition(".")[0] for ref in course_grading.all_references()})
    short = "|".join(m.rpartition(".")[2] for m in modules)
    return "|".join([*(re.escape(m) + r"\b" for m in modules),
                     r"from\s+course_lib\s+import\s+[^\n]*\b(" + short + r")\b"])


REVIEW_PATTERNS = {
    "calls course_lib reference code": reference_pattern(),
    "touches code objects": r"__code__|__globals__|FunctionType",
    "inspects frames": r"_getframe|inspect\.|f_back|f_locals|gc\.get_",
    "patches the kernel or builtins": r"get_ipython\(\)\.|import builtins|__builtins__|sys\.modules",
    "uses ctypes/processes": r"\bctypes\b|os\.fork|subprocess|os\.system|multiprocessing",
}


def review_flags(notebook) -> list[str]:
    """Labels of :data:`REVIEW_PATTERNS` found in the notebook's answer cells."""
    source = "\n".join(c.source for c in notebook.cells if c.cell_type == "code"
                       and c.metadata.get("nbgrader", {}).get("solution"))
    return [label for label, pattern in REVIEW_PATTERNS.items() if re.search(pattern, source)]


def reached_flags(folder: Path) -> list[str]:
    """Review labels from the hidden-test records in the autograded notebooks of ``folder``.

    The records come from the student's kernel, so only the expected forms are taken (a reference's
    dotted name, or the watcher's own message), at most a few, and never anything else it wrote.
    """
    import nbformat

    known = set(course_grading.all_references()) | {course_grading.WATCHER_REMOVED}
    reached = set()
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
                for mime in (course_grading.MIME, course_grading.REVIEW_MIME):
                    record = out.get("data", {}).get(mime)
                    items = record.get("reached") if isinstance(record, dict) else None
                    if isinstance(items, list):
                        reached |= {r for r in items if isinstance(r, str) and r in known}
    return [f"a graded call ran {r}" if r != course_grading.WATCHER_REMOVED else f"a graded call: {r}"
            for r in sorted(reached)]
