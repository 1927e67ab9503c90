"""The visible tests catch the common wrong answers on their own (what Validate shows a student).

Validate runs the notebook a student holds: the released one, without hidden tests. A wrong answer
that passes every visible test gets "Success!" there and loses its points only when graded. So every
known-wrong implementation in ``tests/mutants/`` (plus the extra ones below) is run against the
visible part of its test cell alone, and must fail an assert with a message.

Cells run in one namespace without a kernel, hidden-test regions removed: every code cell up to the
mutant's test cell (earlier test cells for what they define, whatever their verdict), then that cell.
"""

from __future__ import annotations

import re

import pytest
import torch

from coursetools.layout import assignments
from tests.mutants import Mutant, mutants_for
from tests.nbgrading import mutate, read_solution

COVERED = ["01_divergences", "02_pareto", "03_pca_autoencoders", "04_elbo_vae", "05_gradient_estimators",
           "06_flows", "07_autoregressive", "08_gans", "09_contrastive"]

# Common wrong answers beyond tests/mutants/ (same form: an edit of one solution cell).
EXTRA = {
    "01_divergences": [
        Mutant("E|X - mu_q| taken under q instead of p", "kl_laplace",
               "(delta + b_p * torch.exp(-delta / b_p)) / b_q", "(delta + b_q * torch.exp(-delta / b_q)) / b_q",
               "divergences.kl_laplace", "test_kl_laplace"),
        Mutant("the control variate's terms with the wrong sign: log r - (r - 1)", "kl_control_variate",
               "terms = torch.expm1(log_r) - log_r", "terms = log_r - torch.expm1(log_r)",
               "divergences.kl_control_variate", "test_kl_control_variate"),
    ],
}

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
CASES = [pytest.param(a, m, id=f"{a}-{m.label}")
         for a in COVERED if a in assignments() for m in mutants_for(a) + EXTRA.get(a, [])]


def visible_only(source: str) -> str:
    return HIDDEN.sub("", source)


def run_until(nb, test_cell: str, strict: bool = False) -> None:
    """Run the notebook's code cells up to ``test_cell``, then its visible tests; ``strict``: an
    earlier test cell that fails is an error too."""
    namespace: dict = {"__name__": "__exercise__"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        is_target = meta.get("grade_id") == test_cell
        source = "\n".join(line for line in visible_only(cell.source).splitlines()
                           if not line.lstrip().startswith(("%", "!")))
        code = compile(source, f"<cell {meta.get('grade_id', '?')}>", "exec")
        if meta.get("grade") and not is_target and not strict:
            # An earlier test cell: run for what it defines (a later test may use it); its verdict
            # is not the one asked about.
            try:
                exec(code, namespace)
            except Exception:  # noqa: BLE001, S110
                pass
            continue
        exec(code, namespace)
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
    """Every visible test the wrong answers are run against passes with the reference solution
    (up to the last of them: the experiments after it are the notebook tests' business)."""
    nb = read_solution(assignment)
    targets = {m.fails for m in mutants_for(assignment) + EXTRA.get(assignment, [])}
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    run_until(nb, max(targets, key=order.index), strict=True)


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
