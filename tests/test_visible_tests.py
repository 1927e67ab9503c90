"""The visible tests catch the common wrong answers on their own (what Validate shows a student).

Validate runs the notebook a student holds: the released one, without hidden tests. A wrong answer
that passes every visible test gets "Success!" there and loses its points only when graded. So every
known-wrong implementation in ``tests/mutants/`` (plus the extra ones below) is run against the
visible part of its test cell alone, and must fail an assert with a message.

Cells run in one namespace without a kernel: every code cell that is not a graded test cell, up to the
mutant's test cell, then that cell with its ``### BEGIN HIDDEN TESTS`` region removed.
"""

from __future__ import annotations

import re

import pytest
import torch

from coursetools.layout import assignments
from tests.mutants import Mutant, mutants_for
from tests.nbgrading import mutate, read_solution

# Visible tests are what exercises 01, 02, 03 and 05 promise to catch every known mistake with.
COVERED = ["01_divergences", "02_pareto", "03_pca_autoencoders", "05_gradient_estimators"]

# Common wrong answers beyond tests/mutants/ (same form: an edit of one solution cell).
EXTRA = {
    "01_divergences": [
        # The example: Validate said "Success!" for this one with equal-sigma tests only.
        Mutant("log of the variance ratio without its 1/2", "kl_normal",
               "return torch.log(sigma_q / sigma_p)",
               "return torch.log(var_q / var_p)",
               "divergences.kl_normal", "test_kl_normal"),
        Mutant("mean difference divided by var_p", "kl_normal",
               "/ (2 * var_q) - 0.5", "/ (2 * var_p) - 0.5",
               "divergences.kl_normal", "test_kl_normal"),
    ],
}

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
CASES = [pytest.param(a, m, id=f"{a}-{m.label}")
         for a in COVERED if a in assignments() for m in mutants_for(a) + EXTRA.get(a, [])]


def visible_only(source: str) -> str:
    return HIDDEN.sub("", source)


def run_until(nb, test_cell: str) -> None:
    """Run the notebook's solution and setup cells up to ``test_cell``, then its visible tests."""
    namespace: dict = {"__name__": "__exercise__"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        is_target = meta.get("grade_id") == test_cell
        if meta.get("grade") and not is_target:
            continue
        source = "\n".join(line for line in visible_only(cell.source).splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        exec(compile(source, f"<cell {meta.get('grade_id', '?')}>", "exec"), namespace)
        if is_target:
            return
    raise KeyError(test_cell)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("assignment", [a for a in COVERED if a in assignments()])
def test_the_reference_solution_passes_the_visible_tests(assignment):
    nb = read_solution(assignment)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and "### BEGIN HIDDEN TESTS" in cell.source:
            run_until(nb, meta["grade_id"])


@pytest.mark.parametrize(("assignment", "mutant"), CASES)
def test_a_common_wrong_answer_fails_a_visible_test(assignment, mutant):
    nb = mutate(read_solution(assignment), mutant)
    with pytest.raises(Exception) as caught:  # noqa: PT011 - an assert, or a crash the student sees
        run_until(nb, mutant.fails)
    if isinstance(caught.value, AssertionError):
        assert str(caught.value), f"{mutant.label}: the visible assert that caught it has no message"


def test_every_visible_assert_in_the_covered_exercises_has_a_message():
    bare = []
    for assignment in COVERED:
        for cell in read_solution(assignment).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade"):
                continue
            # One statement per assert: continuation lines are joined first.
            text = re.sub(r"\\\n\s*", " ", visible_only(cell.source))
            for statement in re.findall(r"^assert .*(?:\n[ \t]+.*)*", text, re.M):
                depth, message = 0, False
                for ch in statement:
                    depth += ch in "([{"
                    depth -= ch in ")]}"
                    if ch == "," and depth == 0:
                        message = True
                        break
                if not message:
                    bare.append(f"{assignment}/{meta['grade_id']}: {statement.splitlines()[0]}")
    assert not bare, "asserts without a message:\n  " + "\n  ".join(bare)
