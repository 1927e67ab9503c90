"""``./course similarity``: planted copies are found through renamed variables, new comments and
another layout; honest and untouched work is not reported; nothing but a note changes."""

from __future__ import annotations

import csv

import nbformat
import pytest

from coursetools.cli import main
from coursetools.layout import make_scratch_course
from coursetools.similarity import LIBRARY, SOLUTION, normal_form, similar_pairs, similarity

ASSIGNMENT = "01_divergences"

HONEST = '''def kl_mvn(mu_p, cov_p, mu_q, cov_q):
    out = []
    for mp, cp, mq, cq in zip(mu_p, cov_p, mu_q, cov_q):
        iq = torch.linalg.inv(cq)
        diff = mq - mp
        out.append(0.5 * (torch.trace(iq @ cp) + diff @ iq @ diff - mp.shape[0]
                          + torch.linalg.slogdet(cq)[1] - torch.linalg.slogdet(cp)[1]))
    return torch.stack(out)
'''
# HONEST with every name changed, comments and blank lines added, the expression split differently.
RENAMED_COPY = '''def kl_mvn(mu_p, cov_p, mu_q, cov_q):
    """My own KL."""
    results = []   # one value per batch element

    for mean_a, covariance_a, mean_b, covariance_b in zip(mu_p, cov_p, mu_q, cov_q):
        precision = torch.linalg.inv(covariance_b)  # invert once
        delta = mean_b - mean_a
        results.append(
            0.5 * (torch.trace(precision @ covariance_a) + delta @ precision @ delta - mean_a.shape[0]
                   + torch.linalg.slogdet(covariance_b)[1] - torch.linalg.slogdet(covariance_a)[1]))
    return torch.stack(results)
'''
# The course's own solution, renamed.
LEAKED = '''def kl_mvn(mu_p, cov_p, mu_q, cov_q):
    dim = mu_p.shape[-1]
    lp = torch.linalg.cholesky(cov_p)
    lq = torch.linalg.cholesky(cov_q)
    a = torch.linalg.solve_triangular(lq, lp, upper=False)
    b = torch.linalg.solve_triangular(lq, (mu_q - mu_p).unsqueeze(-1), upper=False)
    ldp = 2 * torch.log(torch.diagonal(lp, dim1=-2, dim2=-1)).sum(-1)
    ldq = 2 * torch.log(torch.diagonal(lq, dim1=-2, dim2=-1)).sum(-1)
    return 0.5 * ((a ** 2).sum((-2, -1)) + (b ** 2).sum((-2, -1)) - dim + ldq - ldp)
'''


def _submit(course, student: str, kl_mvn: str | None) -> None:
    """The released notebook, with ``kl_mvn``'s answer cell replaced (None: left as released)."""
    (name,) = course.notebook_names(ASSIGNMENT)
    nb = nbformat.read(course.release(ASSIGNMENT) / name, as_version=4)
    if kl_mvn is not None:
        (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "kl_mvn"]
        cell.source = kl_mvn
    folder = course.submitted(student, ASSIGNMENT)
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / name)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_scratch_course(tmp_path_factory.mktemp("similarity") / "course", [ASSIGNMENT], generate=True)
    for student, answer in [("ana", HONEST), ("ben", RENAMED_COPY), ("cem", None), ("dan", LEAKED),
                            ("eve", HONEST.replace("torch.linalg.inv(cq)", "torch.cholesky_inverse(torch.linalg.cholesky(cq))")
                             .replace("torch.stack(out)", "torch.stack(out).to(mu_p.dtype)"))]:
        _submit(course, student, answer)
    return course


def test_renaming_and_layout_do_not_change_the_normal_form():
    import ast
    one, two = (ast.parse(src).body[0] for src in (HONEST, RENAMED_COPY))
    assert normal_form(one) == normal_form(two)
    assert normal_form(one) != normal_form(ast.parse(LEAKED).body[0])


def test_planted_copies_are_found_and_honest_work_is_not(course):
    pairs = {(p.function, p.first, p.second): p.score for p in similar_pairs(course, ASSIGNMENT)}
    assert pairs[("kl_mvn", "ana", "ben")] == 1.0, "a renamed, recommented copy is identical"
    assert pairs[("kl_mvn", SOLUTION, "dan")] == 1.0, "the course's solution, renamed"
    assert 0.9 <= pairs[("kl_mvn", "ana", "eve")] < 1.0, "a copy with small edits is still near"
    assert not [k for k in pairs if "cem" in k], "an untouched stub is nobody's copy"
    # Everyone left the other functions as released: no pair but kl_mvn's.
    assert {k[0] for k in pairs} == {"kl_mvn"}
    assert ("kl_mvn", SOLUTION, "ana") not in pairs and ("kl_mvn", LIBRARY, "ana") not in pairs


def test_the_command_writes_the_table_and_notes_the_formgrader_without_grading(course, capsys):
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:  # ana and ben have been through nbgrader; the others not yet
        for student in ("ana", "ben"):
            gb.update_or_create_student(student)
            gb.add_submission(ASSIGNMENT, student)
    assert main(["--course-dir", str(course.root), "similarity", ASSIGNMENT]) == 0
    said = capsys.readouterr().out
    assert "ana / ben" in said and f"{SOLUTION} / dan" in said and "2 notes in the formgrader" in said
    rows = list(csv.DictReader(open(course.root / "similarity" / f"{ASSIGNMENT}.csv")))
    assert {(r["first"], r["second"]) for r in rows} == {("ana", "ben"), (SOLUTION, "dan"), ("ana", "eve"), ("ben", "eve")}
    notebook = course.notebook_names(ASSIGNMENT)[0].removesuffix(".ipynb")
    with Gradebook(course.db_url) as gb:
        comment = gb.find_comment("kl_mvn", notebook, ASSIGNMENT, "ben").manual_comment
        assert "[similarity] kl_mvn: 100% like ana" in comment
        submission = gb.find_submission(ASSIGNMENT, "ben")
        assert all(g.manual_score is None for g in submission.notebooks[0].grades), "no grade was touched"
    similarity(course.root, ASSIGNMENT, say=lambda _: None)  # run again: the note is replaced, not repeated
    with Gradebook(course.db_url) as gb:
        assert gb.find_comment("kl_mvn", notebook, ASSIGNMENT, "ben").manual_comment.count("[similarity]") == 2


def test_an_unknown_assignment_is_a_clear_error(course, capsys):
    assert main(["--course-dir", str(course.root), "similarity", "99_nothing"]) != 0
    assert "99_nothing" in capsys.readouterr().err
