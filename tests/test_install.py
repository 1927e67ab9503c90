"""The committed lock (requirements/lock.txt) agrees with pyproject.toml and with ./course.

./course and environment.yml install every package at the version the lock pins; these checks make
sure a change to the dependencies in pyproject.toml cannot land without `./course lock`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
LOCAL = {"course-lib", "course-grading"}  # installed from this repository, never from a registry
CUDA = re.compile(r"^(nvidia-|cuda-|triton)")


def lock_pins() -> dict[str, Version]:
    """{canonical name: version} of every pin in the lock; anything else but comments is an error."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"not a plain pin (pip constraints take only name==version): {line!r}"
        pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def requirements_of(pyproject: Path, *extras: str) -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def course_torch_version() -> str:
    match = re.search(r"COURSE_TORCH_VERSION:-([0-9][^}]*)\}", (ROOT / "course").read_text())
    assert match, "./course no longer names its default torch version as ${COURSE_TORCH_VERSION:-X}"
    return match[1]


DIRECT = [r for r in requirements_of(ROOT / "pyproject.toml", "dev", "instructor", "voila")
          + requirements_of(ROOT / "course_grading" / "pyproject.toml")
          if canonicalize_name(r.name) not in LOCAL]


@pytest.mark.parametrize("req", DIRECT, ids=str)
def test_every_direct_dependency_is_pinned_within_its_range(req):
    pins = lock_pins()
    name = canonicalize_name(req.name)
    assert name in pins, f"{req.name} is not in {LOCK.name}: run ./course lock"
    assert req.specifier.contains(pins[name], prereleases=True), \
        f"{LOCK.name} pins {req.name}=={pins[name]}, outside {req}: run ./course lock"


def test_torch_is_pinned_to_the_version_course_installs():
    assert str(lock_pins()["torch"]) == course_torch_version()


def test_no_cuda_runtime_and_nothing_local_is_pinned():
    pins = lock_pins()
    assert not [n for n in pins if CUDA.match(n)], "the lock must not pin CUDA wheels (CPU torch needs none)"
    assert not LOCAL & set(pins), "course-lib and course-grading come from this repository"


def test_the_lock_says_how_to_refresh_it():
    header = LOCK.read_text().split("\n\n")[0]
    assert "./course lock" in header and "uv pip compile" in header


def test_environment_yml_installs_from_the_lock_with_the_same_torch():
    env = (ROOT / "environment.yml").read_text()
    assert "- -c requirements/lock.txt" in env
    assert f"- torch=={course_torch_version()}" in env
