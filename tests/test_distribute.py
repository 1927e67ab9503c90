"""coursetools.distribute: the students' copy holds lectures, exercises and course_lib, and no answers."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from coursetools.distribute import build, leaks
from coursetools.layout import REPO


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    return build(tmp_path_factory.mktemp("dist") / "course", git=True)


def test_the_distribution_holds_lectures_exercises_and_the_library(dist):
    lectures = sorted(p.name for p in (REPO / "lectures").glob("*.ipynb"))
    assert sorted(p.name for p in (dist / "lectures").glob("*.ipynb")) == lectures
    exercises = sorted(p.relative_to(REPO / "exercises") for p in (REPO / "exercises").glob("*/*.ipynb"))
    assert sorted(p.relative_to(dist / "exercises") for p in (dist / "exercises").glob("*/*.ipynb")) == exercises
    assert (dist / "course_lib" / "__init__.py").is_file()
    assert (dist / "course").is_file() and (dist / "deploy/lab/student/jupyter_server_config.py").is_file()


def test_the_distribution_contains_no_solution_text(dist):
    for name in ("solutions", "course_grading", "coursetools", "tests", "nbgrader_config.py"):
        assert not (dist / name).exists(), f"{name} must not be distributed"
    for path in dist.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(dist).parts:
            text = path.read_text(errors="replace")
            for secret in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
                assert secret not in text, f"{path.relative_to(dist)} contains {secret!r}"
            if path.suffix == ".ipynb":
                assert "course_grading" not in text, f"{path.relative_to(dist)} mentions course_grading"
    assert leaks(dist) == []


def test_the_distribution_is_a_git_repository_with_every_file_committed(dist):
    status = subprocess.run(["git", "status", "--porcelain"], cwd=dist, capture_output=True, text=True, check=True)
    assert status.stdout == ""
    files = subprocess.run(["git", "ls-files"], cwd=dist, capture_output=True, text=True, check=True).stdout.split()
    assert "exercises/01_divergences/ex01_divergences.ipynb" in files


def test_a_leaked_solution_is_refused_and_nothing_is_left_behind(tmp_path):
    course = tmp_path / "course"
    for folder in ("lectures", "exercises", "course_lib"):
        shutil.copytree(REPO / folder, course / folder, ignore=shutil.ignore_patterns("__pycache__"))
    leaked = course / "exercises" / "01_divergences" / "ex01_divergences.ipynb"
    nb = json.loads(leaked.read_text())
    nb["cells"][0]["source"] = "### BEGIN SOLUTION\nanswer\n### END SOLUTION\n"
    leaked.write_text(json.dumps(nb))
    with pytest.raises(RuntimeError, match="BEGIN SOLUTION"):
        build(tmp_path / "out", course_root=course)
    assert not (tmp_path / "out").exists()


def test_the_output_must_be_a_new_folder_outside_the_course(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(ValueError, match="not empty"):
        build(tmp_path / "full")
    with pytest.raises(ValueError, match="inside the course"):
        build(REPO / "build" / "dist")
