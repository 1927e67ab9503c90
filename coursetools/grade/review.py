"""Patterns in a submission's answer cells that deserve a human look (they never change a score).

The first pattern is built from the references that grading switches off (each topic of
``course_grading`` declares them once, next to its cases).
"""

from __future__ import annotations

import re

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
