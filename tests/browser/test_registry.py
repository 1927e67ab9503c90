"""Is every explorer of the course in the browser suite, described as it really is?  (No browser needed.)"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from course_lib.widgets import Explorer

from .explorers import CASES, cells_showing

REPO = Path(__file__).resolve().parents[2]


def explorer_classes() -> set[type]:
    """Every Explorer subclass defined in course_lib/widgets*.py."""
    found = set()
    for path in sorted((REPO / "course_lib").glob("widgets*.py")):
        module = importlib.import_module(f"course_lib.{path.stem}")
        found |= {obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, Explorer) and obj is not Explorer and obj.__module__ == module.__name__}
    return found


def test_every_explorer_of_the_course_has_a_browser_case():
    covered = {type(case.build()) for case in CASES}
    missing = sorted(cls.__qualname__ for cls in explorer_classes() - covered)
    assert not missing, f"explorers without a case in tests/browser/explorers.py: {missing}"


def test_every_explorer_is_benchmarked():
    from benchmarks.widget_bench import EXPLORERS

    benchmarked = {f"{module}:{function}" for _, module, function in EXPLORERS}
    missing = [case.factory for case in CASES if case.factory not in benchmarked]
    assert not missing, f"benchmarks/widget_bench.py does not time {missing}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_matches_the_widget(case):
    explorer = case.build()
    steps = {s.description: s.step for s in explorer.sliders.values()}
    assert steps == pytest.approx(case.steps), f"{case.name}: sliders/steps on the page differ from the case"
    for s in explorer.sliders.values():
        # one redraw per drag end or key press, not hundreds while dragging
        assert not s.continuous_update, f"{case.name}: slider {s.description} updates while dragging"
        # the readout is how the browser test reads a value: it must show every digit of the step
        fixed = re.fullmatch(r"\.(\d+)f", s.readout_format)
        assert fixed, f"{s.description}: readout_format {s.readout_format!r} is not fixed-point '.Nf'"
        decimals = int(fixed.group(1))
        assert round(s.step, decimals) == pytest.approx(s.step), f"{s.description}: readout hides digits"
    assert set(explorer.values) == set(case.oracle({s.description: s.value for s in explorer.sliders.values()}))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_lecture_shows_the_explorer(case):
    assert (REPO / case.notebook).exists(), f"{case.notebook} (the lecture of the {case.name} explorer) is missing"
    assert cells_showing(REPO / case.notebook, case), f"{case.notebook}: no cell ends with {case.call!r}"


def test_the_voila_page_shows_every_explorer():
    missing = [case.name for case in CASES if not cells_showing(REPO / "lectures" / "explorers.ipynb", case)]
    assert not missing, f"lectures/explorers.ipynb lacks the explorers {missing}: add a cell for each"
