"""``./course check``: the hidden checks on practice inputs, for a student before submitting."""

from __future__ import annotations

import pytest
import torch

import course_grading
from coursetools import check
from tests.mutants import mutants_for
from tests.nbgrading import exec_solution_cells, mutate, read_release, read_solution

ASSIGNMENT = "07_autoregressive"  # fast, and its notebook is stable


def test_practice_inputs_differ_from_the_grading_inputs_and_end_with_the_block():
    grading = course_grading.generator_for("divergences.kl_laplace", 0)
    with course_grading.practice_inputs():
        practice = course_grading.generator_for("divergences.kl_laplace", 0)
        again = course_grading.generator_for("divergences.kl_laplace", 0)
    after = course_grading.generator_for("divergences.kl_laplace", 0)
    draw = lambda g: torch.rand(5, generator=g)  # noqa: E731
    a, b, c, d = draw(grading), draw(practice), draw(again), draw(after)
    assert not torch.equal(a, b), "practice inputs must not be the grading inputs"
    assert torch.equal(b, c), "practice inputs are reproducible"
    assert torch.equal(a, d), "grading inputs come back after the practice block"


def test_a_record_made_on_practice_inputs_fails_the_graders_verification():
    """A submission that switches practice on in the grading kernel only hurts itself."""
    name = "autoregressive.nats_to_bits_per_dim"
    namespace = exec_solution_cells(read_solution(ASSIGNMENT))
    with course_grading.practice_inputs():
        record = course_grading.make_record(name, namespace["nats_to_bits_per_dim"])
    with pytest.raises(course_grading.Failure):
        course_grading.verify_record(record)
    assert course_grading.verify_record(course_grading.make_record(name, namespace["nats_to_bits_per_dim"])) == name


def _points(nb) -> dict[str, float]:
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


@pytest.mark.slow
def test_the_solution_passes_the_release_fails_and_a_mistake_fails_only_its_cell():
    solution = read_solution(ASSIGNMENT)
    verdicts = check.check_notebook(solution, solution)
    assert {v.cell: v.status for v in verdicts if v.status != "by hand"} == {c: "passed" for c in _points(solution)}
    assert any(v.status == "by hand" for v in verdicts), "the written answer is reported as graded by hand"

    unanswered = check.check_notebook(read_release(ASSIGNMENT), solution)
    assert all(v.status == "failed" and "not answered" in v.message for v in unanswered if v.status != "by hand")

    mutant = mutants_for(ASSIGNMENT)[0]
    wrong = {v.cell: v.status for v in check.check_notebook(mutate(solution, mutant), solution)}
    assert wrong[mutant.fails] == "failed", (mutant.label, wrong)


def test_without_hidden_checks_it_says_so_and_points_to_validate(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(check, "REPO", tmp_path)  # a student's copy: no solutions/
    assert check.main(["01_divergences"]) == 2
    assert "Validate" in capsys.readouterr().err


def test_an_unknown_target_is_an_error_naming_it(capsys):
    assert check.main(["no_such_exercise"]) == 2
    assert "'no_such_exercise'" in capsys.readouterr().err
