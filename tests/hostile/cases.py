"""A corpus of hostile and broken submissions of exercise 01, each with its expected outcome.

Every case is built from the exercise's own notebooks (no big files in the repository): the released
notebook with the reference answers filled in is a correct submission worth 10 autograded points
(the written answer waits for a person), and each case edits it the way a careless or dishonest
student would. Attacks sit at the top of an answer cell (usually ``kl_laplace``, worth 2 points):
where the attack raises, the rest of that cell never runs, its function stays undefined, and the
submission loses that cell's points and the experiment's 3 (it uses every function): it deserves
``ATTACKED`` = 5. Where the attack is cheating, the function is also wrong, so the cheat is the only
way it could earn points: it must earn none.

``CASES`` is the table the tests walk through: file name and content, expected status
(``graded``/``rejected``), expected score, and words the student's feedback must contain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursetools.layout import REPO, Course
from coursetools.release import solved_release

ASSIGNMENT = "01_divergences"
NOTEBOOK = f"ex{ASSIGNMENT}.ipynb"
FULL = 10.0             # the autograded points: what a correct submission gets before a person reads it
MAX = 12.0              # with the written answer (2 points, graded by hand)
ATTACKED = FULL - 2 - 3  # a 2-point function undefined or wrong, and the experiment that uses it


@dataclass(frozen=True)
class Context:
    """Where things are in the test's course: what an attacker would try to reach."""

    course: Path          # the course folder being graded (gradebook.db, submitted/, ...)
    victim: str           # another student whose files must stay untouched


@dataclass(frozen=True)
class Case:
    name: str                                   # also the student id
    what: str                                   # the attack or mistake, in words
    make: Callable[[Context], bytes]            # the submitted file's bytes
    status: str                                 # graded | rejected
    score: float                                # the score it deserves
    feedback: tuple[str, ...] = ()              # text the feedback must contain
    filename: str = NOTEBOOK                    # its name in submitted/<name>/01_divergences/
    absent: tuple[str, ...] = ()                # text the feedback must not contain
    link: bool = False                          # make() gives a path: the file is a symlink to it
    review: tuple[str, ...] = ()                # labels the outcome's review list must hold


# ----------------------------------------------------------------------------------------------
# Building blocks.

def correct_notebook() -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled in with the reference answer."""
    return solved_release(ASSIGNMENT)


def blank_notebook() -> nbformat.NotebookNode:
    return nbformat.read(Course().release(ASSIGNMENT) / NOTEBOOK, as_version=4)


def cell(nb: nbformat.NotebookNode, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def dump(nb: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(nb).encode()


def attack(code: str, where: str = "kl_laplace", wrong: str | None = None) -> Callable[[Context], bytes]:
    """A correct notebook whose answer cell ``where`` starts with ``code`` (formatted with the
    context: {course}, {victim}, {repo}); ``wrong`` replaces that cell's function body's return."""
    def make(ctx: Context) -> bytes:
        nb = correct_notebook()
        c = cell(nb, where)
        body = c.source
        if wrong is not None:
            body = re.sub(r"(    \"\"\"\n)(.*)\Z", lambda m: m.group(1) + wrong + "\n", body, flags=re.S)
        c.source = code.format(course=ctx.course, victim=ctx.victim, repo=REPO) + "\n" + body
        return dump(nb)
    return make


WRONG_KL = "    return torch.zeros_like(mu_p * b_p * mu_q * b_q)"


def cv_on(plain: str) -> str:
    """A right kl_control_variate body that takes the plain average from the estimator ``plain`` (a
    name the attack defined) and adds the control variate's mean: mean(t) = plain + mean(r - 1)."""
    return (f"    plain, _ = {plain}(log_p, log_q, x)\n"
            "    log_r = log_q(x) - log_p(x)\n"
            "    terms = torch.expm1(log_r) - log_r\n"
            "    return plain + torch.expm1(log_r).mean(), terms.std() / math.sqrt(terms.shape[0])")


def _edit(fn: Callable[[nbformat.NotebookNode, Context], None], base=correct_notebook) -> Callable[[Context], bytes]:
    def make(ctx: Context) -> bytes:
        nb = base()
        fn(nb, ctx)
        return dump(nb)
    return make


def _delete_test(nb, ctx):
    nb.cells.remove(cell(nb, "test_kl_laplace"))


def _edit_test(nb, ctx):
    cell(nb, "test_tv_laplace").source = "assert True  # tests are for other people"
    tv = cell(nb, "tv_laplace")
    tv.source = re.sub(r"(    \"\"\"\n)(.*)\Z", lambda m: m.group(1) + "    return torch.zeros_like(mu_p + mu_q)\n",
                       tv.source, flags=re.S)


def _fake_points(nb, ctx):
    answer = cell(nb, "kl_laplace")
    answer.source = cell(blank_notebook(), "kl_laplace").source  # unanswered
    answer.metadata["nbgrader"].update(grade=True, points=1000, locked=False)


def _fake_graded_cell(nb, ctx):
    stub = nbformat.v4.new_code_cell("print('free points')")
    stub.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "locked": True, "points": 1000,
                                 "schema_version": 3, "solution": False, "task": False}
    nb.cells.insert(4, stub)
    cell(nb, "kl_laplace").source = cell(blank_notebook(), "kl_laplace").source  # unanswered


def _empty_notebook(nb, ctx):
    nb.cells = []


def _fake_partial_credit(nb, ctx):
    answer = cell(nb, "kl_laplace")
    answer.source = ("_ip = get_ipython()\n_ip.events.register('pre_run_cell', lambda *a: _ip.displayhook(2))\n"
                     + answer.source)


def _script_injection(nb, ctx):
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("Nice work! <script>alert('markdown-xss')</script>"))
    cell(nb, "kl_laplace").source = ("from IPython.display import HTML, display\n"
                                     "display(HTML(\"<script>alert('output-xss')</script>\"))\n"
                                     + cell(nb, "kl_laplace").source)


def _bad_bundles(nb, ctx):
    """Outputs and attachments that are not valid notebook data (nbformat refuses to validate them)."""
    md = next(c for c in nb.cells if c.cell_type == "markdown")
    md["attachments"] = {"plot.png": {"image/png": ["iVBOR", 3]}, "x": {"text/plain": {"not": "text"}}}
    code = cell(nb, "kl_laplace")
    code.outputs = [nbformat.from_dict({"output_type": "display_data", "metadata": {},
                                        "data": {"text/plain": 5, "image/png": {"x": 1}}})]


def _unhashable_grade_id(nb, ctx):
    stub = nbformat.v4.new_code_cell("print('free points')")
    stub.metadata["nbgrader"] = {"grade": True, "grade_id": ["kl_laplace"], "locked": True, "points": 1000,
                                 "schema_version": 3, "solution": False, "task": False}
    nb.cells.insert(4, stub)


def _deeply_nested(ctx):
    text = dump(correct_notebook()).decode().rstrip()
    assert text.endswith("}")
    depth = 100_000  # deeper than Python's recursion limit: json.loads raises RecursionError
    return (text[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}").encode()


def _wrong_name(ctx):
    return dump(correct_notebook())


# ----------------------------------------------------------------------------------------------
# The corpus.

CASES: list[Case] = [
    Case("correct", "the reference answers: full marks",
         lambda ctx: dump(correct_notebook()), "graded", FULL),
    Case("blank", "the released notebook, unanswered",
         lambda ctx: dump(blank_notebook()), "graded", 0.0, ("NotImplementedError",)),
    Case("syntax_error", "a syntax error in an answer cell",
         attack("", wrong="    return (mu_p -"), "graded", ATTACKED, ("SyntaxError",)),
    Case("infinite_loop", "an infinite loop (interrupted at the cell timeout)",
         attack("while True:\n    pass"), "graded", ATTACKED, ("CellTimeoutError",)),
    Case("loop_ignoring_interrupts", "an infinite loop that ignores interrupts (the kernel is given up after "
         "two timeouts in a row)",
         attack("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
         "graded", 0.0, ("CellTimeoutError",)),
    Case("memory_bomb", "allocating 64 GiB",
         attack("hog = bytearray(64 * 2**30)"), "graded", ATTACKED, ("MemoryError",)),
    Case("fork_bomb", "a fork bomb (stopped by the process limit; the grader then kills the children)",
         attack("import os\nwhile True:\n    os.fork()"), "graded", ATTACKED, ("BlockingIOError", "process limit")),
    Case("sys_exit", "sys.exit() in an answer cell",
         attack("import sys\nsys.exit(1)"), "graded", ATTACKED, ("SystemExit",)),
    Case("os_exit", "os._exit() in the last answer cell: the kernel dies, earlier points stay",
         attack("import os\nos._exit(3)", where="kl_control_variate"), "graded", ATTACKED, ("KernelDied", "status 3")),
    Case("deleted_test_cell", "a test cell deleted (it is put back and runs)",
         _edit(_delete_test), "graded", FULL, ("was missing",)),
    Case("edited_test_cell", "a test cell replaced by 'assert True' and a wrong answer",
         _edit(_edit_test), "graded", FULL - 3 - 3, ("was edited", "HiddenTestFailed")),
    Case("fake_points_metadata", "an answer cell whose metadata claims a test worth 1000 points",
         _edit(_fake_points), "graded", ATTACKED, ("metadata changed",)),
    Case("fake_graded_cell", "a new cell claiming to be a test worth 1000 points",
         _edit(_fake_graded_cell), "graded", ATTACKED, ("not part of the assignment",)),
    Case("patched_comparisons", "torch/numpy/math comparisons patched to always agree, wrong answer",
         attack("import math, numpy\n"
                "torch.allclose = lambda *a, **k: True\n"
                "torch.isclose = lambda a, b, *r, **k: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)\n"
                "torch.Tensor.any = lambda self, *a, **k: torch.tensor(False)\n"
                "torch.Tensor.all = lambda self, *a, **k: torch.tensor(True)\n"
                "math.isclose = lambda *a, **k: True\n"
                "numpy.allclose = lambda *a, **k: True\n"
                "numpy.testing.assert_allclose = lambda *a, **k: None", wrong=WRONG_KL),
         "graded", ATTACKED, ("HiddenTestFailed",)),
    Case("patched_builtins", "builtins abs/all/any patched to always agree, wrong answer (the patches "
         "also break the student's other answers: no points anywhere)",
         attack("import builtins\n"
                "builtins.abs = lambda x: 0.0\n"
                "builtins.all = lambda it: True\n"
                "builtins.any = lambda it: False", wrong=WRONG_KL),
         "graded", 0.0, ("HiddenTestFailed",)),
    Case("float_subclass", "a float subclass whose comparisons and abs() always succeed "
         "(and torch.allclose patched so the visible tests pass)",
         attack("torch.allclose = lambda *a, **k: True\n"
                "class Agreeable(float):\n"
                "    shape = (3,)\n"
                "    def __eq__(self, other): return True\n"
                "    def __ne__(self, other): return False\n"
                "    def __lt__(self, other): return True\n"
                "    __le__ = __gt__ = __ge__ = __lt__\n"
                "    def __abs__(self): return Agreeable(0.0)\n"
                "    def item(self): return self\n"
                "    def __sub__(self, other): return Agreeable(0.0)\n"
                "    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __sub__\n"
                "    def __bool__(self): return True\n"
                "    __hash__ = float.__hash__",
                wrong="    return Agreeable(0.0)"),
         "graded", ATTACKED, ("must be a torch.Tensor",)),
    Case("frame_reading", "reading the caller's frames for the expected value",
         attack("import sys\n"
                "def _peek():\n"
                "    f = sys._getframe(2)\n"
                "    while f is not None:\n"
                "        for name, value in f.f_locals.items():\n"
                "            if name in ('expected', 'want', 'target', 'reference') and torch.is_tensor(value):\n"
                "                return value.clone()\n"
                "        f = f.f_back\n"
                "    return None",
                wrong="    found = _peek()\n    return found if found is not None else torch.zeros_like(mu_p + mu_q)"),
         "graded", ATTACKED, ("HiddenTestFailed",)),
    Case("calls_reference", "a right kl_control_variate built on the course library's own kl_monte_carlo, "
         "which the exercise says is switched off while graded: the visible tests pass, the hidden ones not",
         attack("from course_lib.divergences import kl_monte_carlo as _reference", where="kl_control_variate",
                wrong=cv_on("_reference")),
         "graded", ATTACKED, ("reference implementation is disabled",),
         review=("calls course_lib reference code", "a graded call ran course_lib.divergences.kl_monte_carlo")),
    Case("kept_reference_code", "the library's kl_monte_carlo code, kept before the test through importlib "
         "and getattr (no text pattern matches) and called as a function of its own inside a correct "
         "kl_control_variate: the numbers are right, so the points stay, and the harness flags the run "
         "for review",
         attack("import importlib as _il\n_m = _il.import_module('course_lib.diver' + 'gences')\n"
                "_k = type(lambda: 0)(getattr(getattr(_m, 'kl_' + 'monte_carlo'), '__co' + 'de__'), vars(_m))",
                where="kl_control_variate",
                wrong=cv_on("_k")),
         "graded", FULL, review=("a graded call ran course_lib.divergences.kl_monte_carlo",)),
    Case("patched_harness", "replacing the hidden-test harness's check() by a no-op",
         attack("import course_grading as _g\n_g.check = lambda *a, **k: None"),
         "graded", 0.0, ("no result of the hidden test reached the grader",)),
    Case("fake_partial_credit", "an unanswered notebook whose IPython hook emits '2' as each cell's result "
         "(nbgrader would read it as 2 points of partial credit per test)",
         _edit(_fake_partial_credit, base=blank_notebook), "graded", 0.0, ("NotImplementedError",)),
    Case("read_solutions", "opening the source notebook under solutions/",
         attack("print(open('{repo}/solutions/01_divergences/ex01_divergences.ipynb').read()[:300])"),
         "graded", ATTACKED, ("FileNotFoundError",)),
    Case("read_gradebook", "opening the course's gradebook",
         attack("print(open('{course}/gradebook.db', 'rb').read(100))"),
         "graded", ATTACKED, ("FileNotFoundError",)),
    Case("write_other_student", "overwriting another student's submission and autograded notebook "
         "(it only writes into its own private copy; the other student is untouched)",
         attack("import os\n"
                "for _p in ['{course}/submitted/{victim}/01_divergences/ex01_divergences.ipynb',\n"
                "           '{course}/autograded/{victim}/01_divergences/ex01_divergences.ipynb',\n"
                "           '../../{victim}/01_divergences/ex01_divergences.ipynb']:\n"
                "    try:\n"
                "        os.makedirs(os.path.dirname(_p), exist_ok=True)\n"
                "        open(_p, 'w').write('{{}}')\n"
                "        print('wrote', _p)\n"
                "    except OSError as _e:\n"
                "        print('could not write', _p, type(_e).__name__)"),
         "graded", FULL),
    Case("network", "reaching the network",
         attack("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=3)"),
         "graded", ATTACKED, ("OSError",)),
    Case("print_100mb", "printing 100 MB (kept out of the notebook and the feedback)",
         attack("for _ in range(100):\n    print('x' * 1_000_000)"), "graded", FULL, ("truncated",)),
    Case("script_injection", "<script> in a markdown cell and in an HTML output (feedback is sanitized)",
         _edit(_script_injection), "graded", FULL,
         ("Nice work!",), absent=("<script>alert('markdown-xss')", "<script>alert('output-xss')")),
    Case("invalid_json", "a notebook file that is not valid JSON",
         lambda ctx: dump(correct_notebook())[:5000], "rejected", 0.0, ("not a valid notebook",)),
    Case("symlink_to_solution", "a symbolic link to the source notebook in solutions/ instead of a file "
         "(e.g. planted in a shared exchange folder)",
         lambda ctx: str(Course().notebook(ASSIGNMENT)).encode(), "rejected", 0.0,
         ("symbolic link",), link=True),
    Case("wrong_name", "the notebook saved under another name",
         _wrong_name, "graded", FULL, ("instead of",), filename="my_homework_final.ipynb"),
    Case("empty_file", "an empty file", lambda ctx: b"", "rejected", 0.0, ("empty",)),
    Case("empty_notebook", "a valid notebook with no cells", _edit(_empty_notebook), "graded", 0.0,
         ("was missing",)),
    Case("invalid_mimebundle", "outputs and markdown attachments that are not valid notebook data "
         "(normalized: dropped, with a note)", _edit(_bad_bundles), "graded", FULL, ("not valid notebook data",)),
    Case("unhashable_grade_id", "a cell claiming 1000 points whose grade_id is a list, not a string",
         _edit(_unhashable_grade_id), "graded", FULL, ("not part of the assignment",)),
    Case("deeply_nested", "JSON nested 100,000 levels deep (refused once, with the reason)",
         _deeply_nested, "rejected", 0.0, ("nested too deeply",)),
]

BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"


def write_submission(course: Path, case: Case, ctx: Context) -> Path:
    """Write ``case`` as ``course/submitted/<case.name>/01_divergences/<file>``; return the folder."""
    folder = Path(course) / "submitted" / case.name / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    if case.link:
        (folder / case.filename).symlink_to(case.make(ctx).decode())
    else:
        (folder / case.filename).write_bytes(case.make(ctx))
    (folder / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC\n")
    return folder


def table() -> str:
    """The corpus as a Markdown table (for docs/instructors.md)."""
    rows = ["| case | submission | outcome | autograded score |", "|---|---|---|---|"]
    for c in CASES:
        rows.append(f"| `{c.name}` | {c.what} | {c.status} | {c.score:g}/{FULL:g} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m tests.hostile.cases: print the table
    print(table())
