"""``GuardGradeCells``: only a clean run earns a test cell's points.

Caps the size of every output (a student printing 100 MB) and turns ``execute_result`` outputs of
test cells into plain displays: nbgrader would read a number there as partial credit, and code in
the notebook can make the kernel emit one.
"""

from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer


class GuardGradeCells(NbGraderPreprocessor):
    """Cap output sizes; in test cells turn ``execute_result`` outputs into ``display_data``."""

    max_chars = Integer(20_000, help="longest text kept from one output").tag(config=True)
    max_outputs = Integer(100, help="most outputs kept per cell").tag(config=True)

    def _cap_text(self, text):
        if isinstance(text, list):
            text = "".join(str(t) for t in text)
        if not isinstance(text, str):
            text = str(text)
        if len(text) > self.max_chars:
            return text[: self.max_chars] + f"\n... [output truncated by the grader: {len(text)} characters]"
        return text

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        is_test = utils.is_grade(cell) and not utils.is_solution(cell)
        outputs = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                out["text"] = self._cap_text(out.get("text", ""))
            elif kind == "error":
                out["evalue"] = self._cap_text(out.get("evalue", ""))
                tb = [self._cap_text(line) for line in out.get("traceback", [])]
                out["traceback"] = tb[:50] + (["... [traceback truncated]"] + tb[-10:] if len(tb) > 60 else tb[50:])
            elif kind in ("execute_result", "display_data", "update_display_data"):
                data = out.get("data", {})
                for mime, value in list(data.items()):
                    if isinstance(value, (str, list)) and len("".join(value) if isinstance(value, list) else value) > self.max_chars:
                        data[mime] = self._cap_text(value) if mime.startswith("text/") else None
                        if data[mime] is None:
                            del data[mime]
                            data.setdefault("text/plain", f"[{mime} output removed by the grader: too large]")
                if kind == "execute_result" and is_test:
                    out = new_output("display_data", data=data, metadata=out.get("metadata", {}))
            outputs.append(out)
        if len(outputs) > self.max_outputs:
            errors = [o for o in outputs[self.max_outputs:] if o.get("output_type") == "error"]
            outputs = outputs[: self.max_outputs] + [new_output(
                "stream", name="stdout", text=f"... [{len(outputs) - self.max_outputs} more outputs removed by the grader]\n")] + errors
        cell.outputs = outputs
        return cell, resources
