"""Shared pytest set-up for tests/, lectures/ and solutions/ (notebooks run by nbval).

Test tiers.  The markers declared in pyproject.toml are applied here, centrally, by where a test
lives and what it does, so a test file never has to remember them:

- ``notebooks`` + ``slow``: every cell nbval runs from lectures/*.ipynb and solutions/*/*.ipynb;
- ``browser`` + ``slow``: every test that drives headless Chromium (it asks for the ``browser`` fixture
  of tests/browser/conftest.py, directly or through ``lab``, ``voila``, ``page``); the checks in
  tests/browser/ that need no browser (test_registry.py) are tiered like any other test;
- ``grading`` + ``slow``: nbgrader end to end (tests/test_instructor.py, tests/test_sandbox.py,
  tests/hostile/, and the tests of tests/test_exercises.py that regenerate a release or autograde);
- ``slow``: the other tests measured above ~2 s on 2 shared cores (``SLOW`` below), among them the
  in-process hidden checks of tests/test_exercises.py (already ``grading`` by that file's mark).

``./course test -m "not slow"`` is the fast tier (about 35 s of CPU); ``./course test`` runs everything.
"""

import os
import warnings
from pathlib import Path

import pytest

# Kernels started by nbval / nbgrader inherit this; device-parametrized tests still cover every device.
os.environ.setdefault("COURSE_DEVICE", "cpu")
# Keep progress bars and warnings of executed notebooks quiet and deterministic.
os.environ.setdefault("PYTHONHASHSEED", "0")
# One BLAS/OpenMP thread per process: tests and notebook kernels run side by side on 2 cores,
# and the course's small models train faster without thread oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent

# Files (or folders) whose every test gets these markers, relative to the repository root.
BY_PATH = {
    "tests/test_instructor.py": ("grading", "slow"),
    "tests/test_sandbox.py": ("grading", "slow"),
    "tests/hostile/": ("grading", "slow"),
}

# Tests of tests/test_exercises.py that run nbgrader for real (regenerate a release, autograde);
# the file's static checks of the releases stay in the fast tier.
GRADING_END_TO_END = [
    "tests/test_exercises.py::test_regenerating_the_release_reproduces_exercises",
    "tests/test_exercises.py::test_solution_gets_full_marks_and_the_release_gets_zero",
    "tests/test_exercises.py::test_autograded_mutants_lose_the_points_of_their_cell",
]

# Other tests measured above ~1.5 s of CPU time (what they take on an idle core), with
# `pytest -m "not slow" --durations=40` plus a per-test process_time() on 2 shared cores
# (2026-12-01; wall times there were 5-10x CPU from other load, so CPU time is the measure).
# A new test over ~2 s should carry @pytest.mark.slow itself; this list is for existing ones.
# Node ids; one without parameters (no `[...]`) stands for every parameter of its test.
SLOW = [
    "tests/test_pareto.py::test_explorer_shows_descent_stuck_in_the_worse_well",  # 1.8 s
    "tests/test_divergences.py::test_tv_normal_agrees_with_numerical_integration_when_variances_differ",  # 2 x 1.6 s
    # Every hidden check of every exercise, run in process against the solution and each mutant:
    # 0.1-4 s each (3-4 s for the model-based exercises from 06 on), 60 s of CPU for 7 exercises.
    "tests/test_exercises.py::test_the_unmutated_solution_passes_every_check_in_process",
    "tests/test_exercises.py::test_each_known_mistake_fails_its_hidden_check",
    "tests/browser/test_registry.py::test_every_explorer_class_has_a_registry_entry",  # imports them all: 5 s
]


def _relative(item) -> str:
    try:
        return Path(item.path).resolve().relative_to(ROOT).as_posix()
    except ValueError:  # a test outside the repository (pytest run on another folder)
        return ""


def _listed(nodeid: str, names: list[str]) -> bool:
    """Whether the test is one of `names` (a name without `[...]` covers all its parameters)."""
    return any(nodeid == name or nodeid.startswith(name + "[") for name in names)


def _markers(item) -> set[str]:
    rel = _relative(item)
    marks = set()
    if rel.endswith(".ipynb") and (rel.startswith("lectures/") or rel.startswith("solutions/")):
        marks |= {"notebooks", "slow"}
    if "browser" in getattr(item, "fixturenames", ()):
        marks |= {"browser", "slow"}
    for prefix, names in BY_PATH.items():
        if rel == prefix or (prefix.endswith("/") and rel.startswith(prefix)):
            marks |= set(names)
    if _listed(item.nodeid, GRADING_END_TO_END):
        marks |= {"grading", "slow"}
    if _listed(item.nodeid, SLOW):
        marks.add("slow")
    return marks


@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config, items):
    """Apply the tier markers (see the module docstring) to every collected test."""
    for item in items:
        present = {mark.name for mark in item.iter_markers()}
        for name in sorted(_markers(item) - present):
            item.add_marker(getattr(pytest.mark, name))
    # On a whole-suite collection, a listed test that no longer exists (renamed, removed) is reported.
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        ids = [item.nodeid for item in items]
        stale = [name for name in GRADING_END_TO_END + SLOW if not any(_listed(i, [name]) for i in ids)]
        if stale:
            warnings.warn(pytest.PytestWarning(f"conftest.py lists tests that do not exist: {stale}"), stacklevel=1)
