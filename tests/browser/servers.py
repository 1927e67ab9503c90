"""Start and stop the servers the browser tests talk to: JupyterLab and Voila.

Each server runs in its own process session on 127.0.0.1, on a free port, with a random token,
with throwaway Jupyter config/data/runtime/settings directories, so the tests neither read nor
write the user's Jupyter setup.  ``stop`` ends the server *and* every process it started (Jupyter
starts kernels in sessions of their own, so killing the server's process group is not enough).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

VENV_BIN = Path(sys.executable).parent

# Settings a fresh JupyterLab would otherwise pop up or fetch: no news/update toasts, every cell
# rendered (no windowing, so a widget below the fold is in the DOM), no autosave checkpoints.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running server: its process, base URL, token, and the log file of its output."""

    name: str
    proc: subprocess.Popen
    url: str
    token: str
    log_path: Path
    children: dict[int, psutil.Process] = field(default_factory=dict)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def remember_children(self) -> None:
        """Record the server's descendants (kernels) so ``stop`` can end them even if it dies first."""
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.children.setdefault(child.pid, child)
        except psutil.Error:
            pass


def jupyter_env(home: Path) -> dict[str, str]:
    """Environment with every Jupyter directory inside ``home`` (a temporary directory)."""
    env = dict(os.environ)
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTERLAB_SETTINGS_DIR": home / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "lab-workspaces",
        "IPYTHONDIR": home / "ipython",
        "MPLCONFIGDIR": home / "matplotlib",
    }
    for key, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[key] = str(path)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    for name, settings in LAB_SETTINGS.items():
        path = dirs["JUPYTERLAB_SETTINGS_DIR"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    return env


def _wait_until_up(server: Server, probe: str, timeout: float, any_answer: bool = False) -> None:
    """Poll ``probe`` until it answers 200 (or, with ``any_answer``, any HTTP status)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with code {server.proc.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(probe, timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as err:
            if any_answer:
                return
            last = repr(err)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as err:
            last = repr(err)
        time.sleep(0.25)
    stop(server)
    raise RuntimeError(f"{server.name} did not answer {probe} within {timeout:.0f} s ({last}):\n{server.log_tail()}")


def _spawn(name: str, argv: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "wb")
    try:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        log.close()


def root_flags() -> list[str]:
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def start_lab(root: Path, home: Path, timeout: float = 90.0) -> Server:
    """JupyterLab serving ``root`` on 127.0.0.1 with a random token; ``window.jupyterapp`` exposed."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [str(VENV_BIN / "jupyter"), "lab", f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # if the test process is killed before it can stop them, kernels and server end by themselves
            "--MappingKernelManager.cull_idle_timeout=900", "--MappingKernelManager.cull_interval=60",
            "--ServerApp.shutdown_no_activity_timeout=900", *root_flags()]
    log_path = home / "jupyterlab.log"
    proc = _spawn("JupyterLab", argv, root, jupyter_env(home), log_path)
    server = Server("JupyterLab", proc, f"http://127.0.0.1:{port}", token, log_path)
    _wait_until_up(server, f"{server.url}/api/status?token={token}", timeout)
    return server


def start_voila(notebook: Path, home: Path, timeout: float = 90.0) -> Server:
    """Voila rendering ``notebook`` on 127.0.0.1 with a random token (the page runs it on load)."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [str(VENV_BIN / "voila"), notebook.name, "--no-browser", f"--port={port}",
            "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", f"--Voila.token={token}",
            "--show_tracebacks=True"]
    log_path = home / "voila.log"
    proc = _spawn("Voila", argv, notebook.parent, jupyter_env(home), log_path)
    server = Server("Voila", proc, f"http://127.0.0.1:{port}", token, log_path)
    # Voila has no status endpoint, and GET / runs the notebook: any answer elsewhere means "up".
    _wait_until_up(server, f"{server.url}/voila/static/?token={token}", timeout, any_answer=True)
    return server


def stop(server: Server, grace: float = 10.0) -> None:
    """End the server and every process it started: SIGTERM (kernels shut down), then SIGKILL."""
    server.remember_children()
    if server.proc.poll() is None:
        try:
            os.killpg(server.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            server.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(server.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.proc.wait(timeout=5)
    # Kernels run in sessions of their own: end each survivor's process group (never ours).
    survivors = [p for p in server.children.values() if p.is_running()]
    for p in survivors:
        try:
            group = os.getpgid(p.pid)
            if group == p.pid and group != os.getpgrp():
                os.killpg(group, signal.SIGKILL)
            else:
                p.kill()
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    psutil.wait_procs(survivors, timeout=5)
