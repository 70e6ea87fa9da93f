"""Grading on a Dask cluster (`llmf-grade grade --scheduler`): the same grades as the local pool,
a worker killed mid-task, a client interrupted mid-batch, workers without the sandbox, and the
message when the cluster extra is missing.

A small class of the fixture course (correct, wrong and adversarial submissions) keeps these
within the CI budget.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import nbformat
import pytest
import synthetic
from grading_cli import FAST, SOURCE, grading_in_background, llmf, released_course
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import cluster, grade_class
from autograder.course_folder import Course
from autograder.grader.plan import read_plan
from autograder.grader.sandbox import Limits
from autograder.grader.submission import submitted_digest
from autograder.records import is_current, load_result

distributed = pytest.importorskip("distributed", reason="needs the cluster extra: "
                                  + cluster.INSTALL_HINT)
import dask  # noqa: E402  (after the skip: dask comes with distributed)

ATTACKERS = {"cyd": "os_exit", "dan": "infinite_loop", "eli": "fork_bomb"}  # {student: attack}
RACING = {student for student, attack in ATTACKERS.items() if attack in synthetic.RACING_ATTACKS}


def submissions() -> dict[str, object]:
    """{student: notebook or raw bytes}: correct, wrong and adversarial hand-ins."""
    correct = synthetic.correct_answers(SOURCE)
    released = synthetic.student_notebook(SOURCE, correct)
    locked = next(cell for cell in released.cells if cell.metadata.get("nbgrader", {})
                  .get("locked") and not cell.metadata["nbgrader"].get("solution"))
    return {
        "ada": released,
        "bob": synthetic.student_notebook(SOURCE, {}),
        **{student: synthetic.student_notebook(SOURCE, synthetic.attacked_answers(SOURCE, attack))
           for student, attack in ATTACKERS.items()},
        "fay": synthetic.without_cell(released, locked.metadata["nbgrader"]["grade_id"]),
        "gus": b'{"cells": [',
        "hal": b"",
    }


def make_course(root: Path, students: dict[str, object]) -> Path:
    """A released copy of the fixture course with `students`' submissions collected."""
    released_course(root)
    for student, notebook in students.items():
        path = Course(root).submission(student, "fx_basics", "fx_basics")
        path.parent.mkdir(parents=True)
        if isinstance(notebook, bytes):
            path.write_bytes(notebook)
        else:
            nbformat.write(notebook, str(path))
    return root


def results(root: Path) -> dict[str, dict]:
    """{student: result file as JSON}."""
    return {path.parent.parent.name: json.loads(path.read_text())
            for path in root.glob("autograded/*/*/*.result.json")}


def without_race(results: dict[str, dict]) -> dict[str, dict]:
    """`results` with the status and reason of the RACING students left out (their scores kept):
    whether a fork bomb's forks fail before its cell's time limit depends on the machine's load."""
    return {student: {key: value for key, value in result.items()
                      if student not in RACING or key not in ("status", "reason")}
            for student, result in results.items()}


def gradebook(root: Path) -> dict[str, dict]:
    """{student: {grade name: (auto score, needs manual grade)}} as nbgrader's gradebook has it
    (None: no notebook in the gradebook)."""
    from nbgrader.api import MissingEntry

    found = {}
    with Course(root).gradebook() as book:
        for student in Course(root).students():
            try:
                notebook = book.find_submission_notebook("fx_basics", "fx_basics", student)
            except MissingEntry:
                found[student] = None
                continue
            found[student] = {g.name: (g.auto_score, g.needs_manual_grade) for g in notebook.grades}
    return found


def assert_complete_and_current(root: Path, students) -> None:
    """Every student has one result, computed from the current submission and source."""
    course = Course(root)
    digest = read_plan(course.source("fx_basics", "fx_basics")).digest
    assert sorted(results(root)) == sorted(students)
    for student in students:
        result = load_result(course.result(student, "fx_basics", "fx_basics"))
        submitted = course.submission(student, "fx_basics", "fx_basics")
        assert is_current(result, submitted_digest(submitted), digest)


def kill_workers_running(client, student: str, killed: list[str]) -> None:
    """SIGKILL each live worker (not in `killed`) running `student`'s task, a second into it;
    append its address to `killed`."""
    for worker, keys in client.processing().items():
        if worker not in killed and any(f"grade-{student}/" in str(key) for key in keys):
            pid = client.run(os.getpid, workers=[worker])[worker]
            time.sleep(1.0)  # well inside the task (its kernel is running)
            os.kill(pid, signal.SIGKILL)
            killed.append(worker)


@pytest.fixture(scope="module")
def local_cluster():
    """A LocalCluster of two worker processes, configured as `local:N` configures its own."""
    with dask.config.set(cluster.SCHEDULER_SETTINGS):
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=":0", silence_logs=logging.ERROR)
    with local:
        yield local


@contextlib.contextmanager
def cluster_of_processes(folder: Path, workers: int):
    """A scheduler and `workers` single-thread workers started with Dask's own commands, as on
    a real cluster, configured as the instructors' guide says; yields the scheduler's address."""
    dask_command = str(Path(sys.executable).with_name("dask"))
    scheduler_file = folder / "scheduler.json"
    env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1",
               DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    processes = [subprocess.Popen([dask_command, "scheduler", "--port", "0",
                                   "--dashboard-address", ":0", "--scheduler-file",
                                   str(scheduler_file)], **quiet)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        processes.append(subprocess.Popen([dask_command, "worker", address, "--nworkers",
                                           str(workers), "--nthreads", "1"], **quiet))
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=60)


def test_cluster_grades_exactly_like_the_local_pool(tmp_path):
    """The class graded by workers started as on a real cluster (`dask scheduler`, `dask worker`)
    gets the local pool's records and gradebook, adversaries included."""
    students = submissions()
    pool = make_course(tmp_path / "pool", students)
    dask_ = make_course(tmp_path / "dask", students)
    assert llmf(pool, "grade", "-j", "2", *FAST) == 0
    with cluster_of_processes(tmp_path, workers=2) as address:
        assert llmf(dask_, "grade", "--scheduler", address, *FAST) == 0
    on_pool, on_dask = results(pool), results(dask_)
    assert sorted(on_dask) == sorted(students)
    assert without_race(on_dask) == without_race(on_pool)
    assert gradebook(dask_) == gradebook(pool)
    assert sum(book is not None for book in gradebook(dask_).values()) >= 6
    statuses = Counter(result["status"] for result in on_dask.values())
    assert statuses["tampered"] == 1 and statuses["crashed"] >= 2  # the adversaries were met
    assert on_dask["ada"]["scores"]["linear_test"][0] == 2.0


def test_killed_worker_retries_the_task_and_records_each_grade_once(tmp_path, local_cluster,
                                                                     monkeypatch):
    correct = synthetic.correct_answers(SOURCE)
    slow = dict(correct)  # a notebook that takes a while, so the kill lands mid-task
    slow[synthetic.answer_ids(SOURCE)[0]] = "import time\ntime.sleep(3)\n" + slow[
        synthetic.answer_ids(SOURCE)[0]]
    students = {f"s{i}": synthetic.student_notebook(SOURCE, slow if i == 0 else correct)
                for i in range(4)}
    root = make_course(tmp_path / "course", students)
    recorded: Counter = Counter()
    record = grade_class.Recorder.record

    def counting(self, key, graded):
        recorded[key] += 1
        return record(self, key, graded)

    monkeypatch.setattr(grade_class.Recorder, "record", counting)
    killed: list[str] = []

    def kill_the_worker_running(student: str) -> None:
        with distributed.Client(local_cluster) as client:
            deadline = time.monotonic() + 300
            while not killed and time.monotonic() < deadline:
                kill_workers_running(client, student, killed)
                time.sleep(0.05)

    killer = threading.Thread(target=kill_the_worker_running, args=("s0",))
    killer.start()
    statuses = grade_class.grade_course(Course(root), scheduler=local_cluster.scheduler_address,
                                      limits=Limits(cell_timeout=20, notebook_timeout=90),
                                      progress=False)
    killer.join()
    assert killed, "the worker grading s0 was never seen"
    assert statuses == Counter({"needs_manual_grading": 4})
    assert set(recorded.values()) == {1} and len(recorded) == 4
    assert all(r["scores"]["linear_test"][0] == 2.0 for r in results(root).values())
    assert_complete_and_current(root, students)


def test_task_whose_worker_dies_twice_is_recorded_crashed(tmp_path, local_cluster):
    correct = synthetic.correct_answers(SOURCE)
    # ada's answer takes 8 s, so the killer always finds her task running (a fast task could
    # finish before it looks, and the test would not test anything)
    slow = dict(correct, linear_answer=correct["linear_answer"] + "\nimport time\ntime.sleep(8)")
    root = make_course(tmp_path / "course", {"ada": synthetic.student_notebook(SOURCE, slow),
                                             "bob": synthetic.student_notebook(SOURCE, correct)})

    def kill_every_worker_running(student: str, stop: threading.Event) -> None:
        killed: list[str] = []
        with distributed.Client(local_cluster) as client:
            while not stop.is_set():
                kill_workers_running(client, student, killed)
                time.sleep(0.05)

    stop = threading.Event()
    killer = threading.Thread(target=kill_every_worker_running, args=("ada", stop))
    killer.start()
    try:
        statuses = grade_class.grade_course(Course(root), scheduler=local_cluster.scheduler_address,
                                          progress=False)
    finally:
        stop.set()
        killer.join()
    assert statuses == Counter({"crashed": 1, "needs_manual_grading": 1})
    ada = results(root)["ada"]
    assert ada["status"] == "crashed" and "worker process died" in ada["reason"]
    assert all(score == 0.0 for score, _ in ada["scores"].values())
    assert results(root)["bob"]["scores"]["linear_test"][0] == 2.0


def test_interrupted_client_then_rerun_completes_the_class(tmp_path):
    correct = synthetic.correct_answers(SOURCE)
    # two workers, interrupted once the first grade is recorded: some of the four are, not all
    students = {f"s{i}": synthetic.student_notebook(SOURCE, correct) for i in range(4)}
    root = make_course(tmp_path / "course", students)
    client = grading_in_background(root, "--scheduler", "local:2", *FAST, capture=True)
    os.killpg(client.pid, signal.SIGINT)  # Ctrl-C in the instructor's terminal
    try:
        _, stderr = client.communicate(timeout=120)
    except subprocess.TimeoutExpired as hung:
        os.killpg(client.pid, signal.SIGKILL)
        printed = (hung.stderr or "")[-3000:]
        pytest.fail(f"still running 120 s after Ctrl-C; it printed: {printed!r}")
    interrupted = results(root)
    assert 1 <= len(interrupted) < len(students), stderr[-2000:]
    assert "interrupted" in stderr
    for result in interrupted.values():  # whole, current results only
        assert result["scores"]["linear_test"][0] == 2.0
    assert_complete_and_current(root, interrupted)
    assert llmf(root, "grade", "--scheduler", "local:2", *FAST) == 0
    assert_complete_and_current(root, students)
    final = results(root)
    assert {s: final[s] for s in interrupted} == interrupted  # kept, not graded again
    assert llmf(root, "export", tmp_path / "grades.csv") == 0  # syncs the gradebook
    book = gradebook(root)
    assert all(book[s]["linear_test"] == (2.0, False) for s in students)


def test_missing_extra_names_the_install_command(tmp_path, monkeypatch, capsys):
    root = make_course(tmp_path / "course", {"ada": b""})
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    assert llmf(root, "grade", "--scheduler", "local:2") == 1
    error = capsys.readouterr().err
    assert cluster.INSTALL_HINT in error and "Dask" in error
    assert not results(root)


def test_a_local_cluster_that_does_not_close_is_ended(monkeypatch):
    """Leaving `connect` takes at most CLOSE_SECONDS, whatever Dask's closing does: a closing
    that never ends (as one waiting on a nanny restarting a worker that a Ctrl-C stopped) has
    the cluster's processes killed, and nothing of it is left running (but multiprocessing's
    resource tracker, which cleans up after them)."""
    import psutil

    before = {child.pid for child in psutil.Process().children(recursive=True)}
    close, stuck = distributed.LocalCluster.close, []

    def never_closes(self, *args, **kwargs):
        stuck.append(self)
        threading.Event().wait()

    monkeypatch.setattr(cluster, "CLOSE_SECONDS", 3)
    monkeypatch.setattr(distributed.LocalCluster, "close", never_closes)

    def use_and_leave():
        with cluster.connect("local:1") as client:
            client.wait_for_workers(1, timeout=60)

    user = threading.Thread(target=use_and_leave, daemon=True)
    user.start()
    user.join(120)
    assert not user.is_alive(), "connect did not return although its cluster never closed"
    running = [child for child in psutil.Process().children(recursive=True)
               if child.pid not in before and child.status() != psutil.STATUS_ZOMBIE
               and "resource_tracker" not in " ".join(child.cmdline())]  # fmt: skip
    assert running == [], running
    close(stuck[0], timeout=30)  # the scheduler, in this process, ends too


@pytest.mark.parametrize("address", ["local:", "local:0", "local:two", "local:-1"])
def test_bad_local_address_says_what_is_expected(address):
    with pytest.raises(ValueError, match="local:N"):
        cluster.local_workers(address)


def test_course_config_chooses_the_scheduler(tmp_path, monkeypatch, capsys):
    root = make_course(tmp_path / "course", {"ada": b""})
    with (root / "nbgrader_config.py").open("a") as config:
        config.write('\nc.LlmfGrade.scheduler = "local:zero"\n')
    assert llmf(root, "grade") == 1
    assert "'local:zero'" in capsys.readouterr().err


def test_worker_without_bubblewrap_refuses_unless_allowed(monkeypatch):
    monkeypatch.setattr(cluster, "bwrap_works", lambda: False)
    with pytest.raises(cluster.SandboxUnavailable, match="bubblewrap.*--allow-unsandboxed"):
        cluster.check_sandbox(allow_unsandboxed=False)
    with pytest.warns(UserWarning, match="bubblewrap"):
        cluster.check_sandbox(allow_unsandboxed=True)


def test_cluster_without_bubblewrap_grades_nothing(tmp_path, monkeypatch, capsys):
    """The whole refusal path: workers report no sandbox, nothing is recorded."""
    monkeypatch.setattr(cluster, "sandbox_problem", lambda: "bubblewrap (bwrap) is missing")
    root = make_course(tmp_path / "course", {"ada": synthetic.student_notebook(SOURCE, {})})
    assert llmf(root, "grade", "--scheduler", "local:1", *FAST) == 1
    error = capsys.readouterr().err
    assert "cannot sandbox" in error and "bubblewrap" in error
    assert not results(root)


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}\.(csv|txt|npz)", fullmatch=True),
                       st.binary(max_size=64), max_size=3))
def test_data_files_travel_as_bytes_and_arrive_intact(tmp_path_factory, files):
    folder = tmp_path_factory.mktemp("source")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    plan = read_plan(SOURCE)
    plan = type(plan)(**{**vars(plan), "files": tuple(sorted(folder / n for n in files))})
    shipped, contents = cluster.detached(plan)
    assert shipped.files == () and contents == files
    with cluster.attached(shipped, contents) as arrived:
        assert {p.name: p.read_bytes() for p in arrived.files} == files
        assert all(folder not in p.parents for p in arrived.files)
    assert all(not p.exists() for p in arrived.files)
