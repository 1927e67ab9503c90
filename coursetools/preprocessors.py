"""nbgrader preprocessors added for sandboxed grading (see :func:`harden`).

- :class:`SandboxedExecute`: nbgrader's ``Execute`` that survives the death of the kernel (memory or
  CPU limit, ``os._exit``, a crash) and a flood of output: the cell where it happened gets an error
  saying why, the cells after it are marked as not run, and grading goes on, so the cells that ran
  before keep their points.
- :class:`GuardGradeCells`: caps the size of every output (a student printing 100 MB) and turns
  ``execute_result`` outputs of test cells into plain displays, so that only a clean run earns a test
  cell's points (nbgrader would read a number there as partial credit, and code in the notebook can
  make the kernel emit one).
"""

from __future__ import annotations

import signal

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer

from .sandbox import reap_strays

SIGNALS = {signal.SIGXCPU: "it used up its CPU time limit",
           signal.SIGKILL: "it was killed (most likely it ran out of memory)",
           signal.SIGSEGV: "it crashed (segmentation fault; often memory exhausted in native code)",
           signal.SIGABRT: "it aborted (often an allocation that failed under the memory limit)",
           signal.SIGXFSZ: "it wrote a file larger than the limit",
           signal.SIGBUS: "it crashed (bus error)"}


def error_output(ename: str, message: str):
    return new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class SandboxedExecute(Execute):
    """``Execute`` that records a dead kernel or a stuck output in the notebook instead of failing,
    and kills what a cell left behind when it exhausted the sandbox's process limit."""

    process_limit = Integer(0, help="the sandbox's RLIMIT_NPROC (0: do not reap)").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._death = None
        self._timeouts_in_a_row = 0
        return super().preprocess(nb, resources, km)

    def _why_dead(self) -> str:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "the kernel stopped responding"
        # bubblewrap reports a child killed by signal N as exit status 128 + N.
        sig = -code if code < 0 else code - 128 if code > 128 else None
        if sig in SIGNALS:
            return f"the kernel died: {SIGNALS[sig]}"
        return f"the kernel exited with status {code} (sys.exit/os._exit, or a crash)"

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        if self._death:
            cell.outputs = [error_output("KernelDied", f"not run: {self._death}")]
            return cell, self.resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            self._reap(cell)
            timed_out = any(o.get("ename") == "CellTimeoutError" for o in cell.outputs)
            self._count_timeout(timed_out)
            return cell, resources
        except DeadKernelError:
            self._death = self._why_dead()
            self.log.warning("cell %d: %s", index, self._death)
            cell.outputs.append(error_output("KernelDied", f"{self._death} while running this cell"))
            return cell, self.resources
        except CellTimeoutError as err:
            self.log.warning("cell %d: %s", index, err)
            cell.outputs.append(error_output("CellTimeoutError", "the cell's output did not finish in time "
                                             "(it printed too much, or kept printing after the cell ended)"))
            self._count_timeout(True)
            return cell, self.resources

    def _reap(self, cell) -> None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if not self.process_limit or process is None:
            return
        killed = reap_strays(process.pid, self.process_limit)
        if killed:
            self.log.warning("killed %d processes left behind", killed)
            cell.outputs.append(new_output("stream", name="stdout", text=(
                f"[grader] this cell used up the process limit ({self.process_limit}); "
                f"{killed} processes it left behind were killed\n")))

    def _count_timeout(self, timed_out: bool) -> None:
        """Two cells in a row that time out: the kernel is stuck (interrupts ignored, no threads
        left...); the remaining cells are not run rather than each waiting for its timeout."""
        self._timeouts_in_a_row = self._timeouts_in_a_row + 1 if timed_out else 0
        if self._timeouts_in_a_row >= 2:
            self._death = "the kernel stopped responding (two cells in a row timed out)"


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


def harden(preprocessors: list) -> list:
    """The course's autograde preprocessors with ``Execute`` made robust and the guard added.

    ``GuardGradeCells`` goes right after the hidden-test verifier (or after ``Execute``).
    """
    out = [SandboxedExecute if p is Execute else p for p in preprocessors]
    if SandboxedExecute not in out:
        out.insert(0, SandboxedExecute)
    names = [getattr(p, "__name__", "") for p in out]
    anchor = names.index("VerifyHiddenChecks") if "VerifyHiddenChecks" in names else out.index(SandboxedExecute)
    out.insert(anchor + 1, GuardGradeCells)
    return out
