"""Is every explorer of the course in the registry, with an oracle, shown by its lecture and by the
page of all explorers?  (No browser needed.)"""

from __future__ import annotations

import importlib
import inspect
import re

import nbformat
import pytest

from course_lib.explorers.base import Explorer
from course_lib.explorers.registry import entry
from coursetools.layout import REPO

from .explorers import NAMES, built, call_pattern, case, cells_showing, oracle_module

EXPLORERS = REPO / "course_lib" / "explorers"
PAGE = REPO / "lectures" / "explorers.ipynb"
NOT_EXPLORERS = {"__init__", "base", "registry"}  # the package's own machinery


def explorer_classes() -> dict[type, str]:
    """Every Explorer subclass defined in course_lib/explorers/<module>.py -> its module's name."""
    found = {}
    for path in sorted(EXPLORERS.glob("*.py")):
        if path.stem in NOT_EXPLORERS:
            continue
        module = importlib.import_module(f"course_lib.explorers.{path.stem}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Explorer) and obj is not Explorer and obj.__module__ == module.__name__:
                found[obj] = path.stem
    return found


def test_every_explorer_class_has_a_registry_entry():
    registered = {type(built(name)) for name in NAMES}
    missing = sorted(f"{module}.{cls.__qualname__}" for cls, module in explorer_classes().items()
                     if cls not in registered)
    assert not missing, (f"explorers without an entry in course_lib/explorers/registry.py: {missing}; "
                         f"add one Entry(name, lecture, factory) line each")


def test_registry_names_are_unique():
    assert len(NAMES) == len(set(NAMES)), f"two registry entries share a name: {NAMES}"


@pytest.mark.parametrize("name", NAMES)
def test_entry_builds_the_explorer_of_its_own_module(name):
    explorer = built(name)
    assert isinstance(explorer, Explorer), f"{name}: the factory built a {type(explorer).__name__}, not an Explorer"
    assert type(explorer).__module__ == f"course_lib.explorers.{name}", (
        f"{name}: the explorer class lives in {type(explorer).__module__}; one module per explorer, "
        f"named like its entry: course_lib/explorers/{name}.py")


@pytest.mark.parametrize("name", NAMES)
def test_entry_has_an_oracle_that_names_the_numbers_the_widget_shows(name):
    oracle = getattr(oracle_module(entry(name)), "oracle", None)
    assert callable(oracle), f"tests/browser/oracles/{name}.py must define oracle(values) -> numbers"
    explorer = built(name)
    shown = oracle({s.description: float(s.value) for s in explorer.sliders.values()})
    assert list(shown) == list(explorer.values), f"{name}: the oracle's numbers differ from the widget's"
    assert shown == pytest.approx(explorer.values, rel=1e-6, abs=10 ** -(explorer.digits + 2)), (
        f"{name}: at its initial sliders the explorer disagrees with its oracle")
    trained = set(getattr(oracle_module(entry(name)), "TRAINED", ()))
    assert trained < set(shown), f"{name}: TRAINED {sorted(trained - set(shown))} are not numbers it shows"


@pytest.mark.parametrize("name", NAMES)
def test_sliders_can_be_read_and_moved_on_a_page(name):
    explorer = built(name)
    assert len({s.description for s in explorer.sliders.values()}) == len(explorer.sliders), (
        f"{name}: slider descriptions must be distinct (the browser tests find sliders by them)")
    for s in explorer.sliders.values():
        # one redraw per drag end or key press, not hundreds while dragging
        assert not s.continuous_update, f"{name}: slider {s.description} updates while dragging"
        # the readout is how the browser test reads a value: it must show every digit of the step
        fixed = re.fullmatch(r"\.(\d+)f", s.readout_format)
        assert fixed, f"{s.description}: readout_format {s.readout_format!r} is not fixed-point '.Nf'"
        decimals = int(fixed.group(1))
        assert round(s.step, decimals) == pytest.approx(s.step), f"{s.description}: readout hides digits"
    assert case(name).steps == {s.description: s.step for s in explorer.sliders.values()}


@pytest.mark.parametrize("name", NAMES)
def test_entry_lecture_shows_the_explorer(name):
    lecture, call = entry(name).lecture, call_pattern(entry(name))
    assert (REPO / lecture).exists(), f"{lecture} (the lecture of the {name} explorer) is missing"
    assert cells_showing(REPO / lecture, call), f"{lecture}: no code cell's last line matches {call!r}"


def test_the_explorers_page_shows_every_registry_entry():
    cells = nbformat.read(PAGE, as_version=4).cells
    loops = [c for c in cells if c.cell_type == "code" and re.search(r"^for \w+ in REGISTRY\b", c.source, re.M)]
    assert loops, "lectures/explorers.ipynb must display its explorers by iterating REGISTRY"
    # the committed outputs are those of a run with today's registry: one explorer per entry, in order
    shown = [_number_names(o) for c in loops for o in c.outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    wanted = [list(built(name).values) for name in NAMES]
    assert shown == wanted, ("the committed lectures/explorers.ipynb does not show today's registry: re-execute it "
                             "(.venv/bin/jupyter nbconvert --to notebook --execute --inplace lectures/explorers.ipynb)")


def _number_names(output) -> list[str]:
    """The names of an explorer's numbers in its plain-text output ``name = value, name = value``."""
    text = output["data"].get("text/plain", "")
    return [part.rsplit(" = ", 1)[0] for part in text.split(", ")] if text else []
