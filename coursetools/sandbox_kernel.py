"""The sandboxed kernel's launcher: the command of the grading workers' kernel spec.

``python sandbox_kernel.py kernel --config sandbox.json -f CONNECTION_FILE`` prepares what the
kernel needs (its runtime folder and connection file readable by its uid, a seed of the files beside
the notebook, its memory file systems: :func:`coursetools.sandbox.private_filesystems`) and replaces
itself with the kernel inside the sandbox of :mod:`coursetools.sandbox`
(or, with ``--unsafe``, with the kernel under resource limits only).

Standard library only: it runs before every kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from coursetools.sandbox import Limits, private_filesystems, sandbox_argv, seccomp_fd
from coursetools.sandbox_uids import fresh_uid


@dataclass(frozen=True)
class LaunchConfig:
    """What the launcher needs besides the connection file (written as JSON by the worker)."""

    limits: Limits
    uid: int | None          # None: keep our uid (user namespace)
    runtime_dir: str         # jupyter runtime folder: connection file + IPC sockets (read-write)
    log_file: str            # the kernel's stdout/stderr (outside the sandbox)
    sandboxed: bool = True   # False: --unsafe (limits only, no isolation)
    fresh_uid: bool = False  # as root: a never-used uid for each kernel (sandbox_uids.fresh_uid), not ``uid``

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> LaunchConfig:
        data = json.loads(Path(path).read_text())
        data["limits"] = Limits(**data["limits"])
        return cls(**data)


def kernelspec(config_file: Path) -> dict:
    """A kernel.json whose kernel is launched by this file with ``config_file``."""
    return {"argv": [sys.executable, str(Path(__file__).resolve()), "kernel", "--config", str(config_file),
                     "-f", "{connection_file}"],
            "display_name": "Python 3 (sandboxed grading)", "language": "python",
            "interrupt_mode": "message", "metadata": {"debugger": False}}


def _exec_unsandboxed(kernel: list[str], limits: Limits) -> None:
    """--unsafe: the kernel under resource limits only, dying with the grading worker."""
    import ctypes
    import resource
    import signal

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    for which, value in ((resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_AS, limits.memory_mb * 2**20),
                         (resource.RLIMIT_FSIZE, limits.file_mb * 2**20), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    os.execv(kernel[0], kernel)


def _seed(cwd: Path, runtime_dir: str) -> Path | None:
    """A world-readable copy of the files beside the notebook (None: there are none)."""
    extra = [p for p in cwd.iterdir() if p.suffix != ".ipynb" and not p.name.startswith(".")
             and p.name != "timestamp.txt"]
    if not extra:
        return None
    seed = Path(runtime_dir).parent / "seed"  # one kernel at a time per worker
    if seed.exists():
        shutil.rmtree(seed)
    seed.mkdir(mode=0o755)
    for path in extra:
        if path.is_dir() and not path.is_symlink():
            shutil.copytree(path, seed / path.name, symlinks=True)
        elif path.is_file() and not path.is_symlink():
            shutil.copy(path, seed / path.name)
    for root, dirs, files in os.walk(seed):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return seed


def launch(config: LaunchConfig, connection_file: str) -> None:
    """Replace this process with the kernel (its output goes to ``config.log_file``)."""
    cwd = Path.cwd()
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    log = os.open(config.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    if not config.sandboxed:
        _exec_unsandboxed(kernel, config.limits)
    uid = fresh_uid() if config.fresh_uid else config.uid
    # Files the kernel needs, made readable by its uid.
    if uid is not None:
        os.chown(config.runtime_dir, uid, uid)
        os.chown(connection_file, uid, uid)
    seed = _seed(cwd, config.runtime_dir)
    # /tmp, /dev/shm and the working copy bounded in inodes as well as bytes, mounted in a mount
    # namespace of this process (and so of bwrap) only; where that cannot be done, bwrap's tmpfs.
    filesystems = Path(config.runtime_dir).parent / "fs"
    if not private_filesystems(filesystems, config.limits):
        filesystems = None
    argv = sandbox_argv(kernel, cwd=cwd, limits=config.limits, uid=uid,
                        writable=(Path(config.runtime_dir),), seed=seed, filesystems=filesystems,
                        seccomp=seccomp_fd())  # inherited through exec; bwrap reads it
    os.execv(argv[0], argv)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Launch a sandboxed ipykernel (used by kernel specs).")
    sub = parser.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kernel")
    k.add_argument("--config", required=True)
    k.add_argument("-f", dest="connection_file", required=True)
    # Extra kernel arguments (e.g. --HistoryManager.hist_file=:memory:) are ignored.
    args, _ = parser.parse_known_args(argv)
    launch(LaunchConfig.read(Path(args.config)), args.connection_file)


if __name__ == "__main__":
    main()
