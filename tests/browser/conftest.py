"""Fixtures of the browser suite: headless Chromium, a throwaway JupyterLab, a Voila server.

The servers run on copies of the lecture notebooks (outputs cleared) in a temporary directory, so the
committed notebooks are never touched; every process started here is stopped on the way out, also
when a test fails.  A failing test leaves a screenshot of its page in ``tests/_artifacts/browser/``
(path printed in the report).  No Chromium, or one that cannot start: the tests skip and say why.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import nbformat
import pytest

from coursetools.layout import REPO

from . import servers

ARTIFACTS = REPO / "tests" / "_artifacts" / "browser"
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
PAGES = pytest.StashKey[list]()
SERVERS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's /usr/bin/chromium, or $COURSE_CHROMIUM) driven by Playwright."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's 'chromium' package, "
                    f"or set COURSE_CHROMIUM to a Chromium binary)")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        pytest.skip(f"the playwright package is missing ({err}); run ./course install")
    driver = sync_playwright().start()
    try:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except PlaywrightError as err:
        driver.stop()
        detail = " | ".join(line.strip() for line in str(err).splitlines()[:6] if line.strip())
        pytest.skip(f"Chromium at {CHROMIUM} cannot start: {detail}")
    yield chromium
    chromium.close()
    driver.stop()


def _clean_copy(src: Path, dst: Path) -> None:
    """Copy a notebook without outputs or saved widget state: the browser must produce them itself."""
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, dst)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """A temporary tree like the repository's: ``lectures/`` (clean copies) and ``data`` (a link)."""
    root = tmp_path_factory.mktemp("course")
    (root / "lectures").mkdir()
    for nb in sorted((REPO / "lectures").glob("*.ipynb")):
        _clean_copy(nb, root / "lectures" / nb.name)
    if (REPO / "data").is_dir():
        (root / "data").symlink_to(REPO / "data", target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def lab(browser, workspace, tmp_path_factory):
    """JupyterLab on 127.0.0.1 (free port, random token) serving the workspace; stopped at the end."""
    server = servers.start_lab(workspace, tmp_path_factory.mktemp("jupyter-home"))
    try:
        yield server
    finally:
        servers.stop(server)


@pytest.fixture
def voila(browser, workspace, tmp_path_factory, request):
    """Start Voila on a workspace notebook: ``voila("lectures/explorers.ipynb") -> Server``."""
    started = []

    def start(notebook: str) -> servers.Server:
        server = servers.start_voila(workspace / notebook, tmp_path_factory.mktemp("voila-home"))
        started.append(server)
        request.node.stash.setdefault(SERVERS, []).append(server)
        return server

    yield start
    for server in started:
        servers.stop(server)


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page; screenshotted on failure (see pytest_runtest_makereport)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    new_page = context.new_page()
    new_page.console_errors = []
    new_page.on("console", lambda m: m.type == "error" and new_page.console_errors.append(m.text))
    new_page.on("pageerror", lambda e: new_page.console_errors.append(str(e)))
    request.node.stash.setdefault(PAGES, []).append(new_page)
    yield new_page
    context.close()


@pytest.fixture
def shutdown_kernels(lab):
    """After the test, shut down every kernel the page started in JupyterLab (2 cores are shared)."""
    yield
    base, headers = lab.url, {"Authorization": f"token {lab.token}"}
    lab.remember_children()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions", headers=headers)) as r:
            sessions = json.load(r)
        for s in sessions:
            urllib.request.urlopen(urllib.request.Request(
                f"{base}/api/sessions/{s['id']}", headers=headers, method="DELETE")).close()
    except OSError:
        pass  # the server is stopped (and its kernels with it) at the end of the session anyway


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and report.when in ("setup", "call"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::", 1)[-1])
        for i, page in enumerate(item.stash.get(PAGES, [])):
            path = ARTIFACTS / f"{stem}{'-' + str(i) if i else ''}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                report.sections.append(("browser screenshot", str(path)))
            except Exception as err:  # the page may be gone; the report matters more
                report.sections.append(("browser screenshot", f"could not save: {err}"))
            if getattr(page, "console_errors", None):
                report.sections.append(("browser console errors", "\n".join(page.console_errors[-20:])))
        lab = item.funcargs.get("lab")
        for server in ([lab] if lab else []) + item.stash.get(SERVERS, []):
            report.sections.append((f"{server.name} log (tail)", server.log_tail()))
    return report
