"""Does each explorer of the course work in a real JupyterLab, with a real browser?

For every explorer of the registry: open its lecture in JupyterLab, run the notebook down to the
explorer's cell, move each slider with the keyboard, and check that the numbers on the page are the
oracle's (``tests/browser/oracles/<name>.py``) for the new values.
"""

from __future__ import annotations

import os

import pytest

from course_lib.explorers.registry import entry

from . import jupyterlab
from .explorers import NAMES, ExplorerOnPage, case, cells_showing, oracle_path

pytestmark = pytest.mark.browser

# "explorer" (default): every cell from the top down to the explorer's, one after the other, which is
# what a learner runs before using it; the cells after it cannot change it (and the notebook tests run
# every lecture top to bottom).  "all": Run > Run All Cells, about a minute more for the suite.
RUN = os.environ.get("COURSE_BROWSER_RUN", "explorer")


@pytest.mark.parametrize("name", NAMES)
def test_sliders_move_the_numbers_in_jupyterlab(name, lab, workspace, page, shutdown_kernels):
    lecture = entry(name).lecture
    # test_registry.py fails for both: this is reported, not hidden
    if not (workspace / lecture).exists():
        pytest.skip(f"{lecture} does not exist (yet): no lecture shows the {name} explorer")
    if not oracle_path(entry(name)).exists():
        pytest.skip(f"the {name} explorer has no oracle (yet): nothing to compare the page with")
    c = case(name)
    cells = cells_showing(workspace / lecture, c.call)
    assert cells, f"{lecture} has no cell ending with a line matching {c.call!r}"
    jupyterlab.open_notebook(page, lab, lecture)
    if RUN == "explorer":
        upto = tuple(cell["index"] for cell in jupyterlab.code_cells(page) if cell["index"] <= cells[-1])
        jupyterlab.run(page, lab, upto, timeout=150)
    else:
        jupyterlab.run(page, lab, "all", timeout=150)
    latencies = sorted(ExplorerOnPage(page, c).check_every_slider())
    print(f"{name}: key press -> right numbers seen by the test (its polling included): "
          f"median {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s over {len(latencies)} moves")
