"""Drive a notebook in JupyterLab the way a learner does, through JupyterLab's own commands.

The server is started with ``--LabApp.expose_app_in_browser=True``, so ``window.jupyterapp`` is the
application: ``commands.execute('notebook:run-all-cells')`` is exactly what Run > Run All Cells does.
"""

from __future__ import annotations

import time

# The open notebook panel, once its file is loaded.
_PANEL = "window.jupyterapp && window.jupyterapp.shell.currentWidget"

_KERNEL_STATUS = f"""() => {{
    const panel = {_PANEL};
    return panel && panel.sessionContext && panel.sessionContext.session &&
           panel.sessionContext.session.kernel ? panel.sessionContext.session.kernel.status : null;
}}"""

# Every code cell: its execution count and error outputs (ename: evalue).
_CELLS = f"""() => {{
    const panel = {_PANEL};
    const cells = [];
    for (let i = 0; i < panel.content.model.cells.length; i++) {{
        const cell = panel.content.model.cells.get(i);
        if (cell.type !== 'code') continue;
        const outputs = cell.outputs.toJSON();
        cells.push({{index: i, count: cell.executionCount,
                     errors: outputs.filter(o => o.output_type === 'error')
                                    .map(o => o.ename + ': ' + o.evalue)}});
    }}
    return cells;
}}"""


def code_cells(page) -> list[dict]:
    """The open notebook's code cells: ``{"index", "count" (execution count or None), "errors"}``."""
    return page.evaluate(_CELLS)


def open_notebook(page, lab, path: str, timeout: float = 90.0) -> None:
    """Open ``path`` (relative to the server root) in JupyterLab and wait for its kernel to be idle."""
    page.goto(f"{lab.url}/lab/tree/{path}?token={lab.token}")
    page.wait_for_function(
        f"() => {{ const p = {_PANEL}; return p && p.context && p.context.path === {path!r} "
        f"&& p.context.isReady; }}", timeout=timeout * 1000)
    page.wait_for_function(f"({_KERNEL_STATUS})() === 'idle'", timeout=timeout * 1000)


def run(page, lab, cells: str | tuple[int, ...], timeout: float) -> None:
    """Run every cell (``cells="all"``: Run > Run All Cells) or the given cells in order, and wait
    until each has run and the kernel is idle; an error output fails with its message."""
    if cells == "all":
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    else:
        for index in cells:
            page.evaluate(f"() => {{ window.jupyterapp.shell.currentWidget.content.activeCellIndex = {index}; "
                          f"window.jupyterapp.commands.execute('notebook:run-cell'); }}")
    deadline = time.monotonic() + timeout
    while True:
        state = code_cells(page)
        wanted = state if cells == "all" else [c for c in state if c["index"] in cells]
        errors = [f"cell {c['index']}: {e}" for c in state for e in c["errors"]]
        assert not errors, "the notebook raised:\n  " + "\n  ".join(errors)
        if all(c["count"] for c in wanted) and page.evaluate(_KERNEL_STATUS) == "idle":
            return
        if time.monotonic() > deadline:
            pending = [c["index"] for c in wanted if not c["count"]]
            raise AssertionError(f"cells {pending} had not run after {timeout:.0f} s "
                                 f"(kernel {page.evaluate(_KERNEL_STATUS)})")
        time.sleep(0.25)
