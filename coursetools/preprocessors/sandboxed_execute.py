"""``SandboxedExecute``: nbgrader's ``Execute`` that survives the death of the kernel.

A kernel killed by a limit of the sandbox (memory, CPU time), by ``os._exit`` or a crash, or one
flooding its output, no longer fails the whole submission: the cell where it happened gets an error
saying why, the cells after it are marked as not run, and grading goes on, so the cells that ran
before keep their points.
"""

from __future__ import annotations

import signal

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

from ..sandbox_reap import reap_strays

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
