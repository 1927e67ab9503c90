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

HONEST = '''def tv_laplace(mu_p, b_p, mu_q, b_q):
    out = []
    for mp, bp, mq, bq in zip(mu_p.tolist(), b_p.tolist(), mu_q.tolist(), b_q.tolist()):
        if bp > bq:
            mp, bp, mq, bq = mq, bq, mp, bp
        F = lambda x, m, b: 0.5 * math.exp((x - m) / b) if x < m else 1 - 0.5 * math.exp(-(x - m) / b)
        ell = lambda x: math.log(bq / bp) - abs(x - mp) / bp + abs(x - mq) / bq
        if bp == bq:
            mid = (mp + mq) / 2
            out.append(abs(F(mid, mp, bp) - F(mid, mq, bq)))
            continue
        lo, hi = mp - 100 * bq, mp
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if ell(mid) > 0 else (mid, hi)
        left = hi
        lo, hi = mp, mp + 100 * bq
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if ell(mid) > 0 else (lo, mid)
        out.append(F(lo, mp, bp) - F(left, mp, bp) - F(lo, mq, bq) + F(left, mq, bq))
    return torch.tensor(out)
'''
# HONEST with every name changed, comments and blank lines added, the layout changed.
RENAMED_COPY = '''def tv_laplace(mu_p, b_p, mu_q, b_q):
    """My own TV."""
    values = []   # one per pair

    for c1, s1, c2, s2 in zip(mu_p.tolist(), b_p.tolist(), mu_q.tolist(), b_q.tolist()):
        if s1 > s2:  # p should be the narrow one
            c1, s1, c2, s2 = c2, s2, c1, s1
        cdf = lambda t, c, s: 0.5 * math.exp((t - c) / s) if t < c else 1 - 0.5 * math.exp(-(t - c) / s)
        log_ratio = lambda t: math.log(s2 / s1) - abs(t - c1) / s1 + abs(t - c2) / s2

        if s1 == s2:
            middle = (c1 + c2) / 2
            values.append(abs(cdf(middle, c1, s1) - cdf(middle, c2, s2)))
            continue
        a, b = c1 - 100 * s2, c1
        for _ in range(100):   # bisection, left crossing
            middle = (a + b) / 2
            a, b = (a, middle) if log_ratio(middle) > 0 else (middle, b)
        start = b
        a, b = c1, c1 + 100 * s2
        for _ in range(100):   # bisection, right crossing
            middle = (a + b) / 2
            a, b = (middle, b) if log_ratio(middle) > 0 else (a, middle)
        values.append(cdf(a, c1, s1) - cdf(start, c1, s1) - cdf(a, c2, s2) + cdf(start, c2, s2))
    return torch.tensor(values)
'''
# The course's own solution, renamed.
LEAKED = '''def tv_laplace(mu_p, b_p, mu_q, b_q):
    mu_p, b_p, mu_q, b_q = torch.broadcast_tensors(mu_p, b_p, mu_q, b_q)
    flip = b_p > b_q
    mu_p, mu_q = torch.where(flip, mu_q, mu_p), torch.where(flip, mu_p, mu_q)
    b_p, b_q = torch.where(flip, b_q, b_p), torch.where(flip, b_p, b_q)

    def F(t, m, s):
        z = (t - m) / s
        return torch.where(z < 0, 0.5 * torch.exp(z.clamp(max=0)), 1 - 0.5 * torch.exp(-z.clamp(min=0)))

    k, a, b = torch.log(b_q / b_p), 1 / b_p, 1 / b_q
    left = torch.minimum((mu_p * a - mu_q * b - k) / (a - b), (mu_p * a + mu_q * b - k) / (a + b))
    right = torch.maximum((mu_p * a - mu_q * b + k) / (a - b), (mu_p * a + mu_q * b + k) / (a + b))
    both = (F(right, mu_p, b_p) - F(left, mu_p, b_p)) - (F(right, mu_q, b_q) - F(left, mu_q, b_q))
    middle = (mu_p + mu_q) / 2
    single = (F(middle, mu_p, b_p) - F(middle, mu_q, b_q)).abs()
    return torch.where(b_p == b_q, single, both)
'''


def _submit(course, student: str, answer: str | None) -> None:
    """The released notebook, with ``tv_laplace``'s answer cell replaced (None: left as released)."""
    (name,) = course.notebook_names(ASSIGNMENT)
    nb = nbformat.read(course.release(ASSIGNMENT) / name, as_version=4)
    if answer is not None:
        (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "tv_laplace"]
        cell.source = answer
    folder = course.submitted(student, ASSIGNMENT)
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / name)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_scratch_course(tmp_path_factory.mktemp("similarity") / "course", [ASSIGNMENT], generate=True)
    for student, answer in [("ana", HONEST), ("ben", RENAMED_COPY), ("cem", None), ("dan", LEAKED),
                            ("eve", HONEST.replace("for _ in range(100):", "for _ in range(60):")
                             .replace("torch.tensor(out)", "torch.tensor(out, dtype=mu_p.dtype)"))]:
        _submit(course, student, answer)
    return course


def test_renaming_and_layout_do_not_change_the_normal_form():
    import ast
    one, two = (ast.parse(src).body[0] for src in (HONEST, RENAMED_COPY))
    assert normal_form(one) == normal_form(two)
    assert normal_form(one) != normal_form(ast.parse(LEAKED).body[0])


def test_planted_copies_are_found_and_honest_work_is_not(course):
    pairs = {(p.function, p.first, p.second): p.score for p in similar_pairs(course, ASSIGNMENT)}
    assert pairs[("tv_laplace", "ana", "ben")] == 1.0, "a renamed, recommented copy is identical"
    assert pairs[("tv_laplace", SOLUTION, "dan")] == 1.0, "the course's solution, renamed"
    assert 0.9 <= pairs[("tv_laplace", "ana", "eve")] < 1.0, "a copy with small edits is still near"
    assert not [k for k in pairs if "cem" in k], "an untouched stub is nobody's copy"
    # Everyone left the other functions as released: no pair but tv_laplace's.
    assert {k[0] for k in pairs} == {"tv_laplace"}
    assert ("tv_laplace", SOLUTION, "ana") not in pairs and ("tv_laplace", LIBRARY, "ana") not in pairs


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
        comment = gb.find_comment("tv_laplace", notebook, ASSIGNMENT, "ben").manual_comment
        assert "[similarity] tv_laplace: 100% like ana" in comment
        submission = gb.find_submission(ASSIGNMENT, "ben")
        assert all(g.manual_score is None for g in submission.notebooks[0].grades), "no grade was touched"
    similarity(course.root, ASSIGNMENT, say=lambda _: None)  # run again: the note is replaced, not repeated
    with Gradebook(course.db_url) as gb:
        assert gb.find_comment("tv_laplace", notebook, ASSIGNMENT, "ben").manual_comment.count("[similarity]") == 2


def test_an_unknown_assignment_is_a_clear_error(course, capsys):
    assert main(["--course-dir", str(course.root), "similarity", "99_nothing"]) != 0
    assert "99_nothing" in capsys.readouterr().err
