"""``course-admin``: the instructor's steps, one command each (``./course <step> ...``).

    release  [NAME ...]                      build exercises/ from solutions/
    collect  DIR [--assignment A] [--pattern REGEX] [--dry-run]
                                             LMS export -> submitted/<student>/<assignment>/
    grade    [NAME ...] [--workers N] [--unsafe] [--timeout S] [--force] ...
                                             sandboxed, parallel, resumable autograding
    feedback [NAME ...]                      feedback/<student>/<assignment>/*.html
    export   [--out grades.csv]              one row per student and assignment
    status                                   what is collected, graded, rejected, waiting

Every command works on the course folder (default: this repository; ``--course-dir`` or
``$COURSE_DIR`` to keep the students' data elsewhere). See docs/instructors.md.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from .nbapi import REPO


def _parser() -> argparse.ArgumentParser:
    help_dir = ("course folder holding nbgrader_config.py, solutions/, submitted/, gradebook.db "
                "(default: $COURSE_DIR or the repository)")
    p = argparse.ArgumentParser(prog="./course", description="Instructor steps of the course (docs/instructors.md).")
    p.add_argument("--course-dir", type=Path, default=Path(os.environ.get("COURSE_DIR", REPO)), help=help_dir)
    common = argparse.ArgumentParser(add_help=False)  # --course-dir also after the step's name
    common.add_argument("--course-dir", type=Path, default=argparse.SUPPRESS, help=help_dir)
    sub = p.add_subparsers(dest="command", required=True)

    def step(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common])

    r = step("release", "build the student versions (exercises/) from solutions/")
    r.add_argument("names", nargs="*", help="assignments (default: all in solutions/)")

    c = step("collect", "place an LMS export into submitted/<student>/<assignment>/")
    c.add_argument("folder", type=Path, help="the export: one .ipynb or .zip per student")
    c.add_argument("--assignment", help="the assignment all files belong to (default: from the names)")
    c.add_argument("--pattern", help="regex with a named group 'student' (and optionally 'assignment'), "
                                     "searched in each file's path relative to FOLDER; tried first")
    c.add_argument("--dry-run", action="store_true", help="report only, write nothing")

    g = step("grade", "autograde every collected submission (sandboxed, in parallel)")
    g.add_argument("names", nargs="*", help="assignments (default: all)")
    g.add_argument("--student", action="append", help="only this student (repeatable)")
    g.add_argument("--workers", type=int, default=0, help="parallel workers (default: number of CPU cores)")
    g.add_argument("--unsafe", action="store_true",
                   help="run student code WITHOUT the sandbox (only where bubblewrap is unavailable and "
                        "every submission is trusted); CPU and memory limits still apply")
    g.add_argument("--timeout", type=int, help="seconds per cell (default: Execute.timeout of nbgrader_config.py)")
    g.add_argument("--submission-timeout", type=int, default=900, help="seconds per whole submission (default 900)")
    g.add_argument("--memory", type=int, default=4096, help="MB of address space per kernel process (default 4096)")
    g.add_argument("--cpu", type=int, default=600, help="CPU seconds per kernel process (default 600)")
    g.add_argument("--processes", type=int, default=64, help="processes+threads per kernel (default 64)")
    g.add_argument("--force", action="store_true", help="regrade submissions already graded and unchanged")

    f = step("feedback", "write feedback HTML for every graded submission")
    f.add_argument("names", nargs="*", help="assignments (default: all)")

    e = step("export", "write grades.csv from the gradebook")
    e.add_argument("--out", type=Path, help="output file (default: COURSE_DIR/grades.csv)")

    step("status", "what is collected, graded, rejected, waiting")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = args.course_dir.resolve()
    try:
        if args.command == "release":
            from .release import generate

            for path in generate(args.names or None, course_root=root):
                print(f"wrote {path}")
        elif args.command == "collect":
            from .collect import collect

            report = collect(args.folder, root, assignment=args.assignment, pattern=args.pattern,
                             dry_run=args.dry_run)
            for row in report.rows:
                if row.status not in ("unchanged",):
                    where = f"-> {row.student}/{row.assignment}" if row.student else ""
                    print(f"  {row.status:<10} {row.source} {where} {row.note}".rstrip())
            print(f"collect: {report.summary()}")
            unplaced = report.of("unplaced")
            if unplaced:
                print(f"WARNING: {len(unplaced)} files could not be placed; copies are in "
                      f"{root / 'collected' / 'unplaced'} (see collected/collect-report.csv)", file=sys.stderr)
        elif args.command == "grade":
            from .grade import Options, grade
            from .sandbox import Limits

            options = Options(workers=args.workers, unsafe=args.unsafe, cell_timeout=args.timeout,
                              submission_timeout=args.submission_timeout, force=args.force,
                              limits=Limits(cpu_seconds=args.cpu, memory_mb=args.memory,
                                            processes=args.processes))
            outcomes = grade(root, args.names or None, args.student, options)
            if any(o.status == "error" for o in outcomes):
                return 1
        elif args.command == "feedback":
            from .feedback import feedback

            counts = feedback(root, args.names or None)
            return 1 if counts["failed"] else 0
        elif args.command == "export":
            from .feedback import export

            export(root, args.out)
        elif args.command == "status":
            from .feedback import status

            status(root)
    except (ValueError, FileNotFoundError, re.error, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
