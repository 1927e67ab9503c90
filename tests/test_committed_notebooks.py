"""Committed notebooks are as the brief says: lectures with outputs from one clean top-to-bottom run,
solutions and exercises without outputs, all small enough to review."""

import nbformat
import pytest

from coursetools.layout import RELEASE, REPO, SOURCE

LECTURES = sorted((REPO / "lectures").glob("[0-9][0-9]_*.ipynb"))  # explorers.ipynb is the Voila page
SOURCES = sorted((REPO / SOURCE).glob("*/*.ipynb")) + sorted((REPO / RELEASE).glob("*/*.ipynb"))


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_outputs_come_from_one_clean_run(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: re-run it top to bottom (counts {counts})"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name} was committed with an error output"
    assert path.stat().st_size < 2_000_000, f"{path.name} is {path.stat().st_size} bytes: keep figures light"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_opens_with_goals_and_ends_with_summary_and_references(path):
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert markdown and markdown[0].startswith("# ")
    assert "## Summary" in "\n".join(markdown[-3:]) or "## Summary" in "\n".join(markdown)
    assert "## References" in "\n".join(markdown)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_solutions_and_exercises_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")
