"""Run a student's kernel in a bubblewrap sandbox, with CPU, memory and process limits.

Only the student's code is sandboxed: nbgrader, the gradebook and the hidden-test verifier run
outside, in the grading worker. The worker starts kernels through a kernel spec whose command is
:mod:`coursetools.sandbox_kernel` (``python sandbox_kernel.py kernel --config sandbox.json -f
{connection_file}``); that launcher prepares the files the kernel needs, mounts its memory file
systems in a mount namespace of its own (:func:`private_filesystems`), and replaces itself with

    bwrap [namespaces, read-only system and Python, private /tmp and working copy]
      -- setpriv [unprivileged uid, no capabilities]          (only when grading as root)
      -- prlimit --cpu --as --nproc --fsize --core
      -- python -m ipykernel_launcher -f CONNECTION_FILE

What the kernel sees (everything else of the machine does not exist for it):

- read-only: /usr, /etc, /bin, /lib* (system), the Python installation and virtual environment,
  and the ``course_lib`` and ``course_grading`` packages (the data helpers and the harness);
- read-write: a private /tmp, /dev/shm and working directory (three tmpfs, see below; the working
  directory starts as a copy of the non-notebook files next to the notebook), and the jupyter
  runtime folder holding its connection file and IPC sockets;
- no network (own network namespace: only a loopback device); jupyter talks to it through IPC
  (Unix domain sockets), not TCP;
- own PID, IPC and UTS namespaces: it cannot see or signal the grader's processes, and every
  process it starts dies with it;
- a seccomp filter (:func:`seccomp_program`, x86-64 and arm64) that answers EPERM to the kernel
  keyring calls (``add_key``, ``request_key``, ``keyctl``: a keyring outlives the sandbox, so a
  kernel could leave answers there for a later one) and to a few kernel interfaces a notebook never
  needs (``bpf``, ``userfaultfd``, ``perf_event_open``, ``io_uring_setup``), and to every call of a
  foreign ABI (32-bit, x32).

Limits (``prlimit``, per process, inherited by children): CPU seconds (RLIMIT_CPU), address space
(RLIMIT_AS), file size (RLIMIT_FSIZE), no core dumps, and the number of processes (RLIMIT_NPROC).
RLIMIT_NPROC is counted per real user id, and the kernel ignores it for root; so when grading runs as
root each kernel runs as a uid no other kernel on the machine has had since boot (:func:`fresh_uid`:
its own process budget, and nothing another kernel left under its uid -- a keyring -- to read).
Grading as an ordinary user, bubblewrap puts the kernel in a user namespace of its own, where the
count is per sandbox.

Memory file systems (/tmp, /dev/shm, the working directory; each a tmpfs of its own, gone with the
kernel): each holds at most ``Limits.tmp_mb`` bytes of file data and, where
:func:`private_filesystems` can mount it, at most ``Limits.tmp_inodes`` inodes (files, folders,
links: each costs about 1 KB of kernel memory that no byte count sees, so 100,000 empty files
would cost about 100 MB). Bubblewrap's own ``--tmpfs --size`` cannot bound inodes, so the launcher
mounts them itself before it execs bwrap. As root that always works where bubblewrap does. As an
ordinary user it needs a user namespace created by Python (not by bwrap); where the machine allows
that only to bwrap (Ubuntu 24.04's AppArmor restriction, a setuid bwrap), the kernel gets
bubblewrap's tmpfs, bounded in bytes only: grading never fails for it.

This module imports only the standard library: the launcher runs before every kernel.
Killing what a cell left behind is in :mod:`coursetools.sandbox_reap`.
"""

from __future__ import annotations

import os
import platform
import shutil
import stat
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .layout import REPO, SOURCE
from .sandbox_uids import UID_BASE

#: Where bubblewrap is looked up (tests point this at a missing file to see the refusal).
BWRAP_ENV = "COURSE_BWRAP"
#: Where the working-copy seed is mounted inside the sandbox.
SEED_MOUNT = "/run/course-seed"
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (each limit applies to every process it starts)."""

    cpu_seconds: int = 600      # RLIMIT_CPU: CPU time of a process (a busy loop dies of SIGXCPU)
    memory_mb: int = 4096       # RLIMIT_AS: address space of a process (allocations beyond fail)
    processes: int = 64         # RLIMIT_NPROC: processes + threads of the sandbox user
    file_mb: int = 64           # RLIMIT_FSIZE: largest file it may write
    tmp_mb: int = 256           # size of each tmpfs (/tmp, /dev/shm and the working directory)
    tmp_inodes: int = 10_000    # files + folders + links of each tmpfs (where it can be bounded: private_filesystems)

    def prlimit_args(self) -> list[str]:
        return [f"--cpu={self.cpu_seconds}", f"--as={self.memory_mb * 2**20}",
                f"--nproc={self.processes}", f"--fsize={self.file_mb * 2**20}", "--core=0"]


#: Per machine: the seccomp audit architecture and the numbers of the system calls refused (EPERM).
DENIED_SYSCALLS = {
    "x86_64": (0xC000003E, {"add_key": 248, "request_key": 249, "keyctl": 250, "perf_event_open": 298,
                            "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425}),
    "aarch64": (0xC00000B7, {"add_key": 217, "request_key": 218, "keyctl": 219, "perf_event_open": 241,
                             "bpf": 280, "userfaultfd": 282, "io_uring_setup": 425}),
}
_X32_BIT = 0x40000000  # x86-64's x32 ABI marks its system call numbers with this bit


def seccomp_program(machine: str | None = None) -> bytes | None:
    """The classic-BPF seccomp program bubblewrap installs before the kernel starts (``--seccomp``):
    EPERM for :data:`DENIED_SYSCALLS` and for any other ABI, everything else allowed. None on a
    machine without a table (the kernel then runs without a filter)."""
    machine = machine or platform.machine()
    if machine not in DENIED_SYSCALLS:
        return None
    arch, numbers = DENIED_SYSCALLS[machine]
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06          # BPF_LD|W|ABS, BPF_JMP|JEQ|K, JMP|JGE|K, RET|K
    allow, eperm = 0x7FFF0000, 0x00050000 | 1             # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    denied = sorted(numbers.values())
    n = 3 + len(denied)                                    # instructions after the arch check before "deny"
    program = [(load, 0, 0, 4),                            # A = seccomp_data.arch
               (jeq, 0, n, arch),                           # foreign ABI -> deny
               (load, 0, 0, 0),                            # A = seccomp_data.nr
               (jge, len(denied) + 1, 0, _X32_BIT)]        # x32 -> deny
    program += [(jeq, len(denied) - i, 0, nr) for i, nr in enumerate(denied)]  # listed -> deny
    program += [(ret, 0, 0, allow), (ret, 0, 0, eperm)]
    return b"".join(struct.pack("=HBBI", *insn) for insn in program)


def seccomp_fd() -> int | None:
    """A readable, inheritable file descriptor holding :func:`seccomp_program` for ``bwrap --seccomp``
    (the caller closes it once bwrap has started); None where there is no program."""
    program = seccomp_program()
    if program is None:
        return None
    read, write = os.pipe()
    os.write(write, program)  # a few dozen bytes: fits in the pipe's buffer
    os.close(write)
    os.set_inheritable(read, True)
    return read


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
    """The uid a kernel of worker ``slot`` runs as: a private one under root, else ours (None).

    Grading kernels use :func:`fresh_uid` instead (a new uid per kernel); this one is for probes.
    """
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


class _Mounts:
    """bwrap arguments that mount folders, creating each one's parent folders once."""

    def __init__(self) -> None:
        self.argv: list[str] = []
        self.created: set[Path] = {Path("/")}

    def parents(self, path: Path) -> None:
        for parent in reversed(path.parents):
            if parent not in self.created and str(parent) not in SYSTEM_DIRS:
                self.argv += ["--perms", "0755", "--dir", str(parent)]
                self.created.add(parent)

    def bind(self, option: str, path: Path) -> None:
        self.parents(path)
        self.argv += [option, str(path), str(path)]
        self.created.add(path)


#: The kernel's memory file systems: where each is mounted in the sandbox (WORKDIR: at its working
#: directory), the folder of :func:`private_filesystems`' ``base`` holding it, and its mode.
WORKDIR = "<working directory>"
PRIVATE_FS = {"/tmp": "tmp", "/dev/shm": "shm", WORKDIR: "work"}
_FS_MODES = {"/tmp": 0o1777, "/dev/shm": 0o1777, WORKDIR: 0o777}
# <sched.h>, <sys/mount.h>
_CLONE_NEWNS, _CLONE_NEWUSER = 0x00020000, 0x10000000
_MS_NOSUID, _MS_NODEV, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000


def _libc(name: str, *args) -> None:
    import ctypes

    function = getattr(ctypes.CDLL(None, use_errno=True), name)
    if function(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def _enter_private_filesystems(base: Path, limits: Limits) -> None:
    """This process (and what it executes) enters a new mount namespace holding the tmpfs of
    :func:`private_filesystems`; not as root, a new user namespace too, mapping only our uid and
    gid (the capabilities it gives end at the next exec). OSError where a step fails."""
    import ctypes

    root = running_as_root()
    uid, gid = os.geteuid(), os.getegid()
    _libc("unshare", _CLONE_NEWNS | (0 if root else _CLONE_NEWUSER))
    if not root:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    flags = ctypes.c_ulong(_MS_NOSUID | _MS_NODEV)
    _libc("mount", b"none", b"/", None, ctypes.c_ulong(_MS_REC | _MS_PRIVATE), None)  # nothing reaches the host
    # A tiny tmpfs over ``base`` holds the mount points: the host's ``base`` stays empty.
    _libc("mount", b"tmpfs", bytes(base), b"tmpfs", flags, b"size=64k,nr_inodes=16,mode=0700")
    for dest, name in PRIVATE_FS.items():
        (base / name).mkdir()
        options = f"size={limits.tmp_mb * 2**20},nr_inodes={limits.tmp_inodes},mode={_FS_MODES[dest]:o}"
        _libc("mount", b"tmpfs", bytes(base / name), b"tmpfs", flags, options.encode())


def _works_in_a_child(base: Path, limits: Limits) -> bool:
    """Whether :func:`_enter_private_filesystems` succeeds, tried in a child process (which exits)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _enter_private_filesystems(base, limits)
            code = 0
        except BaseException:
            pass
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def _setuid_bwrap() -> bool:
    bwrap = bwrap_path()
    return bwrap is None or bool(os.stat(bwrap).st_mode & stat.S_ISUID)


def private_filesystems(base: Path, limits: Limits) -> bool:
    """Mount the kernel's /tmp, /dev/shm and working directory, each a tmpfs of ``limits.tmp_mb``
    bytes *and* ``limits.tmp_inodes`` inodes, at ``base``/tmp, shm, work, for :func:`sandbox_argv`'s
    ``filesystems`` (bubblewrap's ``--size`` bounds bytes only, and a tmpfs's inodes cost kernel
    memory: about 1 KB each). Call it in the process that then execs bwrap.

    The mounts are in a mount namespace of this process alone (made private: the host and other
    processes never see them; ``base`` must exist and stays empty there); they go away when its last
    process -- bwrap, the kernel -- ends. As root this always works where bubblewrap does. Not as
    root it needs a user namespace of our own (tried first in a child process, so that a refusal
    leaves this one as it was): machines that allow only bwrap to create one (Ubuntu 24.04's
    AppArmor restriction, a setuid bwrap) refuse it.

    False (nothing the sandbox relies on changed: use bubblewrap's own tmpfs) where it cannot be done.
    """
    base.mkdir(mode=0o700, exist_ok=True)
    if not running_as_root() and (_setuid_bwrap() or not _works_in_a_child(base, limits)):
        return False
    try:
        _enter_private_filesystems(base, limits)
    except OSError:
        return False  # as root, a failed step leaves a private copy of the host's mounts: harmless
    return True


def _system_args() -> list[str]:
    """The system folders, read-only (symbolic links such as /lib -> usr/lib kept as links)."""
    argv = []
    for d in SYSTEM_DIRS:
        p = Path(d)
        if p.is_symlink():
            argv += ["--symlink", os.readlink(p), d]
        elif p.is_dir():
            argv += ["--ro-bind", d, d]
    return argv + ["--proc", "/proc", "--dev", "/dev"]


def _mount_args(readonly: list[Path], writable: tuple[Path, ...], cwd: Path, seed: Path | None,
                limits: Limits, filesystems: Path | None = None) -> list[str]:
    """Private /tmp, /dev/shm and working copy (tmpfs); the read-only and read-write binds.

    ``filesystems``: the folder where :func:`private_filesystems` mounted them (bounded in bytes and
    inodes); None: bubblewrap's own tmpfs (bounded in bytes only).
    """
    m = _Mounts()

    def memory_fs(name: str, dest: str) -> list[str]:
        """Mount the memory file system ``name`` (a key of PRIVATE_FS) at ``dest``."""
        if filesystems is not None:
            return ["--bind", str(filesystems / PRIVATE_FS[name]), dest]
        return ["--perms", f"{_FS_MODES[name]:04o}", "--size", str(limits.tmp_mb * 2**20), "--tmpfs", dest]

    m.argv += memory_fs("/tmp", "/tmp")
    m.argv += memory_fs("/dev/shm", "/dev/shm")  # POSIX semaphores (joblib, torch)
    m.created.add(Path("/tmp"))
    for path in readonly:
        m.bind("--ro-bind", path)
    for path in writable:
        m.bind("--bind", Path(path))
    m.parents(cwd)
    m.argv += memory_fs(WORKDIR, str(cwd)) + ["--chdir", str(cwd)]
    if seed is not None:
        m.parents(Path(SEED_MOUNT))
        m.argv += ["--ro-bind", str(seed), SEED_MOUNT]
    return m.argv


def _env_args() -> list[str]:
    venv_bin = str(Path(sys.executable).parent)
    env = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "USER": "student",
           "LOGNAME": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": "/tmp/.matplotlib", "PYTHONDONTWRITEBYTECODE": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    argv = ["--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv


def _inner_args(limits: Limits, uid: int | None, seed: Path | None) -> list[str]:
    """What runs inside bwrap before the command: setpriv (as root), prlimit, the seed copy."""
    argv = []
    if uid is not None:
        argv += [_which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    argv += [_which("prlimit") or "prlimit", *limits.prlimit_args(), "--"]
    if seed is not None:
        argv += ["/bin/sh", "-c", f'cp -R {SEED_MOUNT}/. . && exec "$0" "$@"']
    return argv


def sandbox_argv(command: list[str], *, cwd: Path, limits: Limits = Limits(), uid: int | None = None,
                 writable: tuple[Path, ...] = (), seed: Path | None = None,
                 secret: tuple[Path, ...] = (), seccomp: int | None,
                 filesystems: Path | None = None) -> list[str]:
    """The bwrap command line running ``command`` sandboxed, in a private working copy at ``cwd``.

    ``seccomp``: the file descriptor from :func:`seccomp_fd` (inherited by bwrap; None: no filter).

    ``writable``: host folders bound read-write at the same path (the jupyter runtime folder).
    ``seed``: host folder whose files are copied into the working copy before ``command`` starts.
    ``uid``: run as this unprivileged uid (needs root); None keeps ours, in a user namespace.
    ``secret``: paths that must not be visible (refuses if a read-only path contains one).
    ``filesystems``: where :func:`private_filesystems` mounted the memory file systems (None:
    bubblewrap's tmpfs, bounded in bytes only).
    """
    bwrap = bwrap_path()
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    readonly = readonly_paths()
    _check_not_exposing(readonly, [REPO / SOURCE, *secret])
    argv = [bwrap, "--die-with-parent", "--new-session",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox"]
    if uid is None:
        argv += ["--unshare-user", "--disable-userns"]
    if seccomp is not None:
        argv += ["--seccomp", str(seccomp)]
    argv += _system_args() + _mount_args(readonly, writable, Path(cwd), seed, limits, filesystems) + _env_args()
    return argv + ["--"] + _inner_args(limits, uid, seed) + list(command)


def run(command: list[str], *, cwd: Path, limits: Limits = Limits(), uid: int | None = None,
        timeout: float = 60, seed: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command`` in the sandbox and wait (``subprocess.run`` keyword arguments allowed).

    Its memory file systems are bounded in inodes too where :func:`private_filesystems` can be done
    (here in the child, before it execs bwrap); elsewhere they are bubblewrap's tmpfs.
    """
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="course-fs-"))  # stays empty: the mounts are the child's
    fd = seccomp_fd()

    def sandboxed(filesystems: Path | None) -> subprocess.CompletedProcess:
        argv = sandbox_argv(command, cwd=cwd, limits=limits, uid=uid, seed=seed, seccomp=fd,
                            filesystems=filesystems)
        enter = None if filesystems is None else (lambda: _enter_private_filesystems(filesystems, limits))
        return subprocess.run(argv, timeout=timeout, capture_output=True, text=True,
                              pass_fds=() if fd is None else (fd,), preexec_fn=enter, **kwargs)

    try:
        try:
            return sandboxed(base if running_as_root() or not _setuid_bwrap() else None)
        except subprocess.SubprocessError as err:
            if type(err) is not subprocess.SubprocessError:  # (timeout, check=True): not the mounts
                raise
            return sandboxed(None)  # the mounts failed in the child, before bwrap started
    finally:
        if fd is not None:
            os.close(fd)
        base.rmdir()


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


def main(argv: list[str] | None = None) -> None:
    """``python -m coursetools.sandbox check``: say whether kernels can be sandboxed here."""
    import argparse

    parser = argparse.ArgumentParser(description="Check the grading sandbox of this machine.")
    parser.add_argument("cmd", choices=["check"], help="say whether kernels can be sandboxed here")
    parser.parse_args(argv)
    reason = problem()
    print(reason or "ok: kernels will run in a bubblewrap sandbox")
    sys.exit(1 if reason else 0)


if __name__ == "__main__":
    main()
