"""How long sandboxed autograding takes: seconds per submission per exercise, 1 worker vs all cores.

For every assignment of the course, a scratch course gets ``2 x cores`` (at least 4) copies of a
full-marks submission (the released notebook with the reference answers filled in), which
``coursetools.grade`` grades twice: with one worker, then with one worker per core. The time is
the whole ``grade()`` call (template, workers' start-up, kernels, verification, gradebook
merges) divided by the number of submissions.

A second measurement (issue 17): a class of 60 full-marks submissions of exercise 01, graded with
every core, and the same class with 5 of them replaced by an infinite loop in an answer cell. The
per-cell limit derived from the reference solution (``coursetools.grade.driver.cell_limit``) keeps
the loopers' cost to seconds; the target is a ratio under 2x.

    python -m benchmarks.grading_bench        # prints the rows
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import nbformat

from coursetools.grade import Options, grade
from coursetools.layout import Course, make_scratch_course
from coursetools.release import solved_release

TARGET_SECONDS = 5.0


def _course(root: Path, assignment: str, students: int, loopers: int = 0) -> Path:
    """``students`` full-marks submissions, the first ``loopers`` of them with ``while True: pass``
    at the top of the first answer cell."""
    course = make_scratch_course(root, [assignment])
    nb = solved_release(assignment)
    looping = solved_release(assignment)
    first = next(c for c in looping.cells if c.metadata.get("nbgrader", {}).get("solution"))
    first.source = "while True:\n    pass\n" + first.source
    name = Course().notebook(assignment).name
    for i in range(students):
        folder = course.submitted(f"student{i:03d}", assignment)
        folder.mkdir(parents=True)
        nbformat.write(looping if i < loopers else nb, folder / name)
    return course.root


def autograded_points(assignment: str) -> float:
    """The points autograding can give: every graded cell but the written answers (graded by hand)."""
    nb = nbformat.read(Course().notebook(assignment), as_version=4)
    return sum(float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))


def class_with_loopers(assignment: str = "01_divergences", students: int = 60, loopers: int = 5) -> list[dict]:
    """Wall time of grading a class with all cores, without and with ``loopers`` infinite loops."""
    cores = os.cpu_count() or 1
    walls, scores = {}, {}
    for n in (0, loopers):
        said = []
        with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
            root = _course(Path(tmp) / "course", assignment, students, n)
            start = time.perf_counter()
            outcomes = grade(root, options=Options(workers=cores), say=said.append)
            walls[n] = time.perf_counter() - start
        scores[n] = sorted(o.score / autograded_points(assignment) for o in outcomes)
        limit = next((line.split("-> ")[1].split()[0] for line in said if "per cell" in line), "?")
    ok = scores[0] == [1.0] * students and scores[loopers][loopers:] == [1.0] * (students - loopers) \
        and all(s < 1 for s in scores[loopers][:loopers])
    config = (f"{students} submissions of {assignment}, {cores} workers, sandboxed (bwrap), per-cell limit "
              f"derived from the reference solution: {limit} s" + ("" if ok else "; SCORES WRONG"))
    return [
        {"metric": f"class of {students}: grading wall time, no loopers", "value": f"{walls[0]:.0f} s",
         "target": "-", "config": config},
        {"metric": f"class of {students}: grading wall time, {loopers} infinite loops", "value": f"{walls[loopers]:.0f} s",
         "target": "-", "config": config},
        {"metric": f"class of {students}: slowdown from {loopers} loopers", "value": f"{walls[loopers] / walls[0]:.2f}x",
         "target": "< 2x", "config": config},
    ]


def measure(assignment: str, workers: int, students: int) -> tuple[float, float, float]:
    """Grade ``students`` copies: (wall s per submission, steady-state s per submission, mean score).

    Steady state: the time between the ``workers``-th and the last result over the submissions
    graded in it -- without the once-per-run costs (template, workers' start-up).
    """
    stamps = []

    def say(line: str) -> None:
        if line.startswith("["):
            stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        root = _course(Path(tmp) / "course", assignment, students)
        start = time.perf_counter()
        outcomes = grade(root, options=Options(workers=workers), say=say)
        wall = time.perf_counter() - start
    steady = (stamps[-1] - stamps[workers - 1]) / (len(stamps) - workers)
    scores = [o.score / autograded_points(assignment) for o in outcomes]
    return wall / students, steady, sum(scores) / max(1, len(scores))


def run() -> list[dict]:
    cores = os.cpu_count() or 1
    students = max(6, 3 * cores)
    rows = []
    repo = Course()
    for assignment in repo.assignments():
        if not repo.release(assignment).is_dir():
            continue
        seq_wall, seq, ok_seq = measure(assignment, 1, students)
        par_wall, par, ok_par = measure(assignment, cores, students)
        config = f"{students} full-marks submissions (written answers: by hand), sandboxed (bwrap), {cores} cores"
        note = "" if ok_seq == ok_par == 1 else f" (mean score {ok_seq:.0%}/{ok_par:.0%} of the autograded points!)"
        rows += [
            {"metric": f"grading {assignment}: s per submission, 1 worker", "value": f"{seq:.2f}",
             "target": "-", "config": f"{config}, steady state (whole run: {seq_wall:.2f}){note}"},
            {"metric": f"grading {assignment}: s per submission, {cores} workers", "value": f"{par:.2f}",
             "target": f"<= {TARGET_SECONDS:g}", "config": f"{config}, steady state (whole run: {par_wall:.2f}){note}"},
            {"metric": f"grading {assignment}: speed-up with {cores} workers", "value": f"{seq / par:.2f}x",
             "target": f"near {cores}x", "config": config},
        ]
    return rows + class_with_loopers()


if __name__ == "__main__":
    for row in run():
        print(f"{row['metric']:<60} {row['value']:>8}  target {row['target']:<8} {row['config']}")
