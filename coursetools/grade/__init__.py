"""Autograde every collected submission in parallel, each student's kernel in a sandbox.

``grade(course_root)`` finds ``submitted/<student>/<assignment>/`` folders that are not graded yet
(or changed since), and hands them to worker processes (default: one per CPU core). A worker grades
ONE submission at a time in a private scratch course folder -- a copy of the course's
``nbgrader_config.py`` (plus the sandbox settings), a gradebook holding only the assignment, the
assignment's source files and that one submission -- with nbgrader's own API. Only the kernel that
runs the student's code is sandboxed (:mod:`coursetools.sandbox`); nbgrader, the hidden-test
verifier and the gradebook stay outside it.

Only the main process writes to the course: it merges each result into ``gradebook.db`` through
nbgrader's Gradebook API in one transaction, copies the autograded notebook to
``autograded/<student>/<assignment>/`` and then records the outcome in
``grading/<assignment>/<student>.json``. So parallel workers never touch the gradebook, an
interrupted run started again grades only what is left (a result merged twice overwrites itself:
nothing is lost or counted twice), and a submission whose grading breaks is reported and skipped
while the others go on.

Before any student, a run holds the course's lock (``grading/.lock``: one run per course) and
grades each assignment's reference solution in the same sandbox (the canary): it must get full
marks, or the run stops; its slowest cell sets the per-cell time limit unless one is given. Each
submission's kernels get a fresh runtime folder, log and (as root) uid, removed or retired after.

Modules: :mod:`.state` (outcomes, worker results, records, what is left), :mod:`.scratch` (the
scratch courses and their nbgrader config), :mod:`.worker` (one submission), :mod:`.pool` (the
worker processes), :mod:`.merge` (the course's only writer), :mod:`.review` (patterns worth a
human look; imports the hidden-test harness, so only workers load it), :mod:`.driver`
(:func:`grade`).

Outcomes: ``graded``; ``rejected`` (the file is not a gradable notebook, or grading exceeded the
whole-submission time limit: every test scores 0 and the feedback says why); ``error`` (the grader
itself failed: nothing is recorded in the gradebook and the next run tries again).
"""

from .driver import grade
from .merge import merge
from .options import GradingRefused, Options
from .scratch import Template, prepare
from .state import Job, NotebookGrades, Outcome, Result, all_states, digest, discover, read_state, state_path

__all__ = ["GradingRefused", "Job", "NotebookGrades", "Options", "Outcome", "Result", "Template", "all_states",
           "digest", "discover", "grade", "merge", "prepare", "read_state", "state_path"]
