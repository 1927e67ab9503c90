"""The course's nbgrader preprocessors, one module each (named after its class).

- :class:`VerifyHiddenChecks` (``verify_hidden_checks``): re-judges hidden-test records outside the
  student's kernel (course config, after ``Execute``).
- :class:`GuardGradeCells` (``guard_grade_cells``): caps outputs; only a clean run earns a test
  cell's points (course config, after the verifier).
- :class:`SandboxedExecute` (``sandboxed_execute``): ``Execute`` that survives a dead kernel
  (put in place of ``Execute`` by :mod:`coursetools.grade` for sandboxed grading).
- :class:`WarningsToStdout` (``warnings_to_stdout``): a Python warning on stderr is ordinary output,
  not a failure (course config, right after ``Execute``, for autograde and validate).
- :class:`SanitizeStudentMarkdown` (``sanitize_student_markdown``): safe student markdown in
  feedback pages (:mod:`coursetools.feedback`).
"""

from .guard_grade_cells import GuardGradeCells
from .sandboxed_execute import SandboxedExecute
from .sanitize_student_markdown import SanitizeStudentMarkdown
from .verify_hidden_checks import VerifyHiddenChecks
from .warnings_to_stdout import WarningsToStdout

__all__ = ["GuardGradeCells", "SandboxedExecute", "SanitizeStudentMarkdown", "VerifyHiddenChecks", "WarningsToStdout"]
