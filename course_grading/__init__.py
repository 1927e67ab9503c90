"""Hidden-test harness for the course's nbgrader exercises.

A hidden test cell says ``check("divergences.kl_laplace", kl_laplace)``. :func:`check`

1. builds seeded random inputs with the case's ``make_inputs`` (``course_grading.<topic>``),
2. calls the submitted function on copies of them, with the ``course_lib`` reference
   implementations of that function disabled (a submission that only calls the reference fails),
3. turns the result into plain numbers, refusing anything that is not exactly a ``torch.Tensor``,
   ``float`` or ``int`` (or a tuple of them) of the expected shape: an object that "compares equal to
   anything" never reaches a comparison,
4. judges it against an independent oracle computed *after* the call (so no expected value sits
   in any frame the submission can read), and raises ``AssertionError`` with a hint,
5. publishes a record of the plain results (mime type :data:`MIME`).

The record is what makes grading trustworthy: ``coursetools.preprocessors.VerifyHiddenChecks`` runs in
nbgrader's own process, outside the student's kernel, rebuilds the inputs from the same seeds and
judges the recorded numbers again with modules the submission never touched. Monkeypatched
comparison functions, float subclasses, silenced tracebacks or a patched ``check`` therefore do
not earn points: only correct numbers do.

A case module ``course_grading/<topic>.py`` defines ``REFERENCES`` (the ``course_lib`` functions that
are switched off while its functions are graded, declared once) and ``CASES = {"func": Case(...)}``.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import pkgutil
import types
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from course_grading.threads import one_thread

MIME = "application/vnd.course.grading+json"
REVIEW_MIME = "application/vnd.course.review+json"  # a failed check that ran a switched-off reference
FORMAT = 1


class Failure(AssertionError):
    """A hidden test failed; the message says what was expected, never the expected numbers."""


@dataclass(frozen=True)
class Case:
    """One graded function's hidden test.

    make_inputs(generator) -> dict of keyword arguments (deterministic given the generator).
    judge(inputs, output) -> None, raising :class:`Failure`; ``output`` is the plain form
        (see :func:`to_plain`), so the same judge runs in the kernel and in the grader.
    call(fn, inputs) -> result; default ``fn(**inputs)``. Override to probe more than the
        return value (e.g. gradients), returning everything the judge needs.
    references: dotted names of ``course_lib`` functions disabled during the call.
    trials: how many random input sets.
    """

    make_inputs: Callable[[torch.Generator], dict]
    judge: Callable[[dict, Any], None]
    references: tuple[str, ...] = ()
    call: Callable[[Callable, dict], Any] | None = None
    trials: int = 4
    notes: str = field(default="", compare=False)


# ----------------------------------------------------------------------------------------------
# Plain form of results: JSON-able, exact (floats as hex strings), built only from exact types.

def to_plain(value: Any, what: str = "result") -> dict:
    """Exact ``torch.Tensor`` / ``float`` / ``int`` / tuple-or-list of them -> JSON-able dict.

    Tensor subclasses, numpy scalars, bools and look-alike objects are refused with a
    :class:`Failure` naming what was returned.
    """
    kind = type(value)
    if kind is torch.Tensor:
        t = value.detach()
        if not (t.dtype.is_floating_point or t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)):
            raise Failure(f"{what} must be a real-valued tensor, got dtype {t.dtype}")
        flat = t.to("cpu", torch.float64).reshape(-1).tolist()
        return {"kind": "tensor", "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                "values": [float.hex(float(v)) for v in flat]}
    if kind is float or kind is int:
        return {"kind": "number", "value": float.hex(float(value))}
    if kind is tuple or kind is list:
        return {"kind": "tuple", "items": [to_plain(v, f"{what}[{i}]") for i, v in enumerate(value)]}
    raise Failure(f"{what} must be a torch.Tensor or a float, got an object of type {kind.__module__}.{kind.__qualname__}")


def _check_plain(plain: Any, what: str) -> dict:
    if not isinstance(plain, dict) or plain.get("kind") not in ("tensor", "number", "tuple"):
        raise Failure(f"{what}: malformed result record")
    return plain


def as_tensor(plain: Any, shape: tuple[int, ...] | None = None, what: str = "result") -> torch.Tensor:
    """Plain tensor (or number, as a 0-d tensor) -> float64 tensor, checking the shape."""
    plain = _check_plain(plain, what)
    if plain["kind"] == "number":
        t = torch.tensor(float.fromhex(plain["value"]), dtype=torch.float64)
    elif plain["kind"] == "tensor":
        dims = [int(d) for d in plain["shape"]]
        values = [float.fromhex(str(v)) for v in plain["values"]]
        if math.prod(dims) != len(values):
            raise Failure(f"{what}: malformed result record")
        t = torch.tensor(values, dtype=torch.float64).reshape(dims)
    else:
        raise Failure(f"{what} must be a tensor, got a tuple of {len(plain['items'])} items")
    if shape is not None and tuple(t.shape) != tuple(shape):
        raise Failure(f"{what} must have shape {tuple(shape)}, got {tuple(t.shape)}")
    return t


def as_items(plain: Any, n: int, what: str = "result") -> list:
    """Plain tuple of exactly ``n`` items -> list of plain items."""
    plain = _check_plain(plain, what)
    if plain["kind"] != "tuple" or len(plain["items"]) != n:
        raise Failure(f"{what} must be a tuple of {n} values")
    return plain["items"]


def assert_close(actual: torch.Tensor, expected: torch.Tensor, what: str, rtol: float = 1e-4,
                 atol: float = 1e-6, hint: str = "") -> None:
    """Raise :class:`Failure` unless ``actual`` matches ``expected`` elementwise (both float64)."""
    actual = actual.to(torch.float64)
    expected = expected.to(torch.float64)
    if actual.shape != expected.shape:
        raise Failure(f"{what} must have shape {tuple(expected.shape)}, got {tuple(actual.shape)}")
    if not bool(torch.isfinite(actual).all()):
        raise Failure(f"{what} contains NaN or inf for valid inputs. {hint}".strip())
    err = (actual - expected).abs()
    bad = err > atol + rtol * expected.abs()
    if bool(bad.any()):
        raise Failure(f"{what} is wrong for {int(bad.sum())} of {bad.numel()} random inputs "
                      f"(largest error {float(err.max()):.3g}). {hint}".strip())


# ----------------------------------------------------------------------------------------------

def load_case(name: str) -> Case:
    """``"topic.func"`` -> the Case in ``course_grading.<topic>.CASES["func"]``."""
    topic, _, func = name.partition(".")
    if not topic.isidentifier() or not func.isidentifier():
        raise ValueError(f"check name must look like 'topic.function', got {name!r}")
    module = importlib.import_module(f"{__name__}.{topic}")
    try:
        return module.CASES[func]
    except KeyError:
        raise ValueError(f"no hidden test named {name!r}") from None


_PRACTICE = False  # True inside practice_inputs(): the student's own check, never grading


def generator_for(name: str, trial: int) -> torch.Generator:
    """The seeded generator of one trial; the same in every process (crc32, not hash()).

    Inside :func:`practice_inputs` every seed is another one, so a student's practice run never
    sees the grading inputs (the grader's verifier always rebuilds the grading inputs)."""
    key = f"{name}:practice" if _PRACTICE else name
    return torch.Generator().manual_seed(zlib.crc32(key.encode()) * 100 + trial)


@contextmanager
def practice_inputs():
    """Hidden checks inside draw practice inputs, not the grading ones (``./course check``)."""
    global _PRACTICE
    saved, _PRACTICE = _PRACTICE, True
    try:
        yield
    finally:
        _PRACTICE = saved


def _blocked(*args, **kwargs):
    raise RuntimeError("the course_lib reference implementation is disabled while your function "
                       "is graded: implement it yourself")


def reference_function(path: str) -> types.FunctionType:
    """``"course_lib.topic.func"`` -> that plain function; anything else is a course bug, not a skip."""
    module_name, _, attr = path.rpartition(".")
    func = inspect.unwrap(getattr(importlib.import_module(module_name), attr, None))  # under decorators
    if not isinstance(func, types.FunctionType) or func.__code__.co_freevars:
        raise LookupError(f"grading reference {path!r} is not a plain function of course_lib")
    return func


def topics() -> list[str]:
    """The topics that have hidden tests: every case module of this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "threads")


def all_references() -> tuple[str, ...]:
    """Every reference function switched off during grading, over all topics (one list per topic,
    ``REFERENCES`` next to its cases)."""
    return tuple(ref for topic in topics()
                 for ref in importlib.import_module(f"{__name__}.{topic}").REFERENCES)


@contextmanager
def references_disabled(paths: tuple[str, ...]):
    """Swap the code of each named ``course_lib`` function for one that raises, then restore it.
    Yields ``{code object: path}`` for the original codes and their stand-ins (for
    :func:`watching_references`).

    Swapping ``__code__`` (not the module attribute) also disables references that the submission
    imported under another name before the test ran.
    """
    funcs = [reference_function(path) for path in paths]  # all resolved before any is swapped
    saved, codes = [], {}
    try:
        for func, path in zip(funcs, paths):
            blocked = _blocked.__code__.replace(co_name=func.__name__)  # one stand-in per reference
            saved.append((func, func.__code__))
            codes[func.__code__] = codes[blocked] = path
            func.__code__ = blocked
        yield codes
    finally:
        for func, code in saved:
            func.__code__ = code


#: What :func:`watching_references` reports when the submission removed its watcher.
WATCHER_REMOVED = "(the grader's call watcher was switched off during the call)"


@contextmanager
def watching_references(codes: dict):
    """Yield a set that collects the references (paths of ``codes``) that run while inside.

    While a hidden test calls the submission, its references are switched off, so any run of one of
    their codes -- the stand-in reached through ``importlib``/``getattr``, or the original code kept
    from before the test and called through another function object -- means the submission went
    to the course's implementation. That is for a human to review (the grader lists it in
    ``[review: ...]``); it does not change the score. A profile hook (threads included) watches.
    """
    reached: set[str] = set()
    if not codes:
        yield reached
        return
    import sys
    import threading

    def hook(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            reached.add(codes[frame.f_code])

    previous, previous_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        yield reached
    finally:
        if sys.getprofile() is not hook:
            reached.add(WATCHER_REMOVED)
        sys.setprofile(previous)
        threading.setprofile(previous_threads)


@one_thread
def run_case(name: str, fn: Callable, reached_out: set[str] | None = None) -> list:
    """Call ``fn`` on every trial of the case, judge each result; return the plain results.
    ``reached_out`` collects the switched-off references the calls ran (:func:`watching_references`)."""
    case = load_case(name)
    if not callable(fn):
        raise Failure(f"{name.partition('.')[2]} must be a function")
    outputs = []
    for trial in range(case.trials):
        inputs = case.make_inputs(generator_for(name, trial))
        args = copy.deepcopy(inputs)
        reached: set[str] = set()
        try:
            with references_disabled(case.references) as codes, watching_references(codes) as reached:
                try:
                    result = case.call(fn, args) if case.call else fn(**args)
                except NotImplementedError:
                    raise
                except Exception as err:  # the student's error, reported as a failed test
                    raise Failure(f"calling your function raised {type(err).__name__}: {err}") from err
        finally:  # after the watcher has closed its set (it notes its own removal then)
            if reached_out is not None:
                reached_out |= reached
        _check_unmodified(inputs, args)
        plain = to_plain(result)
        case.judge(inputs, plain)
        outputs.append(plain)
    return outputs


def _check_unmodified(inputs: dict, args: dict) -> None:
    """Fail when the submission changed a tensor argument in place (``x -= mean``, ``x.sub_(...)``)."""
    for key, before in inputs.items():
        after = args.get(key)
        if not isinstance(before, torch.Tensor) or not isinstance(after, torch.Tensor):
            continue
        same = before.shape == after.shape and before.dtype == after.dtype
        if same:
            a, b = before.detach(), after.detach()
            same = bool(((a == b) | (a != a) & (b != b)).all()) if a.is_floating_point() else torch.equal(a, b)
        if not same:
            raise Failure(f"your function changed its argument {key!r} in place; the caller's tensor must "
                          "stay as it was (work on a copy: x - mean, not x -= mean or x.sub_(mean))")


@one_thread
def verify_record(record: Any) -> str:
    """Judge a published record again (in the grader's process). Returns the check's name."""
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise Failure("malformed grading record")
    name = record.get("name")
    case = load_case(str(name))
    outputs = record.get("outputs")
    if not isinstance(outputs, list) or len(outputs) != case.trials:
        raise Failure(f"{name}: the record holds the wrong number of results")
    for trial, plain in enumerate(outputs):
        inputs = case.make_inputs(generator_for(name, trial))
        case.judge(inputs, plain)
    return name


def make_record(name: str, fn: Callable, reached: set[str] | None = None) -> dict:
    """Run the hidden test ``name`` on ``fn`` and return its record (raises on failure). Its
    ``reached`` lists the switched-off references the calls ran anyway, for review (the grader
    does not judge it: it comes from the student's kernel); ``reached`` also collects them when
    the test fails."""
    reached = set() if reached is None else reached
    outputs = run_case(name, fn, reached)
    return {"format": FORMAT, "name": name, "outputs": outputs, "reached": sorted(reached)}


def _publish(data: dict) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import publish_display_data
    except ImportError:  # pragma: no cover - outside IPython nothing is published
        return
    if get_ipython() is not None:
        publish_display_data(data)


def check(name: str, fn: Callable) -> None:
    """Run the hidden test ``name`` on ``fn``; raise on failure, publish the record on success.
    When the calls ran a switched-off reference and the test failed, that alone is published
    (mime :data:`REVIEW_MIME`), so the grader can still flag it for review.

    Returns None, so a test cell that ends with ``check(...)`` has no ``execute_result`` (which
    nbgrader would read as partial credit).
    """
    reached: set[str] = set()
    try:
        record = make_record(name, fn, reached)
    except BaseException:
        if reached:
            _publish({REVIEW_MIME: {"name": name, "reached": sorted(reached)},
                      "text/plain": f"{name}: your function ran the switched-off course_lib reference"})
        raise
    _publish({MIME: record, "text/plain": f"{name}: {len(record['outputs'])} hidden test cases passed"})
