"""The hidden-test harness (course_grading) and its out-of-kernel verifier (coursetools.verify).

Questions: does a correct implementation pass; do look-alike results, patched comparisons and
delegating to the reference fail; does the verifier catch a forged or missing record?
"""

import math

import nbformat
import pytest
import torch

import course_grading as grading
import course_lib.divergences as reference
from course_grading import Failure, check, make_record, run_case, to_plain, verify_record
from coursetools.verify import verify_cell


def own_kl_laplace(mu_p, b_p, mu_q, b_q):
    gap = (mu_p - mu_q).abs()
    return torch.log(b_q / b_p) + (gap + b_p * torch.exp(-gap / b_p)) / b_q - 1


def cv_from_plain(plain_estimator):
    """kl_control_variate built on a plain Monte Carlo estimator: mean(t) = plain + mean(r - 1)."""
    def kl_control_variate(log_p, log_q, x):
        log_r = log_q(x) - log_p(x)
        terms = torch.expm1(log_r) - log_r
        plain, _ = plain_estimator(log_p, log_q, x)
        return plain + torch.expm1(log_r).mean(), terms.std() / math.sqrt(len(terms))
    return kl_control_variate


def own_plain(log_p, log_q, x):
    r = log_p(x) - log_q(x)
    return r.mean(), r.std() / math.sqrt(len(r))


def test_a_correct_implementation_passes_and_its_record_verifies():
    record = make_record("divergences.kl_laplace", own_kl_laplace)
    assert verify_record(record) == "divergences.kl_laplace"


def test_records_hold_exact_values():
    t = torch.tensor([1 / 3, math.pi, -0.0, 1e-300], dtype=torch.float64)
    plain = to_plain(t)
    back = grading.as_tensor(plain, (4,))
    assert torch.equal(back, t)


def test_delegating_to_the_course_lib_reference_fails():
    with pytest.raises(Failure, match="reference implementation is disabled"):
        run_case("divergences.kl_control_variate", cv_from_plain(reference.kl_monte_carlo))
    alias = reference.tv_normal  # imported under another name before the test
    with pytest.raises(Failure, match="disabled"):
        run_case("divergences.tv_laplace", lambda **kw: alias(*kw.values()))
    # ... and the reference works again afterwards
    assert reference.kl_normal(0.0, 1.0, 1.0, 1.0).item() == pytest.approx(0.5)


class AlwaysEqual(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __gt__(self, other): return False
    def __abs__(self): return AlwaysEqual(0.0)
    def __sub__(self, other): return AlwaysEqual(0.0)
    __rsub__ = __sub__


class TensorLookAlike(torch.Tensor):
    pass


@pytest.mark.parametrize("result", [AlwaysEqual(0.0), (lambda: TensorLookAlike(torch.zeros(7)))(),
                                    [0.0] * 7, None, "0.5", True])
def test_look_alike_results_are_refused(result):
    with pytest.raises(Failure):
        run_case("divergences.kl_laplace", lambda **kw: result)


def test_patched_comparisons_do_not_fool_the_verifier(monkeypatch):
    wrong = lambda mu_p, b_p, mu_q, b_q: torch.zeros_like(mu_p)
    good = make_record("divergences.kl_laplace", own_kl_laplace)
    # A forged record: correct structure, wrong numbers (what a patched check would publish).
    forged = {**good, "outputs": [to_plain(wrong(**grading.divergences._laplace_params(grading.generator_for("divergences.kl_laplace", t))))
                                  for t in range(4)]}
    with monkeypatch.context() as m:
        m.setattr(torch, "allclose", lambda *a, **k: True)
        m.setattr(torch, "isclose", lambda *a, **k: torch.tensor(True))
        m.setattr(math, "isclose", lambda *a, **k: True)
        # The judges compare plain numbers with arithmetic, not with these helpers.
        with pytest.raises(Failure):
            verify_record(forged)
    with pytest.raises(Failure):
        verify_record(forged)


def test_the_expected_value_is_not_in_any_frame_during_the_call():
    import inspect

    seen = []

    def spy(mu_p, b_p, mu_q, b_q):
        frame = inspect.currentframe().f_back
        while frame is not None:
            seen.extend(v for v in frame.f_locals.values() if isinstance(v, torch.Tensor) and v.dtype == torch.float64)
            frame = frame.f_back
        return own_kl_laplace(mu_p, b_p, mu_q, b_q)

    run_case("divergences.kl_laplace", spy)
    # Only float32 inputs exist in the callers' frames; the float64 oracle runs after the call.
    assert seen == []


def test_a_missing_record_fails_verification_and_an_unknown_name_is_an_error():
    cell = nbformat.v4.new_code_cell('check("divergences.kl_laplace", kl_laplace)')
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    cell.outputs = []
    assert verify_cell(cell) == ["divergences.kl_laplace: no result of the hidden test reached the grader"]
    good = make_record("divergences.kl_laplace", own_kl_laplace)
    cell.outputs = [nbformat.v4.new_output("display_data", data={grading.MIME: good, "text/plain": "ok"})]
    assert verify_cell(cell) == []
    bad = {**good, "outputs": good["outputs"][:2]}
    cell.outputs = [nbformat.v4.new_output("display_data", data={grading.MIME: bad})]
    assert "wrong number" in verify_cell(cell)[0]
    with pytest.raises(ValueError):
        run_case("divergences.no_such_function", own_kl_laplace)


def test_check_returns_nothing_so_nbgrader_sees_no_partial_credit_value():
    assert check("divergences.kl_laplace", own_kl_laplace) is None


def test_an_error_inside_the_submission_is_reported_as_a_failed_test():
    def broken(**kw):
        raise ZeroDivisionError("oops")

    with pytest.raises(Failure, match="ZeroDivisionError"):
        run_case("divergences.kl_laplace", broken)
    with pytest.raises(NotImplementedError):
        run_case("divergences.kl_laplace", lambda **kw: (_ for _ in ()).throw(NotImplementedError()))


def test_a_graded_call_that_runs_a_switched_off_reference_is_recorded_for_review(tmp_path, monkeypatch):
    """Issue 17 item 9: the harness, not a text pattern, sees the reference run -- reached through
    importlib and getattr (fails, and is recorded even when the submission catches the error), or
    through a code object kept from before the test (passes, and is recorded)."""
    import importlib
    import sys
    import types

    from coursetools.grade.review import reached_flags

    honest = make_record("divergences.kl_control_variate", cv_from_plain(own_plain))
    assert honest["reached"] == []

    def indirect(log_p, log_q, x):
        module = importlib.import_module("course_lib." + "diver" + "gences")
        try:
            plain = getattr(module, "kl_" + "monte_carlo")
            return cv_from_plain(plain)(log_p, log_q, x)
        except RuntimeError:  # switched off: fall back to its own estimator
            return cv_from_plain(own_plain)(log_p, log_q, x)

    name = "divergences.kl_control_variate"
    assert make_record(name, indirect)["reached"] == ["course_lib.divergences.kl_monte_carlo"]

    kept = types.FunctionType(getattr(reference.kl_monte_carlo, "__co" + "de__"), reference.__dict__)
    stolen = make_record(name, cv_from_plain(kept))
    assert verify_record(stolen) == name  # correct numbers: the score stands...
    assert stolen["reached"] == ["course_lib.divergences.kl_monte_carlo"]  # ...and a human is told

    def unwatched(**kw):
        sys.setprofile(None)
        return own_kl_laplace(**kw)

    assert make_record("divergences.kl_laplace", unwatched)["reached"] == [grading.WATCHER_REMOVED]
    assert sys.getprofile() is None and reference.kl_normal(torch.tensor(0.), torch.tensor(1.), torch.tensor(0.),
                                                             torch.tensor(1.)) == 0, "all restored"

    # A check that fails after running a reference still tells the grader (the record is not published).
    published = []
    monkeypatch.setattr(grading, "_publish", published.append)
    with pytest.raises(Failure, match="reference implementation is disabled"):
        check("divergences.tv_laplace", lambda **kw: reference.tv_normal(*kw.values()))
    assert [p.get(grading.REVIEW_MIME) for p in published] == [
        {"name": "divergences.tv_laplace", "reached": ["course_lib.divergences.tv_normal"]}]

    # The grader reads the records of the autograded notebook; anything but the expected forms is dropped.
    forged = {**honest, "reached": ["course_lib.divergences.kl_monte_carlo", "<script>", 42]}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "check(...)", outputs=[nbformat.v4.new_output("display_data", data={grading.MIME: r})])
        for r in (stolen, forged, honest)])
    nb.cells.append(nbformat.v4.new_code_cell("check(...)", outputs=[
        nbformat.v4.new_output("display_data", data=published[0])]))
    nbformat.write(nb, tmp_path / "a.ipynb")
    assert reached_flags(tmp_path) == ["a graded call ran course_lib.divergences.kl_monte_carlo",
                                       "a graded call ran course_lib.divergences.tv_normal"]
