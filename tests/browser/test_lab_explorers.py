"""Does each explorer of the course work in a real JupyterLab, with a real browser?

For every explorer (``explorers.CASES``): open its lecture in JupyterLab, run the notebook down to the
explorer's cell, move each slider with the keyboard, and check that the numbers on the page are the
library's for the new values.
"""

from __future__ import annotations

import os

import pytest

from . import jupyterlab
from .explorers import CASES, ExplorerOnPage, cells_showing

pytestmark = pytest.mark.browser

# "explorer" (default): every cell from the top down to the explorer's, one after the other, which is
# what a learner runs before using it; the cells after it cannot change it (and the notebook tests run
# every lecture top to bottom).  "all": Run > Run All Cells, about a minute more for the suite.
RUN = os.environ.get("COURSE_BROWSER_RUN", "explorer")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sliders_move_the_numbers_in_jupyterlab(case, lab, workspace, page, shutdown_kernels):
    notebook = workspace / case.notebook
    if not notebook.exists():  # test_registry.py fails for it: this is reported, not hidden
        pytest.skip(f"{case.notebook} does not exist (yet): no lecture shows the {case.name} explorer")
    cells = cells_showing(notebook, case)
    assert cells, f"{case.notebook} has no cell ending with a line matching {case.call!r}"
    jupyterlab.open_notebook(page, lab, case.notebook)
    if RUN == "explorer":
        upto = tuple(c["index"] for c in jupyterlab.code_cells(page) if c["index"] <= cells[-1])
        jupyterlab.run(page, lab, upto, timeout=150)
    else:
        jupyterlab.run(page, lab, "all", timeout=150)
    latencies = sorted(ExplorerOnPage(page, case).check_every_slider())
    print(f"{case.name}: key press -> right numbers seen by the test (its polling included): "
          f"median {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s over {len(latencies)} moves")
