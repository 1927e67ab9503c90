"""Run a student's kernel in a bubblewrap sandbox, with CPU, memory and process limits.

Only the student's code is sandboxed: nbgrader, the gradebook and the hidden-test verifier run
outside, in the grading worker. The worker starts kernels through a kernel spec whose command is
this file (``python sandbox.py kernel --config sandbox.json -f {connection_file}``); that launcher
prepares the files the kernel needs and replaces itself with

    bwrap [namespaces, read-only system and Python, private /tmp and working copy]
      -- setpriv [unprivileged uid, no capabilities]          (only when grading as root)
      -- prlimit --cpu --as --nproc --fsize --core
      -- python -m ipykernel_launcher -f CONNECTION_FILE

What the kernel sees (everything else of the machine does not exist for it):

- read-only: /usr, /etc, /bin, /lib* (system), the Python installation and virtual environment,
  and the ``course_lib`` and ``course_grading`` packages (the data helpers and the harness);
- read-write: a private /tmp, /dev/shm and working directory (size-limited tmpfs; the working
  directory starts as a copy of the non-notebook files next to the notebook), and the jupyter
  runtime folder holding its connection file and IPC sockets;
- no network (own network namespace: only a loopback device); jupyter talks to it through IPC
  (Unix domain sockets), not TCP;
- own PID, IPC and UTS namespaces: it cannot see or signal the grader's processes, and every
  process it starts dies with it.

Limits (``prlimit``, per process, inherited by children): CPU seconds (RLIMIT_CPU), address space
(RLIMIT_AS), file size (RLIMIT_FSIZE), no core dumps, and the number of processes (RLIMIT_NPROC).
RLIMIT_NPROC is counted per real user id, and the kernel ignores it for root; so when grading runs as
root the kernel runs as an otherwise unused uid (``UID_BASE + worker slot``: each parallel worker has
its own, hence its own process budget). Grading as an ordinary user, bubblewrap puts the kernel in a
user namespace of its own, where the count is per sandbox.

This module imports only the standard library: the launcher runs before every kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

#: Where bubblewrap is looked up (tests point this at a missing file to see the refusal).
BWRAP_ENV = "COURSE_BWRAP"
#: First uid of the unprivileged users that kernels run as when grading as root.
UID_BASE = 1_900_000_000
#: Where the working-copy seed is mounted inside the sandbox.
SEED_MOUNT = "/run/course-seed"
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (each limit applies to every process it starts)."""

    cpu_seconds: int = 600      # RLIMIT_CPU: CPU time of a process (a busy loop dies of SIGXCPU)
    memory_mb: int = 4096       # RLIMIT_AS: address space of a process (allocations beyond fail)
    processes: int = 64         # RLIMIT_NPROC: processes + threads of the sandbox user
    file_mb: int = 64           # RLIMIT_FSIZE: largest file it may write
    tmp_mb: int = 256           # size of each tmpfs (/tmp and the working directory)

    def prlimit_args(self) -> list[str]:
        return [f"--cpu={self.cpu_seconds}", f"--as={self.memory_mb * 2**20}",
                f"--nproc={self.processes}", f"--fsize={self.file_mb * 2**20}", "--core=0"]


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/bin"]))


def bwrap_path() -> str | None:
    """The bubblewrap executable (``$COURSE_BWRAP`` or ``bwrap`` on PATH), or None."""
    configured = os.environ.get(BWRAP_ENV)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return _which("bwrap")


def running_as_root() -> bool:
    return os.geteuid() == 0


def kernel_uid(slot: int) -> int | None:
    """The uid a kernel of worker ``slot`` runs as: a private one under root, else ours (None)."""
    return UID_BASE + slot if running_as_root() else None


def _package_dir(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{name} is not importable from this Python")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def readonly_paths() -> list[Path]:
    """Host folders the kernel may read, besides the system folders: Python, venv, course_lib and
    the hidden-test harness that the test cells import."""
    candidates = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
                  Path(sys.executable).resolve().parent.parent,
                  _package_dir("course_lib"), _package_dir("course_grading")}
    if (REPO / "data").is_dir():  # public data sets (e.g. MNIST's IDX files), read-only
        candidates.add((REPO / "data").resolve())
    paths = []
    for path in sorted(candidates, key=lambda p: len(p.parts)):
        if any(path == Path(d) or Path(d) in path.parents for d in SYSTEM_DIRS if Path(d).is_dir()
               and not Path(d).is_symlink()):
            continue  # already visible through a system folder
        if any(p == path or p in path.parents for p in paths):
            continue
        paths.append(path)
    return paths


def _check_not_exposing(paths: list[Path], secret: list[Path]) -> None:
    for path in paths:
        for s in secret:
            s = s.resolve()
            if path == s or path in s.parents:
                raise RuntimeError(f"cannot sandbox: {path} (needed by the kernel's Python) contains {s}, "
                                   "which students must not see; install the virtual environment "
                                   "elsewhere (e.g. COURSE_VENV=~/.venvs/course)")


def sandbox_argv(command: list[str], *, cwd: Path, limits: Limits = Limits(), uid: int | None = None,
                 writable: tuple[Path, ...] = (), seed: Path | None = None,
                 secret: tuple[Path, ...] = ()) -> list[str]:
    """The bwrap command line running ``command`` sandboxed, in a private working copy at ``cwd``.

    ``writable``: host folders bound read-write at the same path (the jupyter runtime folder).
    ``seed``: host folder whose files are copied into the working copy before ``command`` starts.
    ``uid``: run as this unprivileged uid (needs root); None keeps ours, in a user namespace.
    ``secret``: paths that must not be visible (refuses if a read-only path contains one).
    """
    bwrap = bwrap_path()
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    readonly = readonly_paths()
    _check_not_exposing(readonly, [REPO / "solutions", *secret])
    argv = [bwrap, "--die-with-parent", "--new-session",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox"]
    if uid is None:
        argv += ["--unshare-user", "--disable-userns"]
    for d in SYSTEM_DIRS:
        p = Path(d)
        if p.is_symlink():
            argv += ["--symlink", os.readlink(p), d]
        elif p.is_dir():
            argv += ["--ro-bind", d, d]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    created: set[Path] = {Path("/")}

    def make_parents(path: Path) -> None:
        nonlocal argv
        for parent in reversed(path.parents):
            if parent not in created and str(parent) not in SYSTEM_DIRS:
                argv += ["--perms", "0755", "--dir", str(parent)]
                created.add(parent)

    size = str(limits.tmp_mb * 2**20)
    argv += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp"]
    argv += ["--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]  # POSIX semaphores (joblib, torch)
    created.add(Path("/tmp"))
    for path in readonly:
        make_parents(path)
        argv += ["--ro-bind", str(path), str(path)]
        created.add(path)
    for path in writable:
        path = Path(path)
        make_parents(path)
        argv += ["--bind", str(path), str(path)]
        created.add(path)
    cwd = Path(cwd)
    make_parents(cwd)
    argv += ["--perms", "0777", "--size", size, "--tmpfs", str(cwd), "--chdir", str(cwd)]
    if seed is not None:
        make_parents(Path(SEED_MOUNT))
        argv += ["--ro-bind", str(seed), SEED_MOUNT]
    venv_bin = str(Path(sys.executable).parent)
    env = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "USER": "student",
           "LOGNAME": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": "/tmp/.matplotlib", "PYTHONDONTWRITEBYTECODE": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    argv += ["--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--"]
    if uid is not None:
        argv += [_which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    argv += [_which("prlimit") or "prlimit", *limits.prlimit_args(), "--"]
    if seed is not None:
        argv += ["/bin/sh", "-c", f'cp -R {SEED_MOUNT}/. . && exec "$0" "$@"']
    return argv + list(command)


def run(command: list[str], *, cwd: Path, limits: Limits = Limits(), uid: int | None = None,
        timeout: float = 60, seed: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command`` in the sandbox and wait (``subprocess.run`` keyword arguments allowed)."""
    argv = sandbox_argv(command, cwd=cwd, limits=limits, uid=uid, seed=seed)
    return subprocess.run(argv, timeout=timeout, capture_output=True, text=True, **kwargs)


def _sandbox_tasks(outer_pid: int) -> dict[int, tuple[int, int]] | None:
    """{host pid: (pid inside the sandbox, number of threads)} of the live processes under the bwrap
    process ``outer_pid``; None if they have no PID namespace of their own (e.g. --unsafe)."""
    procs = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                          if ":" in line)
            procs[int(entry)] = (int(fields["PPid"]), fields["NSpid"].split(), fields["State"].split()[0],
                                 int(fields["Threads"]))
        except (OSError, KeyError, ValueError):
            continue
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found, todo, namespaced = {}, list(children.get(outer_pid, [])), False
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        _, nspid, state, threads = procs[pid]
        namespaced = namespaced or len(nspid) > 1
        if state != "Z":  # zombies wait for bwrap's init to reap them
            found[pid] = (int(nspid[-1]), threads)
    return found if namespaced else None


def reap_strays(outer_pid: int, limit: int, threshold: float = 0.75) -> int:
    """If the sandbox uses most of its process budget, kill every process but the kernel.

    bwrap's init is pid 1 inside the sandbox and the kernel pid 2; anything else was started by the
    student's code. Called after each cell: a fork bomb's children would otherwise keep the budget
    exhausted and leave the kernel unable to start a thread. Returns how many were killed.
    """
    import signal

    killed = 0
    for _ in range(10):
        tasks = _sandbox_tasks(outer_pid)
        if not tasks:
            return killed
        if killed == 0 and sum(n for _, n in tasks.values()) < threshold * limit:
            return 0
        strays = [pid for pid, (inner, _) in tasks.items() if inner > 2]
        if not strays:
            return killed
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.05)
    return killed


_PROBLEM: dict[str, str | None] = {}


def problem() -> str | None:
    """Why kernels cannot be sandboxed on this machine (None: they can). Checked once per process."""
    key = f"{bwrap_path()}:{os.geteuid()}"
    if key in _PROBLEM:
        return _PROBLEM[key]
    reason = None
    if bwrap_path() is None:
        reason = ("bubblewrap (bwrap) is not installed. Install it (Debian/Ubuntu: "
                  "sudo apt-get install bubblewrap) or, only if you trust every submission, pass --unsafe.")
    elif _which("prlimit") is None or (running_as_root() and _which("setpriv") is None):
        reason = "prlimit/setpriv (util-linux) are missing: install util-linux, or pass --unsafe."
    else:
        try:
            result = run(["/bin/true"], cwd=Path("/tmp/course-probe"), uid=kernel_uid(0), timeout=30)
            if result.returncode != 0:
                reason = (f"bubblewrap cannot create a sandbox on this machine ({result.stderr.strip()}). "
                          "Unprivileged user namespaces may be disabled (sysctl "
                          "kernel.unprivileged_userns_clone=1, or an AppArmor profile for bwrap); "
                          "run the grading as root, or pass --unsafe.")
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as err:
            reason = f"bubblewrap cannot create a sandbox on this machine: {err}"
    _PROBLEM[key] = reason
    return reason


# ----------------------------------------------------------------------------------------------
# The kernel launcher (a kernel spec's argv).

@dataclass(frozen=True)
class LaunchConfig:
    """What the launcher needs besides the connection file (written as JSON by the worker)."""

    limits: Limits
    uid: int | None          # None: keep our uid (user namespace)
    runtime_dir: str         # jupyter runtime folder: connection file + IPC sockets (read-write)
    log_file: str            # the kernel's stdout/stderr (outside the sandbox)
    sandboxed: bool = True   # False: --unsafe (limits only, no isolation)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> "LaunchConfig":
        data = json.loads(Path(path).read_text())
        data["limits"] = Limits(**data["limits"])
        return cls(**data)


def kernelspec(config_file: Path) -> dict:
    """A kernel.json whose kernel is launched by this file with ``config_file``."""
    return {"argv": [sys.executable, str(Path(__file__).resolve()), "kernel", "--config", str(config_file),
                     "-f", "{connection_file}"],
            "display_name": "Python 3 (sandboxed grading)", "language": "python",
            "interrupt_mode": "message", "metadata": {"debugger": False}}


def _launch(config: LaunchConfig, connection_file: str) -> None:
    cwd = Path.cwd()
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    log = os.open(config.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    if not config.sandboxed:
        import ctypes
        import resource
        import signal

        # Die with the grading worker even without bubblewrap (PR_SET_PDEATHSIG = 1).
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)

        lim = config.limits
        for which, value in ((resource.RLIMIT_CPU, lim.cpu_seconds), (resource.RLIMIT_AS, lim.memory_mb * 2**20),
                             (resource.RLIMIT_FSIZE, lim.file_mb * 2**20), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(which, (value, value))
        os.execv(kernel[0], kernel)
    # Files the kernel needs, made readable by its uid.
    if config.uid is not None:
        os.chown(config.runtime_dir, config.uid, config.uid)
        os.chown(connection_file, config.uid, config.uid)
    seed = None
    extra = [p for p in cwd.iterdir() if p.suffix != ".ipynb" and not p.name.startswith(".")
             and p.name != "timestamp.txt"]
    if extra:
        seed = Path(config.runtime_dir).parent / "seed"  # one kernel at a time per worker
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
    argv = sandbox_argv(kernel, cwd=cwd, limits=config.limits, uid=config.uid,
                        writable=(Path(config.runtime_dir),), seed=seed)
    os.execv(argv[0], argv)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Launch a sandboxed ipykernel (used by kernel specs).")
    sub = parser.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kernel")
    k.add_argument("--config", required=True)
    k.add_argument("-f", dest="connection_file", required=True)
    # Extra kernel arguments (e.g. --HistoryManager.hist_file=:memory:) are ignored.
    sub.add_parser("check", help="say whether kernels can be sandboxed here")
    args, _ = parser.parse_known_args(argv)
    if args.cmd == "kernel":
        _launch(LaunchConfig.read(Path(args.config)), args.connection_file)
    else:
        reason = problem()
        print(reason or "ok: kernels will run in a bubblewrap sandbox")
        sys.exit(1 if reason else 0)


if __name__ == "__main__":
    main()
