"""Every explorer of the course, as the browser tests see it, and how to read and move one on a page.

The explorers are the entries of ``course_lib.explorers.registry.REGISTRY``. An explorer shows
``FloatSlider``s with distinct descriptions and an HTML of
``<span class="course-value" data-name=NAME>VALUE</span>``. Its :class:`ExplorerCase` joins the
registry entry with its oracle, ``tests/browser/oracles/<name>.py`` (a function from the slider
values to the numbers the page must show, computed independently of the explorer; see
``oracles/__init__.py``), and with what the widget itself says: each slider's step and the decimals
of the numbers.  ``test_registry.py`` fails until every explorer class has its entry, every entry its
oracle, and every entry's lecture a cell that displays it.
"""

from __future__ import annotations

import functools
import importlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_lib.explorers.registry import REGISTRY, Entry, entry

ORACLES = Path(__file__).resolve().parent / "oracles"
NAMES = [e.name for e in REGISTRY]  # test ids, in lecture order


@dataclass
class ExplorerCase:
    entry: Entry
    oracle: Callable[[dict[str, float]], dict[str, float]]  # slider values -> the numbers shown
    call: str                    # regex matching the last line of the lecture cell that displays it
    steps: dict[str, float]      # slider description -> step of one arrow key (from the widget)
    digits: int                  # decimals of the shown numbers (from the widget)
    names: tuple[str, ...]       # the names of the shown numbers (from the widget)
    trained: frozenset = frozenset()  # numbers that follow the trained weights (oracle's TRAINED)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.entry.name

    def expected(self, values: dict[str, float]) -> dict[str, float]:
        """The oracle's numbers for ``values`` (remembered: the page is polled many times per move)."""
        key = tuple(sorted(values.items()))
        if key not in self._cache:
            self._cache[key] = self.oracle(dict(values))
        return self._cache[key]


@functools.cache
def built(name: str):
    """The explorer of registry entry ``name``, built quickly (its quick factory where it has one)."""
    return entry(name).build(quick=True)


def oracle_path(e: Entry) -> Path:
    return ORACLES / f"{e.name}.py"


def oracle_module(e: Entry):
    """``tests.browser.oracles.<name>``; AssertionError saying what to write when it is missing."""
    if not oracle_path(e).exists():
        raise AssertionError(f"the {e.name!r} explorer has no oracle: write tests/browser/oracles/{e.name}.py "
                             f"defining oracle(values: dict[str, float]) -> dict[str, float]")
    return importlib.import_module(f"{__package__}.oracles.{e.name}")


def call_pattern(e: Entry) -> str:
    """The oracle's ``CALL`` where it sets one, else the factory's name called with any arguments."""
    default = rf"{re.escape(e.factory.split(':')[1])}\(.*\)"
    return getattr(oracle_module(e), "CALL", default) if oracle_path(e).exists() else default


@functools.cache
def case(name: str) -> ExplorerCase:
    """The browser case of registry entry ``name``."""
    e = entry(name)
    explorer = built(name)
    return ExplorerCase(entry=e, oracle=oracle_module(e).oracle, call=call_pattern(e),
                        steps={s.description: s.step for s in explorer.sliders.values()},
                        digits=explorer.digits, names=tuple(explorer.values),
                        trained=frozenset(getattr(oracle_module(e), "TRAINED", ())))


def cells_showing(notebook: Path, call: str) -> list[int]:
    """Indices of the code cells of ``notebook`` whose last line matches the regex ``call``."""
    cells = nbformat.read(notebook, as_version=4).cells
    return [i for i, c in enumerate(cells) if c.cell_type == "code" and c.source.strip()
            and re.fullmatch(call, c.source.strip().splitlines()[-1].strip())]


# --- reading and moving an explorer on a page (JupyterLab or Voila) ---------------------------------

# Every explorer on the page: the nearest ancestor of its numbers that holds sliders is its scope.
_READ_EXPLORERS = """() => [...document.querySelectorAll('.course-values')].map(values => {
    let scope = values.parentElement;
    while (scope && !scope.querySelector('.widget-slider')) scope = scope.parentElement;
    const sliders = {}, bounds = {};
    for (const s of (scope ? scope.querySelectorAll('.widget-slider') : [])) {
        const label = s.querySelector('.widget-label').textContent.trim();
        const handle = s.querySelector('.noUi-handle');
        sliders[label] = s.querySelector('.widget-readout').textContent.trim();
        bounds[label] = handle ? [Number(handle.getAttribute('aria-valuemin')),
                                  Number(handle.getAttribute('aria-valuemax'))] : null;
    }
    const numbers = {};
    for (const v of values.querySelectorAll('.course-value')) numbers[v.dataset.name] = v.textContent.trim();
    let outer = scope;  // the picture sits beside the controls: nearest ancestor with an image
    while (outer && !outer.querySelector('img.widget-image')) outer = outer.parentElement;
    const img = outer ? outer.querySelector('img.widget-image') : null;
    return {sliders, bounds, numbers, picture: img ? img.getAttribute('src') : null};
})"""


def number(text: str) -> float:
    """A number as a widget shows it (ipywidgets' readouts use the Unicode minus sign)."""
    return float(text.replace("\u2212", "-"))


@dataclass
class Snapshot:
    """What the learner sees: each slider's readout and each number, as text.

    The readout is the only exact view of a slider's value on the page (noUiSlider's aria-valuenow
    is rounded to one decimal), so the explorers' readouts must show every digit of their step.
    """

    readouts: dict[str, str]
    numbers: dict[str, str]
    picture: str | None  # the image's src: a new blob URL each time the explorer redraws
    bounds: dict[str, tuple[float, float] | None]  # each slider's (min, max), from its handle's aria

    @property
    def values(self) -> dict[str, float]:
        return {name: number(text) for name, text in self.readouts.items()}


class ExplorerOnPage:
    """One explorer on a Playwright page, found by its slider descriptions (and, where several
    explorers share them, by the names of its numbers)."""

    def __init__(self, page, case: ExplorerCase):
        self.page, self.case = page, case

    def _index(self, explorers: list[dict]) -> int | None:
        found = [i for i, e in enumerate(explorers) if set(self.case.steps) <= set(e["sliders"])]
        named = [i for i in found if set(explorers[i]["numbers"]) == set(self.case.names)]
        return (named or found or [None])[0]

    def snapshot(self) -> Snapshot | None:
        explorers = self.page.evaluate(_READ_EXPLORERS)
        i = self._index(explorers)
        if i is None:
            return None
        e = explorers[i]
        return Snapshot(readouts={k: e["sliders"][k] for k in self.case.steps}, numbers=e["numbers"],
                        picture=e["picture"], bounds={k: e["bounds"].get(k) for k in self.case.steps})

    def wait_until_shown(self, timeout: float) -> Snapshot:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = self.snapshot()
            if snap is not None and snap.numbers:
                return snap
            time.sleep(0.2)
        raise AssertionError(f"explorer {self.case.name!r} with sliders {list(self.case.steps)} "
                             f"did not appear within {timeout:.0f} s")

    def handle(self, description: str):
        """The draggable handle of the slider labelled ``description`` (focusable, takes arrow keys)."""
        i = self._index(self.page.evaluate(_READ_EXPLORERS))
        scope = self.page.locator(".course-values").nth(i).locator(
            "xpath=ancestor::*[.//*[contains(concat(' ', @class, ' '), ' widget-slider ')]][1]")
        label = self.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
        return scope.locator(".widget-slider", has=label).locator(".noUi-handle")

    def press(self, description: str, key: str, times: int = 1) -> None:
        handle = self.handle(description)
        handle.focus()
        for _ in range(times):
            handle.press(key)

    def mismatches(self, snap: Snapshot, expected_values: dict[str, float]) -> list[str]:
        """Everything on the page that differs from the oracle for ``expected_values`` (empty: all good)."""
        problems = []
        for name, want in expected_values.items():
            shown = snap.readouts[name]
            decimals = len(shown.split(".")[1]) if "." in shown else 0
            if abs(number(shown) - want) > 0.5 * 10 ** -decimals + 1e-9:
                problems.append(f"slider {name} reads {shown!r}, expected {want:.{max(decimals, 2)}f}")
        expected = self.case.expected(expected_values)
        if set(snap.numbers) != set(expected):
            problems.append(f"page shows numbers {sorted(snap.numbers)}, expected {sorted(expected)}")
        for name, want in expected.items():
            shown = snap.numbers.get(name)
            if shown is None:
                continue
            if not re.fullmatch(rf"[-\u2212]?\d+\.\d{{{self.case.digits}}}", shown):
                problems.append(f"{name} shows {shown!r}, not a number with {self.case.digits} decimals")
            elif name in self.case.trained:
                continue  # the page's model is the lecture's trained one: value checked on the quick build
            elif abs(number(shown) - round(want, self.case.digits)) > 1.0001 * 10 ** -self.case.digits:
                problems.append(f"{name} shows {shown}, oracle gives {want:.{self.case.digits + 2}f}")
        return problems

    def wait_for(self, expected_values: dict[str, float], timeout: float,
                 redrawn_since: Snapshot | None = None) -> Snapshot:
        """Wait until the page agrees with the oracle for ``expected_values`` (and, given
        ``redrawn_since``, shows a new picture: the kernel answered even if no number changed);
        fail with the differences."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self.snapshot()
            problems = ["explorer disappeared"] if snap is None else self.mismatches(snap, expected_values)
            if snap is not None and redrawn_since is not None and snap.picture == redrawn_since.picture:
                problems.append("the picture was not redrawn")
            if not problems:
                return snap
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.case.name}: after {timeout:.0f} s the page still disagrees with "
                    f"the oracle for sliders {expected_values}:\n  " + "\n  ".join(problems)
                    + (f"\n  page: {snap}" if snap else ""))
            time.sleep(0.1)

    def moves(self, snap: Snapshot, name: str, value: float) -> list[tuple[int, int]]:
        """(direction, key presses) that move slider ``name`` from ``value`` one step and then back past
        it where there is room: right 1, left 2 in the middle; left 1, right 1 at the right end."""
        step = self.case.steps[name]
        lo, hi = snap.bounds.get(name) or (float("-inf"), float("inf"))
        lo, hi = lo + 0.05 - 1e-9, hi - 0.05 + 1e-9  # noUiSlider writes its aria bounds to one decimal
        first = +1 if value + step <= hi else -1
        back = 2 if lo <= value - first * step <= hi else 1
        return [(first, 1), (-first, back)]

    def check_every_slider(self, timeout: float = 20.0) -> list[float]:
        """Move each slider one step (right where there is room), then back two steps (one at an end),
        checking the numbers after each move. Returns the seconds from each key press until the page
        showed the right numbers."""
        start = self.wait_until_shown(timeout)
        values = dict(start.values)
        self.wait_for(values, timeout)  # the numbers shown before any move are right too
        latencies = []
        for name, step in self.case.steps.items():
            for direction, times in self.moves(start, name, values[name]):
                key = "ArrowRight" if direction > 0 else "ArrowLeft"
                before = self.snapshot()
                values[name] = round(values[name] + direction * times * step, 10)
                self.case.expected(values)  # the oracle's answer is ready before the key is pressed
                pressed = time.monotonic()
                self.press(name, key, times)
                self.wait_for(values, timeout, redrawn_since=before)
                latencies.append(time.monotonic() - pressed)
        return latencies
