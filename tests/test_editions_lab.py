"""The learner's and the instructor's JupyterLab, started the way `make course` and
`make instructor` start them (autograder.lab): instructor tools only for the instructor, and
Formgrader working at its first load on a fresh gradebook."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from autograder.course_folder import Course, default_course_root
from autograder.lab import REPOSITORY, lab_command

TOKEN = "llmf-test-token"
NBGRADER_SERVER_EXTENSIONS = ("formgrader", "assignment_list", "course_list",
                              "validate_assignment")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def without_venv_on_path() -> dict:
    """The environment of a shell where the virtual environment is not activated."""
    scripts = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and Path(p).resolve() != Path(scripts).resolve())
    return env


@contextmanager
def lab(role: str, **where):
    """A running JupyterLab for `role`; yields its base URL."""
    port = free_port()
    extra = [f"--ServerApp.port={port}", "--no-browser", f"--IdentityProvider.token={TOKEN}",
             "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        extra.append("--allow-root")
    argv, env, cwd = lab_command(role, extra=extra, environ=without_venv_on_path(), **where)
    env["HOME"] = str(where.get("course_root") or where.get("notebooks"))  # no user settings
    server = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(720):
            try:
                if get(f"{base}/api/status")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {server.stderr.read()[-2000:]}")
            time.sleep(0.25)
        else:
            raise RuntimeError("jupyter lab did not start within 180 s")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def page_config(base: str) -> dict:
    status, page = get(f"{base}/lab")
    assert status == 200
    data = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                     page, re.DOTALL)
    return json.loads(data.group(1))


def fresh_course(root: Path) -> Path:
    shutil.copytree(default_course_root() / "source", root / "source")
    shutil.copy(default_course_root() / "nbgrader_config.py", root)
    return root


@pytest.mark.slow
def test_instructor_formgrader_lists_the_chapters_at_the_first_load(tmp_path):
    course = fresh_course(tmp_path / "course")
    assert not (course / "gradebook.db").exists()
    with lab("instructor", course_root=course) as base:
        status, body = get(f"{base}/formgrader/api/assignments")
        assert status == 200, body[-1500:]
        names = sorted(item["name"] for item in json.loads(body))
        assert names == Course(course).assignments() and len(names) == 4
        status, page = get(f"{base}/formgrader/manage_assignments")
        assert status == 200 and "Manage Assignments" in page
        for warning in ("warning-exchange", "warning-course-id", "warning-windows"):
            assert warning not in page
        disabled = page_config(base).get("disabledExtensions", {})
        assert not any(name.startswith("@jupyter/nbgrader") for name in disabled)
    with sqlite3.connect(course / "gradebook.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
        assert "alembic_version" in tables
        assert db.execute("select count(*) from alembic_version").fetchone()[0] == 1


@pytest.mark.slow
def test_learner_lab_has_no_instructor_tools(tmp_path):
    with lab("learner", notebooks=tmp_path) as base:
        assert get(f"{base}/formgrader")[0] == 404
        assert get(f"{base}/formgrader/api/assignments")[0] == 404
        assert get(f"{base}/assignments")[0] == 404
        config = page_config(base)
        assert "@jupyter/nbgrader" in config["disabledExtensions"]  # all its plugins
        assert any(ext["name"] == "@jupyter/nbgrader" for ext in config["federated_extensions"])


@pytest.mark.parametrize("target, role", [("course", "learner"), ("instructor", "instructor")])
def test_make_starts_lab_through_autograder_lab(target, role):
    """`make course` and `make instructor` run the commands the tests above start."""
    dry_run = subprocess.run(["make", "-n", target], cwd=REPOSITORY, capture_output=True,
                             text=True, check=True).stdout
    # under `make test` the nested make also prints "Entering/Leaving directory" lines
    assert any(f"-m autograder.lab {role}" in line for line in dry_run.splitlines()), dry_run
