"""``WarningsToStdout``: a Python warning is not a failure.

nbgrader scores a test cell 0 when it has any ``stderr`` output, and ``nbgrader validate`` reports
such a cell as failed. A correct answer can print a warning there (``torch.tensor(t)`` on a tensor
prints a ``UserWarning``), so this preprocessor, run right after ``Execute``, turns every ``stderr``
stream that holds only Python warnings into a ``stdout`` stream: the text stays visible in the
feedback, the points stay. A stream is "only warnings" when its first line is a warning header in the
format of :func:`warnings.formatwarning` (:data:`WARNING_HEADER`, e.g.
``/tmp/ipykernel_1/123.py:4: UserWarning: To copy construct from a tensor, ...``) and every other
non-blank line is another header or an indented line (the source line ``warnings`` shows under a
header). Anything else on ``stderr`` (a student's ``print(..., file=sys.stderr)``, a logging line)
still counts as before, and an exception is an ``error`` output, which this never touches.
"""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

#: One warning header line, as :func:`warnings.formatwarning` writes it: ``FILE:LINE: CategoryWarning: message``.
WARNING_HEADER = re.compile(r"^.*:\d+: (?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*Warning: ")


def only_warnings(text: str) -> bool:
    """Whether ``text`` (one stderr stream) consists of Python warnings only."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not WARNING_HEADER.match(lines[0]):
        return False
    return all(WARNING_HEADER.match(line) or line[:1] in (" ", "\t") for line in lines)


class WarningsToStdout(NbGraderPreprocessor):
    """Turn warning-only ``stderr`` streams of code cells into ``stdout`` streams."""

    enabled = Bool(True, help="Whether warnings on stderr are moved to stdout").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not self.enabled:
            return cell, resources
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                text = "".join(text) if isinstance(text, list) else str(text)
                if only_warnings(text):
                    out["name"] = "stdout"
        return cell, resources
