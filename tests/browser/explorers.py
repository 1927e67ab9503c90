"""Every explorer of the course, as the browser tests see it, and how to read and move one on a page.

An explorer (``course_lib/widgets*.py``) shows ``FloatSlider``s with distinct descriptions and an HTML
of ``<span class="course-value" data-name=NAME>VALUE</span>``.  A case below names the lecture that
shows it, the cell that displays it, each slider's step, and an oracle: a function from the slider
values to the numbers the page must show, computed here from the library (not from the widget).

Adding the explorer of a new lecture is one ``ExplorerCase`` appended to ``CASES`` (and one cell in
``lectures/explorers.ipynb``, one line in ``benchmarks/widget_bench.py``); ``test_registry.py`` fails
until every explorer class in ``course_lib/widgets*.py`` has its case.
"""

from __future__ import annotations

import importlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
import torch
from scipy import stats

from course_lib import divergences as D


@dataclass(frozen=True)
class ExplorerCase:
    name: str                                  # test id
    factory: str                               # "module:function" building it, as the lecture does
    notebook: str                              # lecture that shows it, relative to the repository root
    call: str                                  # regex matching the last line of the cell that displays it
    steps: dict[str, float]                    # slider description -> step of one arrow key
    oracle: Callable[[dict[str, float]], dict[str, float]]  # slider values -> the numbers shown
    digits: int = 4                            # decimals of the shown numbers
    quick: Callable[[], object] | None = None  # builds the same explorer fast (default: the factory)

    def build(self):
        """An instance of the explorer, for checks that need no browser."""
        if self.quick is not None:
            return self.quick()
        module, function = self.factory.split(":")
        return getattr(importlib.import_module(module), function)()


def divergences_of_normals(v: dict[str, float]) -> dict[str, float]:
    """KL both ways, TV and JS of N(mu_p, sigma_p^2) and N(mu_q, sigma_q^2), from course_lib.divergences."""
    mu_p, sigma_p, mu_q, sigma_q = (torch.tensor(v[k], dtype=torch.float64)
                                    for k in ("mu_p", "sigma_p", "mu_q", "sigma_q"))
    return {
        "KL(p||q)": D.kl_normal(mu_p, sigma_p, mu_q, sigma_q).item(),
        "KL(q||p)": D.kl_normal(mu_q, sigma_q, mu_p, sigma_p).item(),
        "TV": D.tv_normal(mu_p, sigma_p, mu_q, sigma_q).item(),
        "JS": D.js_normal(mu_p, sigma_p, mu_q, sigma_q).item(),
    }


def pareto_descent(v: dict[str, float]) -> dict[str, float]:
    """Where gradient descent on L1 + lambda L2 from (start, 0.5) ends, and its excess over the best of
    it and the descents from (+-1.5, 0.5): a fresh run of course_lib.pareto.scalarization_sweep (the
    explorer looks its answers up in a table precomputed at construction)."""
    from course_lib import pareto as P
    from course_lib import widgets_pareto as W

    loss1, loss2 = W.PROBLEMS["bumped"]
    starts = [v["start"], *W.REFERENCE_STARTS]
    init = torch.tensor([[s, W.START_W2] for s in starts], dtype=torch.float64)        # (3, 2)
    points, _ = P.scalarization_sweep(loss1, loss2, init, [v["lambda"]] * 3, steps=W.STEPS, lr=W.LR)  # (3, 2)
    objective = points[:, 0] + v["lambda"] * points[:, 1]
    return {"L1": points[0, 0].item(), "L2": points[0, 1].item(),
            "excess": (objective[0] - objective.min()).item()}


def typicality_under_the_prior(v: dict[str, float]) -> dict[str, float]:
    """log p(z) for p = N(0, I_2) (torch.distributions) and P(|Z| > |z|) = P(chi^2_2 > |z|^2) (scipy)."""
    z = torch.tensor([v["z1"], v["z2"]], dtype=torch.float64)
    prior = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64),
                                                   torch.eye(2, dtype=torch.float64))
    return {"log p(z)": prior.log_prob(z).item(), "P(|Z|>|z|)": float(stats.chi2.sf((z ** 2).sum().item(), df=2))}


def untrained_latent_explorer():
    """The lecture-04 explorer around an untrained 2-D VAE: same sliders and numbers, no training."""
    from course_lib.vae import VAE, VAEConfig
    from course_lib.widgets_vae import LatentExplorer

    return LatentExplorer(VAE(VAEConfig(latent_dim=2, hidden=128, level_rank=2)))


CASES = [
    ExplorerCase(
        name="divergence",
        factory="course_lib.widgets:divergence_explorer",
        notebook="lectures/01_divergences.ipynb",
        call=r"divergence_explorer\(.*\)",
        steps={"mu_p": 0.1, "sigma_p": 0.05, "mu_q": 0.1, "sigma_q": 0.05},
        oracle=divergences_of_normals,
    ),
    ExplorerCase(
        name="pareto",
        factory="course_lib.widgets_pareto:pareto_explorer",
        notebook="lectures/02_pareto.ipynb",
        call=r"pareto_explorer\((problem=)?(\"bumped\")?\)",  # the oracle is for the bumped problem
        steps={"lambda": 0.05, "start": 0.1},
        oracle=pareto_descent,
    ),
    ExplorerCase(
        name="latent",
        factory="course_lib.widgets_vae:latent_explorer",
        notebook="lectures/04_elbo_vae.ipynb",
        call=r"latent_explorer\(.*\)",
        steps={"z1": 0.05, "z2": 0.05},
        oracle=typicality_under_the_prior,
        quick=untrained_latent_explorer,
    ),
]


def cells_showing(notebook: Path, case: ExplorerCase) -> list[int]:
    """Indices of the code cells of ``notebook`` whose last line matches ``case.call``."""
    cells = nbformat.read(notebook, as_version=4).cells
    return [i for i, c in enumerate(cells) if c.cell_type == "code" and c.source.strip()
            and re.fullmatch(case.call, c.source.strip().splitlines()[-1].strip())]


# --- reading and moving an explorer on a page (JupyterLab or Voila) ---------------------------------

# Every explorer on the page: the nearest ancestor of its numbers that holds sliders is its scope.
_READ_EXPLORERS = """() => [...document.querySelectorAll('.course-values')].map(values => {
    let scope = values.parentElement;
    while (scope && !scope.querySelector('.widget-slider')) scope = scope.parentElement;
    const sliders = {};
    for (const s of (scope ? scope.querySelectorAll('.widget-slider') : [])) {
        sliders[s.querySelector('.widget-label').textContent.trim()] =
            s.querySelector('.widget-readout').textContent.trim();
    }
    const numbers = {};
    for (const v of values.querySelectorAll('.course-value')) numbers[v.dataset.name] = v.textContent.trim();
    let outer = scope;  // the picture sits beside the controls: nearest ancestor with an image
    while (outer && !outer.querySelector('img.widget-image')) outer = outer.parentElement;
    const img = outer ? outer.querySelector('img.widget-image') : null;
    return {sliders, numbers, picture: img ? img.getAttribute('src') : null};
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

    @property
    def values(self) -> dict[str, float]:
        return {name: number(text) for name, text in self.readouts.items()}


class ExplorerOnPage:
    """One explorer on a Playwright page, found by its slider descriptions."""

    def __init__(self, page, case: ExplorerCase):
        self.page, self.case = page, case

    def _index(self, explorers: list[dict]) -> int | None:
        for i, e in enumerate(explorers):
            if set(self.case.steps) <= set(e["sliders"]):
                return i
        return None

    def snapshot(self) -> Snapshot | None:
        explorers = self.page.evaluate(_READ_EXPLORERS)
        i = self._index(explorers)
        if i is None:
            return None
        e = explorers[i]
        return Snapshot(readouts={k: e["sliders"][k] for k in self.case.steps}, numbers=e["numbers"],
                        picture=e["picture"])

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
        expected = self.case.oracle(expected_values)
        if set(snap.numbers) != set(expected):
            problems.append(f"page shows numbers {sorted(snap.numbers)}, expected {sorted(expected)}")
        for name, want in expected.items():
            shown = snap.numbers.get(name)
            if shown is None:
                continue
            if not re.fullmatch(rf"[-\u2212]?\d+\.\d{{{self.case.digits}}}", shown):
                problems.append(f"{name} shows {shown!r}, not a number with {self.case.digits} decimals")
            elif abs(number(shown) - round(want, self.case.digits)) > 1.0001 * 10 ** -self.case.digits:
                problems.append(f"{name} shows {shown}, library gives {want:.{self.case.digits + 2}f}")
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
                    f"course_lib for sliders {expected_values}:\n  " + "\n  ".join(problems)
                    + (f"\n  page: {snap}" if snap else ""))
            time.sleep(0.1)

    def check_every_slider(self, timeout: float = 20.0) -> list[float]:
        """Move each slider right one step, then left two steps, checking the numbers after each move.
        Returns the seconds from each key press until the page showed the right numbers."""
        start = self.wait_until_shown(timeout)
        values = dict(start.values)
        self.wait_for(values, timeout)  # the numbers shown before any move are right too
        latencies = []
        for name, step in self.case.steps.items():
            for key, times, direction in (("ArrowRight", 1, +1), ("ArrowLeft", 2, -1)):
                before = self.snapshot()
                values[name] = round(values[name] + direction * times * step, 10)
                pressed = time.monotonic()
                self.press(name, key, times)
                self.wait_for(values, timeout, redrawn_since=before)
                latencies.append(time.monotonic() - pressed)
        return latencies
