"""Can a learner without Python use the explorers as a web page (Voila)?

Serve ``lectures/explorers.ipynb`` with Voila, open it in Chromium, and for every explorer on it move
one slider with the keyboard and check the numbers against the library.
"""

from __future__ import annotations

import pytest

from .explorers import CASES, ExplorerOnPage, cells_showing

pytestmark = pytest.mark.browser

NOTEBOOK = "lectures/explorers.ipynb"


def test_a_slider_moves_the_numbers_in_voila(voila, workspace, page):
    server = voila(NOTEBOOK)
    page.goto(f"{server.url}/?token={server.token}")
    for case in CASES:
        if not cells_showing(workspace / NOTEBOOK, case):
            continue  # reported by test_registry.py
        explorer = ExplorerOnPage(page, case)
        start = explorer.wait_until_shown(timeout=120)
        values = dict(start.values)
        explorer.wait_for(values, timeout=20)
        name, step = next(iter(case.steps.items()))
        values[name] = round(values[name] + step, 10)
        explorer.press(name, "ArrowRight")
        explorer.wait_for(values, timeout=20, redrawn_since=start)
