"""Correct alternative implementations ("alternatives") of every graded function.

Each ``tests/alternatives/a<NN>_<name>.py`` (one per assignment in ``solutions/``) defines
``ALTERNATIVES: list[Alternative]``. Like a mutant (``tests/mutants/``), an alternative edits one
solution cell of the assignment's source notebook by replacing ``old`` (which must occur once in that
cell) with ``new``; but the new code is CORRECT: another algorithm, numpy inside, a Python loop,
``torch.distributions``, autograd instead of the closed form, or code that prints a Python warning
(``torch.tensor(t)`` on a tensor). Its hidden ``check`` must pass in-process, and the autograded
notebook must keep full marks (a warning on stderr is not a failure: ``WarningsToStdout``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Alternative:
    label: str   # the alternative, in words: "torch.distributions' kl_divergence"
    cell: str    # grade_id of the solution cell to edit
    old: str     # text in that cell (must occur exactly once)
    new: str     # its correct replacement
    check: str   # the hidden check it must pass, e.g. "divergences.kl_normal"
    keeps: str   # grade_id of the test cell that must keep its points
    warns: bool = False  # whether it prints a Python warning (to stderr)


def alternatives_for(assignment: str) -> list[Alternative]:
    """The alternatives of ``assignment`` (e.g. ``"01_divergences"``); [] if it has none."""
    if not (Path(__file__).parent / f"a{assignment}.py").exists():
        return []
    return list(importlib.import_module(f"{__name__}.a{assignment}").ALTERNATIVES)
