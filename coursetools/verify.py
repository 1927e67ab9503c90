"""Re-judge hidden-test records outside the student's kernel (used by the preprocessor
:class:`coursetools.preprocessors.VerifyHiddenChecks`).

The preprocessor runs right after nbgrader's ``Execute`` (see ``nbgrader_config.py``). For each
grade cell whose source -- restored by nbgrader from the gradebook, so the student cannot edit it --
calls ``check("topic.func", ...)``, it looks for the record that :func:`course_grading.check`
published in that cell's outputs and judges it again here, in nbgrader's process, with freshly
built inputs. A missing, malformed or wrong record turns into an error output, which nbgrader
scores as zero for the cell. The kernel cannot reach this process, so patched comparison
functions, silenced tracebacks or a patched harness earn nothing.
"""

from __future__ import annotations

import re

from course_grading import MIME, verify_record

CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([A-Za-z_][\w]*\.[A-Za-z_]\w*)["']""")


def required_checks(source: str) -> list[str]:
    """Names of the hidden checks a test cell's source calls, in order."""
    return CHECK_CALL.findall(source)


def verify_cell(cell) -> list[str]:
    """Problems with the records of one executed grade cell (empty list: all verified)."""
    problems = []
    records = [out["data"][MIME] for out in cell.get("outputs", [])
               if out.get("output_type") in ("display_data", "execute_result")
               and MIME in out.get("data", {})]
    for name in required_checks(cell.source):
        candidates = [r for r in records if isinstance(r, dict) and r.get("name") == name]
        if not candidates:
            problems.append(f"{name}: no result of the hidden test reached the grader")
            continue
        try:
            # Every record claiming this name must hold correct numbers.
            for record in candidates:
                verify_record(record)
        except Exception as err:  # noqa: BLE001 - any failure of untrusted data is a failed test
            problems.append(f"{name}: {err}")
    return problems
