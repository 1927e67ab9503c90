"""``course-admin``: the instructor's steps, one command each (``./course <step> ...``).

    release  [NAME ...]                      build exercises/ from solutions/
    distribute OUT [--git]                   the students' copy (no solutions, no hidden tests)
    collect  DIR [--assignment A] [--pattern REGEX] [--lms F] [--dry-run]
                                             LMS export -> submitted/<student>/<assignment>/
    grade    [NAME ...] [--workers N] [--unsafe] [--timeout S] [--force] ...
                                             sandboxed, parallel, resumable autograding
    feedback [NAME ...] [--timeout S]        feedback/<student>/<assignment>/*.html
    export   [--out grades.csv]              one row per student and assignment
    status                                   what is collected, graded, rejected, waiting
    similarity NAME [--threshold F]          near-identical answers, for a human to review

Every command works on the course folder (default: this repository; ``--course-dir`` or
``$COURSE_DIR`` to keep the students' data elsewhere). See docs/instructors.md.
The defaults of ``grade`` are those of :class:`coursetools.grade.Options` and
:class:`coursetools.sandbox.Limits`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from .feedback import PAGE_SECONDS
from .layout import COLLECTED, REPO
from .similarity import THRESHOLD


def release(args: argparse.Namespace, root: Path) -> int:
    from .release import generate

    for path in generate(args.names or None, course_root=root):
        print(f"wrote {path}")
    return 0


def distribute(args: argparse.Namespace, root: Path) -> int:
    from .distribute import build

    print(f"wrote {build(args.out, course_root=root, git=args.git)}")
    return 0


def collect(args: argparse.Namespace, root: Path) -> int:
    from .collect import collect as collect_export

    report = collect_export(args.folder, root, assignment=args.assignment, pattern=args.pattern,
                            dry_run=args.dry_run, lms=args.lms)
    print(f"collect: export format {report.lms}" + (" (detected; --lms to choose)" if args.lms == "auto" else ""))
    for row in report.rows:
        if row.status not in ("unchanged",):
            where = f"-> {row.student}/{row.assignment}" if row.student else ""
            print(f"  {row.status:<10} {row.source} {where} {row.note}".rstrip())
    print(f"collect: {report.summary()}")
    unplaced = report.of("unplaced")
    if unplaced:
        print(f"WARNING: {len(unplaced)} files could not be placed; copies are in "
              f"{root / COLLECTED / 'unplaced'} (see {COLLECTED}/collect-report.csv)", file=sys.stderr)
    refused = report.of("refused")
    if refused:
        print(f"WARNING: {len(refused)} files were refused (unreadable: corrupt or encrypted zip ...); the rest "
              f"were collected; copies are in {root / COLLECTED / 'unplaced'}", file=sys.stderr)
    return 1 if refused else 0


def grade(args: argparse.Namespace, root: Path) -> int:
    from .grade import Options
    from .grade import grade as grade_all
    from .sandbox import Limits

    options = Options(workers=args.workers, unsafe=args.unsafe, cell_timeout=args.timeout,
                      submission_timeout=args.submission_timeout, force=args.force,
                      limits=Limits(cpu_seconds=args.cpu, memory_mb=args.memory, processes=args.processes))
    outcomes = grade_all(root, args.names or None, args.student, options)
    return 1 if any(o.status == "error" for o in outcomes) else 0


def feedback(args: argparse.Namespace, root: Path) -> int:
    from .feedback import feedback as write_feedback

    counts = write_feedback(root, args.names or None, page_seconds=args.timeout)
    return 1 if counts["failed"] or counts["timed out"] else 0


def export(args: argparse.Namespace, root: Path) -> int:
    from .feedback import export as write_csv

    write_csv(root, args.out)
    return 0


def status(args: argparse.Namespace, root: Path) -> int:
    from .feedback import status as show_status

    show_status(root)
    return 0


def _grade_options(g: argparse.ArgumentParser) -> None:
    from .grade import Options

    defaults = Options()
    limits = defaults.limits
    g.add_argument("names", nargs="*", help="assignments (default: all)")
    g.add_argument("--student", action="append", help="only this student (repeatable)")
    g.add_argument("--workers", type=int, default=defaults.workers,
                   help="parallel workers (default: number of CPU cores)")
    g.add_argument("--unsafe", action="store_true", default=defaults.unsafe,
                   help="run student code WITHOUT the sandbox (only where bubblewrap is unavailable and "
                        "every submission is trusted); CPU and memory limits still apply")
    g.add_argument("--timeout", type=int, default=defaults.cell_timeout,
                   help="seconds per cell (default: 10x the reference solution's slowest cell, 10 s to Execute.timeout)")
    g.add_argument("--submission-timeout", type=int, default=defaults.submission_timeout,
                   help="seconds per whole submission (default %(default)s)")
    g.add_argument("--memory", type=int, default=limits.memory_mb,
                   help="MB of address space per kernel process (default %(default)s)")
    g.add_argument("--cpu", type=int, default=limits.cpu_seconds,
                   help="CPU seconds per kernel process (default %(default)s)")
    g.add_argument("--processes", type=int, default=limits.processes,
                   help="processes+threads per kernel (default %(default)s)")
    g.add_argument("--force", action="store_true", default=defaults.force,
                   help="regrade submissions already graded and unchanged")


def similarity(args: argparse.Namespace, root: Path) -> int:
    from .similarity import similarity as report

    report(root, args.name, threshold=args.threshold)
    return 0


def _parser() -> argparse.ArgumentParser:
    help_dir = ("course folder holding nbgrader_config.py, solutions/, submitted/, gradebook.db "
                "(default: $COURSE_DIR or the repository)")
    p = argparse.ArgumentParser(prog="./course", description="Instructor steps of the course (docs/instructors.md).")
    p.add_argument("--course-dir", type=Path, default=Path(os.environ.get("COURSE_DIR", REPO)), help=help_dir)
    common = argparse.ArgumentParser(add_help=False)  # --course-dir also after the step's name
    common.add_argument("--course-dir", type=Path, default=argparse.SUPPRESS, help=help_dir)
    sub = p.add_subparsers(dest="command", required=True)

    def step(func, help: str) -> argparse.ArgumentParser:
        s = sub.add_parser(func.__name__, help=help, parents=[common])
        s.set_defaults(func=func)
        return s

    r = step(release, "build the student versions (exercises/) from solutions/")
    r.add_argument("names", nargs="*", help="assignments (default: all in solutions/)")

    d = step(distribute, "write the students' copy: lectures, exercises, course_lib (no solutions)")
    d.add_argument("out", type=Path, help="a new folder outside the course")
    d.add_argument("--git", action="store_true", help="make it a git repository (clone / nbgitpuller)")

    c = step(collect, "place an LMS export into submitted/<student>/<assignment>/")
    c.add_argument("folder", type=Path, help="the export: one .ipynb or .zip per student")
    c.add_argument("--assignment", help="the assignment all files belong to (default: from the names)")
    c.add_argument("--pattern", help="regex with a named group 'student' (and optionally 'assignment'), "
                                     "searched in each file's path relative to FOLDER; tried first")
    c.add_argument("--lms", choices=["auto", "moodle", "canvas", "generic"], default="auto",
                   help="the export's format, for all its files (default: detected from the whole folder)")
    c.add_argument("--dry-run", action="store_true", help="report only, write nothing")

    _grade_options(step(grade, "autograde every collected submission (sandboxed, in parallel)"))

    f = step(feedback, "write feedback HTML for every graded submission")
    f.add_argument("names", nargs="*", help="assignments (default: all)")
    f.add_argument("--timeout", type=float, default=PAGE_SECONDS,
                   help=f"seconds per page (default {PAGE_SECONDS:g}); a page over it gets a short page "
                        "with the score instead")

    e = step(export, "write grades.csv from the gradebook")
    e.add_argument("--out", type=Path, help="output file (default: COURSE_DIR/grades.csv)")

    step(status, "what is collected, graded, rejected, waiting")

    m = step(similarity, "pairs of near-identical answers (and copies of the course's code), never a grade change")
    m.add_argument("name", help="the assignment")
    m.add_argument("--threshold", type=float, default=THRESHOLD,
                   help=f"report pairs at least this similar, 0-1 (default {THRESHOLD:g})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args, args.course_dir.resolve())
    except (ValueError, FileNotFoundError, re.error, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # what is recorded stays; a rerun does only what is left
        print("stopped; run again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
