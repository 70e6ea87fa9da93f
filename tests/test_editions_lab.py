"""The learner's and the instructor's JupyterLab, started the way `make course` and
`make instructor` start them (autograder.lab): instructor tools only for the instructor,
Formgrader working at its first load on a fresh gradebook, the learner's own working copies of
the notebooks (never written over), the course folder named by LLMF_COURSE or --course, and a
workspace folder of its own for each role."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ports import free_port

from autograder.course_folder import COURSE_ENV, Course, default_course_root
from autograder.lab import (
    HANDED_OUT,
    REPOSITORY,
    instructor_course,
    lab_command,
    prepare_working_copy,
    workspaces_folder,
)

TOKEN = "llmf-test-token"
NBGRADER_SERVER_EXTENSIONS = ("formgrader", "assignment_list", "course_list",
                              "validate_assignment")


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
def lab(role: str, folder: Path):
    """A running JupyterLab for `role` serving `folder`; yields its base URL."""
    port = free_port()
    extra = [f"--ServerApp.port={port}", "--no-browser", f"--IdentityProvider.token={TOKEN}",
             "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        extra.append("--allow-root")
    argv, env, cwd = lab_command(role, folder, extra=extra, environ=without_venv_on_path())
    env["HOME"] = str(folder)  # no user settings
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
    with lab("instructor", course) as base:
        status, body = get(f"{base}/formgrader/api/assignments")
        assert status == 200, body[-1500:]
        names = sorted(item["name"] for item in json.loads(body))
        assert names == Course(course).assignments() and len(names) == 5
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
    with lab("learner", tmp_path) as base:
        assert get(f"{base}/formgrader")[0] == 404
        assert get(f"{base}/formgrader/api/assignments")[0] == 404
        assert get(f"{base}/assignments")[0] == 404
        config = page_config(base)
        assert "@jupyter/nbgrader" in config["disabledExtensions"]  # all its plugins
        # no "get notified about official Jupyter news?" pop-up
        assert "@jupyterlab/apputils-extension:announcements" in config["disabledExtensions"]
        assert any(ext["name"] == "@jupyter/nbgrader" for ext in config["federated_extensions"])


@pytest.mark.parametrize("target, role", [("course", "learner"), ("instructor", "instructor")])
def test_make_starts_lab_through_autograder_lab(target, role):
    """`make course` and `make instructor` run the commands the tests above start."""
    dry_run = subprocess.run(["make", "-n", target], cwd=REPOSITORY, capture_output=True,
                             text=True, check=True).stdout
    # under `make test` the nested make also prints "Entering/Leaving directory" lines
    assert any(f"-m autograder.lab {role}" in line for line in dry_run.splitlines()), dry_run


def chapters(folder: Path, texts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text)
    return folder


def test_the_first_start_copies_every_chapter_into_the_working_folder(tmp_path):
    notebooks = chapters(tmp_path / "notebooks", {"ch1.ipynb": "one", "ch2.ipynb": "two"})
    done = prepare_working_copy(notebooks, tmp_path / "work")
    assert {p.name: p.read_text() for p in (tmp_path / "work").glob("*.ipynb")} == {
        "ch1.ipynb": "one", "ch2.ipynb": "two"}
    assert len(done) == 2 and all(sentence.startswith("copied") for sentence in done)
    assert prepare_working_copy(notebooks, tmp_path / "work") == []  # nothing new: nothing done


def test_an_updated_chapter_is_offered_beside_the_learners_copy(tmp_path):
    notebooks = chapters(tmp_path / "notebooks", {"ch2.ipynb": "edition 1"})
    work = tmp_path / "work"
    prepare_working_copy(notebooks, work)
    (work / "ch2.ipynb").write_text("my answers")
    (notebooks / "ch2.ipynb").write_text("edition 2")
    (done,) = prepare_working_copy(notebooks, work)
    assert "ch2 (updated).ipynb" in done and "left as it is" in done
    assert (work / "ch2.ipynb").read_text() == "my answers"
    assert (work / "ch2 (updated).ipynb").read_text() == "edition 2"
    (notebooks / "ch2.ipynb").write_text("edition 3")
    prepare_working_copy(notebooks, work)
    assert (work / "ch2 (updated).ipynb").read_text() == "edition 2"  # never written over
    assert (work / "ch2 (updated 2).ipynb").read_text() == "edition 3"


NAMES = st.sampled_from(["ch1.ipynb", "ch2.ipynb", "ch3.ipynb"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(["update", "edit", "delete", "start"]), NAMES,
                                st.text(max_size=5)), max_size=12))
def test_a_learners_file_is_never_written_over_whatever_happens(tmp_path_factory, steps):
    """Whatever sequence of course updates, learner edits, deletions and lab starts: every
    file the learner has keeps their text, and every chapter the course changed since the last
    start, or that the learner deleted (and did not write again), is there in its latest
    edition after the next."""
    root = tmp_path_factory.mktemp("lab")
    notebooks = chapters(root / "notebooks", {"ch1.ipynb": "1", "ch2.ipynb": "2"})
    work = root / "work"
    prepare_working_copy(notebooks, work)
    changed, deleted = set(), set()
    for action, name, text in steps:
        if action == "update":
            edition = notebooks / name
            if not edition.exists() or edition.read_text() != f"course {text}":
                changed.add(name)  # an update that rewrites the same text changes nothing
            edition.write_text(f"course {text}")
        elif action == "edit":
            (work / name).write_text(f"learner {text}")
            deleted.discard(name)
        elif action == "delete":
            (work / name).unlink(missing_ok=True)
            deleted.add(name)
        else:
            before = {p.name: p.read_text() for p in work.iterdir() if p.name != HANDED_OUT}
            prepare_working_copy(notebooks, work)
            after = {p.name: p.read_text() for p in work.iterdir() if p.name != HANDED_OUT}
            assert {name: after[name] for name in before} == before
            for name in (changed | deleted) & {p.name for p in notebooks.iterdir()}:
                assert (notebooks / name).read_text() in after.values()
            changed.clear()
            deleted.clear()


def test_instructor_course_is_the_option_else_llmf_course_else_the_checkouts(tmp_path,
                                                                            monkeypatch):
    checkout = tmp_path / "checkout"
    (checkout / "course" / "source").mkdir(parents=True)
    monkeypatch.delenv(COURSE_ENV, raising=False)
    assert instructor_course(checkout, None) == checkout / "course"
    monkeypatch.setenv(COURSE_ENV, str(tmp_path / "private"))
    assert instructor_course(checkout, None) == tmp_path / "private"
    assert instructor_course(checkout, str(tmp_path / "other")) == tmp_path / "other"


def test_make_instructor_serves_the_course_llmf_course_names(tmp_path):
    """`LLMF_COURSE=DIR make instructor` serves DIR: the server is told to start there."""
    private = fresh_course(tmp_path / "private")
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.course-installed",
         "-o", ".venv/.instructor-installed", f"BIN={Path(sys.executable).parent}",
         "instructor", "LAB_ARGS=--help-all"],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=300,
        env={**os.environ, COURSE_ENV: str(private)})
    assert f"serving the course folder {private.resolve()}" in dry_run.stderr, dry_run.stderr


def test_each_role_keeps_its_workspaces_apart(tmp_path):
    environ = {"JUPYTERLAB_WORKSPACES_DIR": str(tmp_path)}
    learner = workspaces_folder("learner", environ)
    instructor = workspaces_folder("instructor", environ)
    assert learner != instructor and learner.parent == instructor.parent == tmp_path
    _, env, _ = lab_command("instructor", tmp_path, environ=environ)
    assert env["JUPYTERLAB_WORKSPACES_DIR"] == str(instructor)


def test_stopping_make_course_stops_its_jupyterlab(tmp_path):
    """`make course` (autograder.lab) stopped by a signal (an editor's stop button, `kill`)
    stops JupyterLab too: it ran as a child, which kept serving on its port (the next start then
    took another port without a word)."""
    import psutil

    (tmp_path / "notebooks").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(tmp_path / "notebooks" / "ch1.ipynb"))
    port = free_port()
    argv = [sys.executable, "-m", "autograder.lab", "learner", "--no-browser",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}", *(["--allow-root"] if os.geteuid() == 0 else [])]
    env = without_venv_on_path() | {"HOME": str(tmp_path)}
    started = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        try:
            return get(f"{base}/api/status")[0] == 200
        except OSError:
            return False

    try:
        deadline = time.monotonic() + 180
        while not serving():
            assert started.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.25)
        started.terminate()
        started.wait(timeout=60)
        deadline = time.monotonic() + 60
        while serving() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not serving(), "JupyterLab kept serving after make course was stopped"
    finally:
        for process in psutil.process_iter(["cmdline"]):
            if f"--ServerApp.port={port}" in " ".join(process.info["cmdline"] or []):
                process.kill()
        started.kill()
        started.wait()
