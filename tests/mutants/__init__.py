"""Known-wrong implementations ("mutants") of every graded function.

Each ``tests/mutants/m<NN>_<name>.py`` (one per assignment in ``solutions/``) defines
``MUTANTS: list[Mutant]``. A mutant edits one solution cell of the assignment's source notebook by
replacing ``old`` (which must occur in that cell) with ``new``; the hidden test ``check`` must then
fail, and the test cell ``fails`` must score zero when the mutated notebook is autograded.
They encode the mistakes students really make: swapped arguments, variance for standard deviation,
a missing 1/2, a wrong sign, ...
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    label: str   # the mistake, in words: "variance used as standard deviation"
    cell: str    # grade_id of the solution cell to edit
    old: str     # text in that cell (must occur exactly once)
    new: str     # its wrong replacement
    check: str   # the hidden check that must catch it, e.g. "divergences.kl_normal"
    fails: str   # grade_id of the test cell that must score zero


def mutants_for(assignment: str) -> list[Mutant]:
    """The mutants of ``assignment`` (e.g. ``"01_divergences"``); [] if it has none."""
    module_name = f"{__name__}.m{assignment}"
    if not (Path(__file__).parent / f"m{assignment}.py").exists():
        return []
    return list(importlib.import_module(module_name).MUTANTS)
