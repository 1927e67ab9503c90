"""``./course feedback`` under a per-page time limit: a huge notebook cannot keep it busy."""

from __future__ import annotations

import json

import nbformat
import pytest

from coursetools.feedback import feedback
from coursetools.grade.state import state_path, write_atomic
from tests.nbgrading import ScratchCourse, read_solution

ASSIGNMENT = "07_autoregressive"  # its notebook is stable and quick to grade


@pytest.mark.slow
@pytest.mark.grading
def test_a_page_over_the_limit_gets_a_short_page_and_the_others_are_rendered(tmp_path):
    course = ScratchCourse(tmp_path / "course", ASSIGNMENT)
    students = ["a_first", "b_huge", "c_after"]
    for student in students:
        course.submit(student, read_solution(ASSIGNMENT))
    results = course.autograde_many(students, workers=1)  # one gradebook: the one feedback reads
    for student, result in results.items():
        write_atomic(state_path(course.root, ASSIGNMENT, student), json.dumps(
            {"assignment": ASSIGNMENT, "student": student, "status": "graded",
             "score": result["score"], "max_score": result["max_score"]}))
    # b_huge's autograded notebook gets 60 MB of HTML outputs: sanitizing them takes minutes.
    path = results["b_huge"]["notebook"]
    nb = nbformat.read(path, as_version=4)
    chunk = "<div><b>x</b><script>alert(1)</script></div>" * 2000
    last_code = [c for c in nb.cells if c.cell_type == "code"][-1]
    last_code.outputs = [nbformat.v4.new_output("display_data", data={"text/html": chunk}) for _ in range(600)]
    nbformat.write(nb, path)

    said = []
    counts = feedback(course.root, [ASSIGNMENT], say=said.append, page_seconds=3)

    assert counts == {"graded": 2, "rejected": 0, "failed": 0, "timed out": 1}, said
    assert any("b_huge stopped after 3 s" in line for line in said)
    (name,) = course.course.notebook_names(ASSIGNMENT)
    page = (course.course.feedback("b_huge", ASSIGNMENT) / name.replace(".ipynb", ".html")).read_text()
    score = f"{results['b_huge']['score']:g} / {results['b_huge']['max_score']:g}"
    assert f"Score: {score}" in page and "within 3 seconds" in page and "<script>" not in page
    for student in ["a_first", "c_after"]:  # before and after the stopped page: real feedback
        html = (course.course.feedback(student, ASSIGNMENT) / name.replace(".ipynb", ".html")).read_text()
        assert "test_raster_mask" in html and "within 3 seconds" not in html
