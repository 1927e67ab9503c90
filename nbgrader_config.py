"""nbgrader configuration of the course (run nbgrader from this folder)."""

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from coursetools.layout import COURSE_ID, RELEASE, SOURCE
from coursetools.preprocessors import GuardGradeCells, VerifyHiddenChecks, WarningsToStdout

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = COURSE_ID
c.CourseDirectory.source_directory = SOURCE      # solutions/
c.CourseDirectory.release_directory = RELEASE    # exercises/

# Exercise notebooks run on a CPU in seconds; a cell that takes longer is a bug or an attack.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# A Python warning on stderr (a correct answer calling torch.tensor() on a tensor) is not a failure:
# WarningsToStdout turns warning-only stderr streams into stdout, right after Execute, when grading
# (docs/instructors.md, "Warnings are not errors"; Validate is not covered: nbgrader's
# Validator.preprocessors is not configurable).
# Re-judge hidden-test records in nbgrader's process, right after the notebook ran; then stop test
# cells' execute_result outputs from counting as partial credit and cap output sizes.
c.Autograde.autograde_preprocessors = [
    Execute, WarningsToStdout, VerifyHiddenChecks, GuardGradeCells, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]

# Keep huge outputs (a student printing 100 MB) out of the autograded notebook and feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 200
