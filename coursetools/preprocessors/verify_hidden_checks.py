"""``VerifyHiddenChecks``: re-judge every grade cell's hidden-test records in nbgrader's process.

The checks themselves are in :mod:`coursetools.verify`.
"""

from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from ..verify import verify_cell


class VerifyHiddenChecks(NbGraderPreprocessor):
    """Fail every grade cell whose hidden-test records do not verify in the grader's process."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            problems = verify_cell(cell)
            if problems:
                self.log.warning("cell %s failed verification: %s",
                                 cell.metadata["nbgrader"].get("grade_id"), "; ".join(problems))
                cell.outputs.append(new_output(
                    "error", ename="HiddenTestFailed", evalue="; ".join(problems),
                    traceback=["HiddenTestFailed: the grader re-checked this cell's results "
                               "outside your notebook and they are not correct:"] + problems))
        return cell, resources
