"""Does the grading sandbox keep student code away from the course and within its limits?

Each test runs a few lines of Python inside ``coursetools.sandbox`` (bubblewrap + prlimit) and
looks at what it could see or do. Skipped, with the reason, where the sandbox cannot run here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from coursetools import sandbox, sandbox_kernel, sandbox_reap, sandbox_uids
from coursetools.layout import REPO, SOURCE

pytestmark = pytest.mark.skipif(sandbox.problem() is not None, reason=f"no sandbox here: {sandbox.problem()}")

PY = sys.executable


def run_py(code: str, tmp_path: Path, limits: sandbox.Limits = sandbox.Limits(), seed: Path | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` with the venv's Python in a sandbox whose working copy is ``tmp_path/work``."""
    return sandbox.run([PY, "-c", textwrap.dedent(code)], cwd=tmp_path / "work", limits=limits,
                       uid=sandbox.kernel_uid(0), seed=seed, timeout=timeout)


def test_only_python_course_lib_and_the_harness_are_visible(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    result = run_py(f"""
        import json, os, course_grading, course_lib
        paths = {{p: os.path.exists(p) for p in [{str(REPO / SOURCE)!r}, {str(REPO / 'coursetools')!r},
                 {str(REPO / 'nbgrader_config.py')!r}, {str(secret)!r}, '/root/.bashrc', '/home']}}
        print(json.dumps({{"visible": paths, "course_lib": course_lib.__file__,
                          "course_grading": course_grading.__file__, "uid": os.getuid()}}))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert not any(seen["visible"].values()), seen["visible"]
    assert seen["course_lib"].startswith(str(REPO / "course_lib"))
    assert seen["course_grading"].startswith(str(REPO / "course_grading"))
    if os.geteuid() == 0:
        assert seen["uid"] == sandbox.kernel_uid(0), "as root, the kernel must run as an unprivileged uid"


def test_writes_stay_in_the_private_working_copy(tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "data.txt").write_text("given")
    outside = tmp_path / "outside.txt"
    result = run_py(f"""
        import os
        print(open("data.txt").read())
        open("mine.txt", "w").write("written")
        for target in [{str(outside)!r}, "/usr/evil", "/etc/evil", {str(REPO / 'course_lib' / 'evil.py')!r}]:
            try:
                open(target, "w").write("x")
                print("WROTE", target)
            except OSError as err:
                print("refused", type(err).__name__)
    """, tmp_path, seed=seed)
    assert result.returncode == 0, result.stderr
    # The outside path may be written inside the sandbox (as an ordinary user, its folder is a mount
    # point's parent in the private /tmp, owned by that user): what matters is that the host's is not.
    wrote = [line for line in result.stdout.splitlines() if line.startswith("WROTE") and str(outside) not in line]
    assert "given" in result.stdout and not wrote, result.stdout
    assert not outside.exists() and not (REPO / "course_lib" / "evil.py").exists()
    assert not (tmp_path / "work" / "mine.txt").exists(), "the working copy must not persist on the host"


def test_posix_semaphores_work(tmp_path):
    """joblib and torch's DataLoader need /dev/shm; a warning there would fail a test cell."""
    result = run_py("import multiprocessing as mp; mp.Semaphore(); print('ok')", tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_no_network(tmp_path):
    result = run_py("""
        import socket
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=3)
            print("CONNECTED")
        except OSError as err:
            print("no network:", err)
        print(sorted(name for _, name in socket.if_nameindex()))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "CONNECTED" not in result.stdout and "no network" in result.stdout
    assert "['lo']" in result.stdout


def test_host_processes_are_invisible(tmp_path):
    result = run_py("import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))", tmp_path)
    assert result.returncode == 0, result.stderr
    pids = json.loads(result.stdout)
    assert max(pids) < 10, f"the sandbox sees host processes: {pids}"


def test_memory_limit_turns_a_huge_allocation_into_MemoryError(tmp_path):
    result = run_py("""
        import torch  # the course's kernels must still start under the limit
        try:
            hog = bytearray(8 * 2**30)
            print("ALLOCATED")
        except MemoryError:
            print("MemoryError")
    """, tmp_path, limits=sandbox.Limits(memory_mb=3072))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "MemoryError"


def test_cpu_limit_kills_a_busy_loop(tmp_path):
    start = time.monotonic()
    result = run_py("while True: pass", tmp_path, limits=sandbox.Limits(cpu_seconds=2), timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - start < 30


def test_fork_bomb_is_bounded_and_strays_can_be_reaped(tmp_path):
    limits = sandbox.Limits(processes=32)
    code = textwrap.dedent("""
        import os, sys, time
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(120)
                    os._exit(0)
                children += 1
        except OSError as err:
            print("stopped after", children, type(err).__name__, flush=True)
        time.sleep(120)
    """)
    argv = sandbox.sandbox_argv([PY, "-c", code], cwd=tmp_path / "work", limits=limits, uid=sandbox.kernel_uid(0),
                                seccomp=None)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("stopped after"), line
        assert int(line.split()[2]) < limits.processes
        killed = sandbox_reap.reap_strays(proc.pid, limits.processes)
        assert killed >= 1
        tasks = sandbox_reap._sandbox_tasks(proc.pid)
        assert sorted(inner for inner, _ in tasks.values()) == [1, 2], "only bwrap's init and the main process remain"
    finally:
        proc.kill()
        proc.wait()


def test_file_size_limit(tmp_path):
    result = run_py("""
        try:
            open("big", "wb").write(b"x" * (3 * 2**20))
            print("WROTE")
        except OSError as err:
            print("refused", err.errno)
    """, tmp_path, limits=sandbox.Limits(file_mb=1))
    assert result.returncode == 0, result.stderr
    assert "refused" in result.stdout


FILL_MEMORY_FS = """
    import errno, json, os
    found = {}
    for folder in ["/tmp", "/dev/shm", "."]:
        made = 0
        try:
            while made < %(most)d:
                with open(os.path.join(folder, f"f{made}"), "wb") as f:
                    f.write(b"x" * %(size)d)
                made += 1
            found[folder] = [made, None]
        except OSError as err:
            found[folder] = [made, errno.errorcode[err.errno]]
        found[folder].append(os.statvfs(folder).f_files)
    print(json.dumps(found))
"""


def _inodes_bounded_here() -> bool:
    """Whether this machine lets :func:`sandbox.private_filesystems` mount bounded tmpfs (always as root)."""
    if os.geteuid() == 0:
        return True
    import tempfile
    with tempfile.TemporaryDirectory() as base:
        return sandbox._works_in_a_child(Path(base), sandbox.Limits())


def _host_mounts() -> list[str]:
    return sorted(line.split(" - ")[0].split(" ", 4)[4] for line in open("/proc/self/mountinfo"))


def test_memory_file_systems_are_bounded_in_files(tmp_path):
    """Issue 17: an empty file costs no bytes but about 1 KB of kernel memory (its inode), so /tmp,
    /dev/shm and the working copy are bounded in files too (``Limits.tmp_inodes``): the kernel gets
    ENOSPC near the bound, not after 100,000 files. Where the bound cannot be set (not as root, on a
    machine that refuses us a user namespace) they are bubblewrap's tmpfs, bounded in bytes only."""
    if not _inodes_bounded_here():
        pytest.skip("this machine refuses a user namespace to us: bubblewrap's tmpfs (bytes only)")
    limits = sandbox.Limits()
    before = _host_mounts()
    result = run_py(FILL_MEMORY_FS % {"most": 3 * limits.tmp_inodes, "size": 0}, tmp_path, limits=limits)
    assert result.returncode == 0, result.stderr
    for folder, (made, error, inodes) in json.loads(result.stdout).items():
        assert error == "ENOSPC", (folder, made, error)
        assert limits.tmp_inodes - 50 <= made < limits.tmp_inodes, (folder, made)  # less bwrap's mount points
        assert inodes == limits.tmp_inodes, (folder, inodes)
    assert _host_mounts() == before, "the kernel's file systems must not be mounted on the host"
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())


def test_memory_file_systems_are_still_bounded_in_bytes(tmp_path):
    """1 MB files into 4 MB file systems: the fifth fails (ENOSPC), with or without the inode bound."""
    limits = sandbox.Limits(tmp_mb=4, tmp_inodes=100)
    result = run_py(FILL_MEMORY_FS % {"most": 100, "size": 2**20}, tmp_path, limits=limits)
    assert result.returncode == 0, result.stderr
    for folder, (made, error, _) in json.loads(result.stdout).items():
        assert error == "ENOSPC" and made <= limits.tmp_mb, (folder, made, error)


def test_a_seed_is_copied_into_the_bounded_working_copy(tmp_path):
    """The working copy is filled from the seed inside the sandbox, under the kernel's own bounds."""
    seed = tmp_path / "seed"
    (seed / "data").mkdir(parents=True)
    for i in range(20):
        (seed / "data" / f"{i}.csv").write_text(f"{i}\n")
    code = "import os, json; print(json.dumps([len(os.listdir('data')), os.statvfs('.').f_files]))"
    limits = sandbox.Limits(tmp_inodes=500)
    result = run_py(code, tmp_path, limits=limits, seed=seed)
    assert result.returncode == 0, result.stderr
    files, inodes = json.loads(result.stdout)
    assert files == 20
    if _inodes_bounded_here():
        assert inodes == limits.tmp_inodes
    too_small = run_py(code, tmp_path, limits=sandbox.Limits(tmp_inodes=10), seed=seed)
    if _inodes_bounded_here():
        assert too_small.returncode != 0 and "No space left" in too_small.stderr, too_small.stderr


def test_no_capabilities_and_no_new_privileges(tmp_path):
    result = run_py("""
        status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
        print(status["CapEff"].strip(), status["NoNewPrivs"].strip())
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    cap_eff, no_new_privs = result.stdout.split()
    assert int(cap_eff, 16) == 0
    if os.geteuid() == 0:
        assert no_new_privs == "1"


KEYRING_PROBE = """
    import ctypes, platform
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    # x86-64 / arm64 numbers from <asm/unistd.h>: add_key, keyctl
    ADD_KEY, KEYCTL = {"x86_64": (248, 250), "aarch64": (217, 219)}[platform.machine()]
    USER_KEYRING, KEYCTL_READ = ctypes.c_long(-4), 11
    key = libc.syscall(ADD_KEY, b"user", b"course-answer", b"42", ctypes.c_size_t(2), USER_KEYRING)
    added = (key, ctypes.get_errno())
    buf = ctypes.create_string_buffer(8)
    size = libc.syscall(KEYCTL, KEYCTL_READ, ctypes.c_long(key), buf, ctypes.c_size_t(8)) if key > 0 else -1
    print(added[0], added[1], buf.raw[:max(size, 0)].decode())
"""


@pytest.mark.skipif(sandbox.seccomp_program() is None, reason="no seccomp table for this machine")
def test_the_kernel_keyring_is_out_of_reach(tmp_path):
    """Keys outlive a sandbox (issue 17): in it, add_key and keyctl fail with EPERM, while the
    same lines outside it store and read a key (so the probe itself works)."""
    outside = subprocess.run([PY, "-c", textwrap.dedent(KEYRING_PROBE)], capture_output=True, text=True,
                             timeout=60)
    key, err, text = outside.stdout.split() + [""] * (3 - len(outside.stdout.split()))
    if int(key) < 0:
        pytest.skip(f"this machine refuses keyrings outside the sandbox too (errno {err})")
    assert text == "42"
    inside = run_py(KEYRING_PROBE, tmp_path)
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.split() == ["-1", "1"], "add_key must fail with EPERM (1)"


def test_a_foreign_abi_is_refused_entirely():
    """The filter's jumps land where they should: decoded, a listed call and an x32 call reach the
    EPERM return, an ordinary call the ALLOW return, and a foreign architecture EPERM."""
    import struct
    for machine in ("x86_64", "aarch64"):
        program = sandbox.seccomp_program(machine)
        insns = [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]

        def verdict(arch: int, nr: int) -> int:
            pc, acc = 0, 0
            while True:
                code, jt, jf, k = insns[pc]
                if code == 0x20:
                    acc = {0: nr, 4: arch}[k]
                    pc += 1
                elif code in (0x15, 0x35):
                    hit = acc == k if code == 0x15 else acc >= k
                    pc += 1 + (jt if hit else jf)
                else:
                    return k
        native = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}[machine]
        keyctl, openat = {"x86_64": (250, 257), "aarch64": (219, 56)}[machine]
        assert verdict(native, keyctl) == 0x00050001
        assert verdict(native, openat) == 0x7FFF0000
        assert verdict(native, 0x40000000 + openat) == 0x00050001
        assert verdict(0x40000003, openat) == 0x00050001  # i386
    assert sandbox.seccomp_program("riscv64") is None


def test_refuses_to_expose_the_course(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "readonly_paths", lambda: [REPO])
    with pytest.raises(RuntimeError, match="must not see"):
        sandbox.sandbox_argv(["true"], cwd=tmp_path / "work", seccomp=None)


def test_missing_bwrap_is_a_clear_refusal(monkeypatch, tmp_path):
    monkeypatch.setenv(sandbox.BWRAP_ENV, str(tmp_path / "no-bwrap-here"))
    reason = sandbox.problem()
    assert reason is not None and "bubblewrap" in reason and "--unsafe" in reason


def test_sandboxed_kernel_talks_over_ipc(tmp_path):
    """The kernel spec the graders use: a real ipykernel, sandboxed, reached through IPC sockets."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    runtime = tmp_path / "rt"
    runtime.mkdir()
    config = sandbox_kernel.LaunchConfig(limits=sandbox.Limits(), uid=sandbox.kernel_uid(0), runtime_dir=str(runtime),
                                  log_file=str(tmp_path / "kernel.log"))
    config.write(tmp_path / "sandbox.json")
    spec_dir = tmp_path / "kernels" / "sbx"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps(sandbox_kernel.kernelspec(tmp_path / "sandbox.json")))
    work = tmp_path / "nb"
    work.mkdir()
    outputs = []

    km = KernelManager(kernel_name="sbx", transport="ipc", ip=str(runtime / "k"),
                       connection_file=str(runtime / "k.json"),
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")]))
    km.start_kernel(cwd=str(work))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        reply = kc.execute_interactive(f"import os; print(os.getcwd(), os.path.exists({str(REPO / SOURCE)!r}), "
                                       "*(os.statvfs(p).f_files for p in ('/tmp', '/dev/shm', '.')))",
                                       timeout=60, output_hook=lambda msg: outputs.append(msg))
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    seen = text.split()
    assert seen[:2] == [str(work), "False"]
    if _inodes_bounded_here():  # the launcher mounted them: bounded in files too
        assert seen[2:] == [str(sandbox.Limits().tmp_inodes)] * 3, seen
    assert not any((tmp_path / "fs").iterdir()), "the launcher's mounts must stay off the host"



def test_fresh_uids_are_never_shared_even_by_concurrent_runs(tmp_path, monkeypatch):
    """Each kernel (as root) takes a uid from one flock'd counter: no two kernels of any runs share one."""
    counter = tmp_path / "next-uid"
    code = ("import os, sys; from coursetools import sandbox_uids; "
            "print(' '.join(str(sandbox_uids.fresh_uid()) for _ in range(50)))")
    env = {**os.environ, "COURSE_UID_COUNTER": str(counter)}
    procs = [subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
             for _ in range(4)]
    uids = [int(u) for p in procs for u in p.communicate(timeout=60)[0].split()]
    assert len(uids) == 200 == len(set(uids))
    assert min(uids) >= sandbox_uids.UID_BASE + sandbox_uids.UID_PROBES  # above the probes' kernel_uid(slot)
    counter.write_text("garbage")  # a damaged counter starts over above the probe uids
    monkeypatch.setattr(sandbox_uids, "UID_COUNTER", counter)
    assert sandbox_uids.fresh_uid() == sandbox_uids.UID_BASE + sandbox_uids.UID_PROBES
