"""``./course similarity ASSIGNMENT``: near-identical answers, for a human to look at.

For every graded function of the assignment (each ``def`` in an answer cell of the source
notebook), the function is taken from each submission (``submitted/<student>/<assignment>/``,
wherever in the notebook it is defined last), reduced to a normal form -- docstring dropped, names
of its arguments and local variables replaced by ``v0, v1, ...`` in order of first use, comments
and layout gone (they never reach the syntax tree) -- and compared with every other submission's and
with the course's own code (the solution notebook's body, and the ``course_lib`` function of the same
name where there is one). The similarity of two bodies is the ratio of matching tokens of their
normal forms (:class:`difflib.SequenceMatcher`); renaming variables or reformatting does not lower it.

Pairs at or above the threshold are printed, ranked, written to ``similarity/<assignment>.csv``, and
noted in the formgrader (the manual comment of that student's answer cell: ``[similarity] ...``).
A grade is never changed. Untouched stubs (the released ``raise NotImplementedError``) and bodies
too short to tell copying from coincidence are left out.
"""

from __future__ import annotations

import ast
import csv
import difflib
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .layout import REPO, Course

THRESHOLD = 0.9   # report pairs at least this similar
MIN_TOKENS = 40   # a body shorter than this (normal-form tokens) is too short to call a copy
SOLUTION, LIBRARY = "(solution)", "(course_lib)"
MARK = "[similarity]"


@dataclass(frozen=True)
class Pair:
    function: str
    score: float
    first: str    # a student, or SOLUTION / LIBRARY
    second: str   # a student


class _Normalize(ast.NodeTransformer):
    """The names in ``local`` -> v0, v1, ... (in order of first appearance); docstrings out."""

    def __init__(self, local: set[str]):
        self.local, self.names = local, {}

    def _rename(self, name: str) -> str:
        if name not in self.local:  # torch, math, a global helper, a builtin: kept
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg, node.annotation = self._rename(node.arg), None
        return node

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self._rename(node.id)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name, node.returns = self._rename(node.name), None
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            node.body = node.body[1:] or [ast.Pass()]
        self.generic_visit(node)
        return node


def normal_form(func: ast.FunctionDef) -> list[str]:
    """The tokens of ``func``'s normal form: the names it binds (arguments, assignment, loop and
    comprehension targets) renamed in order of first use, everything else as written."""
    import copy
    import re

    local = {n.arg for n in ast.walk(func) if isinstance(n, ast.arg)}
    local |= {n.name for n in ast.walk(func) if isinstance(n, ast.FunctionDef)}
    local |= {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    tree = _Normalize(local).visit(copy.deepcopy(func))
    return re.findall(r"\w+|[^\w\s]", ast.dump(tree, annotate_fields=False, include_attributes=False))


def _functions(source: str) -> dict[str, ast.FunctionDef]:
    """Top-level functions of ``source`` (the last definition of each name)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _cellwise(notebook: Path, answers_only: bool) -> dict[str, ast.FunctionDef]:
    """The top-level functions of ``notebook``'s code cells (each cell parsed alone, so one broken
    cell costs only its own functions; a later definition wins)."""
    import nbformat

    funcs = {}
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception:  # an unreadable submission: nothing to compare (grading reports it)
        return {}
    for c in nb.cells:
        if c.get("cell_type") != "code" or not isinstance(c.get("source"), str):
            continue
        if answers_only and not c.get("metadata", {}).get("nbgrader", {}).get("solution"):
            continue
        # IPython magics and shell escapes are not Python: blank those lines.
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in c.source.splitlines())
        funcs.update(_functions(source))
    return funcs


def graded_functions(course: Course, assignment: str) -> dict[str, str]:
    """Graded function name -> the notebook (file name) whose answer cell defines it."""
    names = {}
    for notebook in course.notebooks(assignment):
        names.update({name: notebook.name for name in _cellwise(notebook, answers_only=True)})
    return names


def _library_function(name: str) -> ast.FunctionDef | None:
    import course_lib

    for info in pkgutil.iter_modules(course_lib.__path__):
        try:
            module = importlib.import_module(f"course_lib.{info.name}")
        except Exception:
            continue
        func = getattr(module, name, None)
        if inspect.isfunction(func) and func.__module__ == module.__name__:
            return _functions(textwrap.dedent(inspect.getsource(func))).get(name)
    return None


def similar_pairs(course: Course, assignment: str, threshold: float = THRESHOLD,
                  min_tokens: int = MIN_TOKENS) -> list[Pair]:
    """Every pair at or above ``threshold``, most similar first (then by function and names)."""
    graded = graded_functions(course, assignment)
    release_funcs = {}
    for notebook in course.notebooks(assignment):
        release = course.release(assignment) / notebook.name
        if release.is_file():
            release_funcs.update(_cellwise(release, answers_only=False))
    students = sorted(p.name for p in course.submitted().glob("*") if (p / assignment).is_dir())
    # Every notebook is read and parsed once, whatever the number of graded functions in it.
    notebooks = sorted(set(graded.values()))
    solution_funcs = {name: _cellwise(course.source(assignment) / name, answers_only=True) for name in notebooks}
    submitted = {}
    for student in students:
        for name in notebooks:
            path = course.submitted(student, assignment) / name
            submitted[student, name] = _cellwise(path, answers_only=False) if path.is_file() else {}
    pairs = []
    for function, notebook_name in sorted(graded.items()):
        stub = normal_form(release_funcs[function]) if function in release_funcs else None
        bodies: dict[str, list[str]] = {}
        for student in students:
            funcs = submitted[student, notebook_name]
            if function in funcs:
                tokens = normal_form(funcs[function])
                if tokens != stub and len(tokens) >= min_tokens:
                    bodies[student] = tokens
        references = {}
        if function in solution_funcs[notebook_name]:
            references[SOLUTION] = normal_form(solution_funcs[notebook_name][function])
        library = _library_function(function)
        if library is not None:
            references[LIBRARY] = normal_form(library)
        names = sorted(bodies)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                score = _ratio(bodies[a], bodies[b])
                if score >= threshold:
                    pairs.append(Pair(function, score, a, b))
            for label, tokens in references.items():
                score = _ratio(tokens, bodies[a])
                if score >= threshold:
                    pairs.append(Pair(function, score, label, a))
    return sorted(pairs, key=lambda p: (-p.score, p.function, p.first, p.second))


def _ratio(a: list[str], b: list[str]) -> float:
    return round(difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), 3)


def _note_in_gradebook(course: Course, assignment: str, graded: dict[str, str], pairs: list[Pair]) -> int:
    """Add a ``[similarity]`` line to the manual comment of each flagged answer cell; returns how many."""
    from nbgrader.api import Gradebook, MissingEntry

    if not course.gradebook.is_file():
        return 0
    lines: dict[tuple[str, str], list[str]] = {}
    for p in pairs:
        for student, other in ((p.first, p.second), (p.second, p.first)):
            if student not in (SOLUTION, LIBRARY):
                lines.setdefault((student, p.function), []).append(
                    f"{MARK} {p.function}: {p.score:.0%} like {other} (./course similarity {assignment})")
    noted = 0
    with Gradebook(course.db_url) as gb:
        for (student, function), text in sorted(lines.items()):
            notebook = graded[function].removesuffix(".ipynb")
            try:
                cell = gb.find_solution_cell(function, notebook, assignment).name
                comment = gb.find_comment(cell, notebook, assignment, student)
            except MissingEntry:  # not graded yet, or the cell is named differently: table only
                continue
            kept = [line for line in (comment.manual_comment or "").splitlines() if not line.startswith(MARK)]
            comment.manual_comment = "\n".join(kept + text)
            noted += 1
        gb.db.commit()
    return noted


def similarity(root: Path = REPO, assignment: str = "", say: Callable[[str], None] = print,
               threshold: float = THRESHOLD) -> list[Pair]:
    """Report near-identical answers of ``assignment`` (table, CSV, formgrader notes)."""
    course = Course(root)
    if assignment not in course.assignments():
        raise ValueError(f"assignment={assignment!r} is not one of {course.assignments()}")
    pairs = similar_pairs(course, assignment, threshold)
    out = course.root / "similarity" / f"{assignment}.csv"
    out.parent.mkdir(exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["function", "similarity", "first", "second"])
        for p in pairs:
            writer.writerow([p.function, f"{p.score:.3f}", p.first, p.second])
    if pairs:
        width = max(len(p.function) for p in pairs)
        say(f"{'function':<{width}}  similar  first / second")
        for p in pairs:
            say(f"{p.function:<{width}}  {p.score:6.1%}  {p.first} / {p.second}")
    noted = _note_in_gradebook(course, assignment, graded_functions(course, assignment), pairs)
    say(f"similarity: {len(pairs)} pairs at or above {threshold:.0%} in {assignment} (normalized code; "
        f"bodies under {MIN_TOKENS} tokens and untouched stubs left out); {noted} notes in the formgrader; "
        f"table in {out}. Nothing was graded differently: look at each pair yourself.")
    return pairs
