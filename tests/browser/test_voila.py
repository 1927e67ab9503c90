"""Can a learner without Python use the explorers as a web page (Voila)?

Serve ``lectures/explorers.ipynb`` (it shows every explorer of the registry) with Voila, open it in
Chromium, and for every explorer move one slider with the keyboard and check the numbers against its
oracle.
"""

from __future__ import annotations

import pytest

from course_lib.explorers.registry import REGISTRY

from .explorers import ExplorerOnPage, case, oracle_path

pytestmark = pytest.mark.browser

NOTEBOOK = "lectures/explorers.ipynb"


def test_a_slider_moves_the_numbers_in_voila(voila, page):
    server = voila(NOTEBOOK)
    # Voila sends the page while it runs the notebook: "load" comes only after the last cell (the
    # lecture-04 explorer trains a VAE first), so wait for the first bytes, then for each explorer.
    page.goto(f"{server.url}/?token={server.token}", wait_until="commit", timeout=120_000)
    failures = []
    for e in REGISTRY:
        if not oracle_path(e).exists():
            continue  # reported by test_registry.py
        try:
            move_one_slider(ExplorerOnPage(page, case(e.name)))
        except AssertionError as err:  # check the others too, then report every explorer that failed
            failures.append(str(err))
    assert not failures, "\n\n".join(failures)


def move_one_slider(explorer: ExplorerOnPage) -> None:
    start = explorer.wait_until_shown(timeout=420)  # the page's one cell builds (and trains) them all first
    values = dict(start.values)
    explorer.wait_for(values, timeout=20)
    name, step = next(iter(explorer.case.steps.items()))
    direction, _ = explorer.moves(start, name, values[name])[0]
    values[name] = round(values[name] + direction * step, 10)
    explorer.case.expected(values)  # the oracle's answer is ready before the key is pressed
    explorer.press(name, "ArrowRight" if direction > 0 else "ArrowLeft")
    explorer.wait_for(values, timeout=20, redrawn_since=start)
