"""A student's ``./course lab`` in a real browser: Validate only, no instructor tools, quiet files.

The server is started with the settings the ``course`` script gives a student (``deploy/lab/student``
first on ``JUPYTER_CONFIG_PATH``, ``deploy/lab/settings`` as the app settings) on a temporary copy of
exercise 01 and lecture 01, so the repository is never touched.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.request

import pytest

from coursetools.layout import REPO

from . import jupyterlab, servers

pytestmark = pytest.mark.browser

STUDENT_CONFIG = REPO / "deploy" / "lab" / "student"
APP_SETTINGS = REPO / "deploy" / "lab" / "settings"
EXERCISE = "exercises/01_divergences/ex01_divergences.ipynb"
LECTURE = "lectures/01_divergences.ipynb"


def test_the_course_script_starts_students_with_these_settings():
    script = (REPO / "course").read_text()
    assert 'JUPYTER_CONFIG_PATH="$ROOT/deploy/lab/student' in script
    assert '--LabApp.app_settings_dir="$ROOT/deploy/lab/settings"' in script
    assert "--LabApp.default_url=" in script and "start=/lab/tree/lectures/01_divergences.ipynb" in script


@pytest.fixture(scope="module")
def student_lab(browser, tmp_path_factory):
    root = tmp_path_factory.mktemp("student-course")
    (root / "lectures").mkdir()
    shutil.copy(REPO / LECTURE, root / LECTURE)
    shutil.copytree(REPO / "exercises" / "01_divergences", root / "exercises" / "01_divergences")
    home = tmp_path_factory.mktemp("student-home")
    env = servers.jupyter_env(home)
    # The course's settings must silence the news popup themselves: drop the test suite's own.
    (home / "lab-settings" / "@jupyterlab/apputils-extension/notification.jupyterlab-settings").unlink()
    env["JUPYTER_CONFIG_PATH"] = str(STUDENT_CONFIG)
    port, token = servers.free_port(), "student-" + str(time.time_ns())
    argv = [str(servers.VENV_BIN / "jupyter"), "lab", f"--ServerApp.root_dir={root}",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
            "--LabApp.expose_app_in_browser=True", f"--LabApp.app_settings_dir={APP_SETTINGS}",
            f"--LabApp.default_url=/lab/tree/{LECTURE}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--MappingKernelManager.cull_idle_timeout=900", "--ServerApp.shutdown_no_activity_timeout=900",
            *servers.root_flags()]
    log_path = home / "jupyterlab.log"
    proc = servers._spawn("JupyterLab", argv, root, env, log_path)
    server = servers.Server("JupyterLab", proc, f"http://127.0.0.1:{port}", token, log_path)
    servers._wait_until_up(server, f"{server.url}/api/status?token={token}", 90)
    server.root = root
    try:
        yield server
    finally:
        servers.stop(server)


def _request(lab, path, method="GET", body=None):
    request = urllib.request.Request(f"{lab.url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {lab.token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    try:
        return status, json.loads(body or b"null")
    except ValueError:
        return status, body.decode(errors="replace")  # an HTML error page


def test_a_student_lab_has_validate_and_no_instructor_tools(student_lab, page):
    page.goto(f"{student_lab.url}/lab?token={student_lab.token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('filebrowser:open')")
    plugins = page.evaluate("""() => ({
        validate: window.jupyterapp.isPluginActivated('@jupyter/nbgrader:validate-assignment'),
        registered: ['create-assignment', 'formgrader', 'course-list', 'assignment-list', 'menu']
            .filter(p => window.jupyterapp.hasPlugin('@jupyter/nbgrader:' + p)),
        commands: window.jupyterapp.commands.listCommands().filter(c => c.startsWith('nbgrader:')),
    })""")
    assert plugins == {"validate": True, "registered": [], "commands": []}, plugins
    assert page.get_by_text("Create Assignment", exact=False).count() == 0
    assert page.get_by_text("Formgrader", exact=False).count() == 0
    assert _request(student_lab, "/formgrader")[0] == 404
    # No news popup: the course's settings default it to off.
    status, settings = _request(student_lab, "/lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert settings["schema"]["properties"]["fetchNews"]["default"] == "false"
    assert page.get_by_text("official Jupyter news").count() == 0


def test_opening_an_exercise_leaves_it_unchanged_and_validate_is_on_its_toolbar(student_lab, page):
    before = (student_lab.root / EXERCISE).read_bytes()
    jupyterlab.open_notebook(page, student_lab, EXERCISE)
    time.sleep(1.5)  # the kernel's info (language_info) arrives after "idle"
    dirty = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty")
    assert dirty is False, "the exercise is marked changed right after opening"
    assert page.locator(".validate-button").count() >= 1
    assert (student_lab.root / EXERCISE).read_bytes() == before


def test_lectures_are_read_only_and_validate_refuses_them(student_lab):
    status, answer = _request(student_lab, "/assignments/validate", "POST", {"path": LECTURE})
    assert status == 200 and answer["success"] is False and "Validate checks exercises" in answer["value"]
    status, model = _request(student_lab, f"/api/contents/{LECTURE}?content=0")
    assert model["writable"] is False
    status, answer = _request(student_lab, f"/api/contents/{LECTURE}", "PUT",
                              {"type": "notebook", "format": "json",
                               "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}})
    assert status == 403 and "Save Notebook As" in answer["message"]
    status, listing = _request(student_lab, "/api/contents")
    assert sorted(item["name"] for item in listing["content"]) == ["exercises", "lectures"]
    assert not list(student_lab.root.rglob("gradebook.db"))
    assert not re.search(r"Traceback", student_lab.log_tail(20000))


def test_validate_names_expected_and_actual_values_for_a_common_wrong_kl(student_lab, page):
    """A wrong answer that passes the easy checks (KL(p || p) = 0, equal centres): E_p|X - mu_q|
    taken as |mu_p - mu_q| + b_p. Validate must name the expected and the actual value."""
    jupyterlab.open_notebook(page, student_lab, EXERCISE)
    wrong = ("def kl_laplace(mu_p, b_p, mu_q, b_q):\n"
             "    delta = (mu_p - mu_q).abs()\n"
             "    return torch.log(b_q / b_p) + (delta + b_p) / b_q - 1\n")
    page.evaluate("""(source) => {
        const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
        for (let i = 0; i < cells.length; i++) {
            const cell = cells.get(i);
            const meta = cell.getMetadata('nbgrader');
            if (meta && meta.grade_id === 'kl_laplace') { cell.sharedModel.setSource(source); }
        }
    }""", wrong)
    page.locator(".validate-button").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=90_000)
    text = dialog.inner_text()
    # The assert's message comes first, before the cell's code: no scrolling to find it.
    first = text.split("The following cell failed:", 1)[1].strip().splitlines()[0]
    assert first.startswith("AssertionError: KL(Laplace(0.5, 0.8) || Laplace(-0.3, 1.7)): expected"), text
    assert "got" in first, first
    assert "Success" not in text, text
    # Validate saved the student's own notebook (in the temporary course) and nothing else.
    assert "(delta + b_p) / b_q" in (student_lab.root / EXERCISE).read_text()
    assert not list(student_lab.root.rglob("gradebook.db"))
