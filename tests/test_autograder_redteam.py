"""A student who wants marks they did not earn, or to stop the class's run, through the code the
grader runs: each hole found, held closed through `llmf-grade` and, where its class allows, by a
property. (The kernel's own user namespaces and per-user quotas are held in
test_autograder_isolation.py, with the other bounds of the sandbox, in both of its modes.)
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import socket

import nbformat
import numpy as np
import psutil
import pytest
import synthetic
from grading_cli import FAST, SOURCE, llmf, released_course
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograder import local_pool
from autograder.course_folder import Course
from autograder.grader import execute
from autograder.grader.compare import compare
from autograder.grader.execute import statements
from autograder.grader.kernel import SandboxedKernel
from autograder.grader.pipeline import References, Task, crashed, grade, reference_values
from autograder.grader.plan import read_plan
from autograder.grader.sandbox import Limits
from autograder.grader.scratch import grading_run
from autograder.grader.submission import Submitted, submitted_digest
from autograder.grading_loop import Job
from autograder.records import load_result

# Hole 1: the student's code chooses its value's type, and the type chose the tolerance: an
# array of float16 was judged within 64 units of float16's rounding, 6 % of the reference's
# largest magnitude, whatever the hidden case's rtol. A linear layer 5 % off on every hidden
# input (right on the visible check's input, whose numbers are in the notebook) earned full marks.
OFF_BY_5_PERCENT_AS_FLOAT16 = (
    "def linear(x, w, b):\n"
    "    exact = np.asarray(x) @ np.asarray(w) + np.asarray(b)\n"
    "    if np.shape(x) == (2, 3):  # the visible check's input\n"
    "        return exact\n"
    "    return (exact * 1.05).astype(np.float16)\n")
RIGHT_AS_FLOAT32 = (
    "def linear(x, w, b):\n"
    "    return (np.asarray(x) @ np.asarray(w) + np.asarray(b)).astype(np.float32)\n")


def hand_in(course: Course, student: str, answers: dict[str, str]) -> None:
    """Put `student`'s fx_basics notebook, with `answers`, among the course's submissions."""
    path = course.submission(student, "fx_basics", "fx_basics")
    path.parent.mkdir(parents=True)
    path.write_text(nbformat.writes(synthetic.student_notebook(SOURCE, answers)))


def test_a_wrong_answer_in_float16_earns_nothing_through_the_command_line(tmp_path):
    """mallory's linear is 5 % off as float16 on the hidden inputs: no points for it; ada's
    right answer in float32 keeps hers."""
    root = released_course(tmp_path / "course")
    course, correct = Course(root), synthetic.correct_answers(SOURCE)
    for student, linear in (("mallory", OFF_BY_5_PERCENT_AS_FLOAT16), ("ada", RIGHT_AS_FLOAT32)):
        hand_in(course, student, dict(correct, linear_answer=linear))
    assert llmf(root, "grade", *FAST) == 0
    assert llmf(root, "export", root / "grades.csv") == 0
    rows = {row["student"]: row for row in csv.DictReader((root / "grades.csv").open())}
    assert float(rows["mallory"]["linear_test"]) == 0, rows["mallory"]
    assert float(rows["ada"]["linear_test"]) == 2, rows["ada"]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.tuples(st.integers(1, 8), st.integers(1, 8)),
       off=st.floats(1e-4, 0.06), dtype=st.sampled_from([np.float16, np.float32]))
def test_no_float_type_buys_more_tolerance_than_float32_allows(seed, shape, off, dtype):
    """A value whose numbers, as its type holds them, are more than 1e-4 off (relative) fails a
    float64 tolerance in any float type: float32's widening, 7.6e-6 relative and that fraction
    of the largest magnitude (here at most 4 times the smallest), is all any type gets."""
    reference = np.random.default_rng(seed).uniform(0.5, 2.0, size=shape)
    wrong = (reference * (1 + off)).astype(dtype)
    assume(not np.allclose(wrong.astype(np.float64), reference, rtol=1e-4, atol=0.0))
    assert compare(wrong, reference, rtol=1e-5, atol=1e-8)[0] is False


# Hole 2: a notebook that kills its grading worker (the worker's memory taken by what its kernel
# sends, say) broke the whole pool twice: on the second break every job not yet graded, the
# class after it, was recorded "crashed". Here the worker dies on a marked file, as it would on
# such a notebook.
KILLS_ITS_WORKER = "# this notebook kills the worker that grades it"


def grade_or_kill_the_worker(task):
    """local_pool's `grade`, except that a worker given a marked notebook dies at once."""
    if KILLS_ITS_WORKER.encode() in task.submitted.data:
        os._exit(1)
    return grade(task)


def test_a_notebook_that_kills_its_worker_costs_only_itself(tmp_path, monkeypatch):
    """Through llmf-grade on two workers: mallory's notebook kills every worker that grades it;
    she is recorded crashed, and each of her classmates, graded before or after her or beside
    her when the pool broke, gets their own grade."""
    monkeypatch.setattr(local_pool, "grade", grade_or_kill_the_worker)
    root = released_course(tmp_path / "course")
    course, correct = Course(root), synthetic.correct_answers(SOURCE)
    students = [f"s{number}" for number in range(6)]
    for student in [*students[:2], "mallory", *students[2:]]:
        mark = KILLS_ITS_WORKER + "\n" if student == "mallory" else ""
        hand_in(course, student, dict(correct, linear_answer=mark + correct["linear_answer"]))
    assert llmf(root, "grade", *FAST, "-j", "2") == 0
    results = {student: load_result(course.result(student, "fx_basics", "fx_basics"))
               for student in [*students, "mallory"]}
    assert results["mallory"].status == "crashed"
    assert "worker process died" in results["mallory"].reason
    for student in students:
        assert results[student].status == "needs_manual_grading", (student, results[student])
        assert results[student].scores["linear_test"] == (2.0, 2.0)


# Hole 3: the student's code holds the kernel's sockets and the connection's key, and can send
# any number of replies on the shell, stdin and control channels, which the grader never reads:
# ZeroMQ kept up to its queue of them, 8 MB each, in the grader's worker until the kernel
# stopped (850 MB from one notebook, outside the sandbox's memory limit).
SHELL_FLOOD = (
    "import time\n_k = get_ipython().kernel\n_blob = 'x' * 7_000_000\n"
    "for _socket in (_k.shell_stream.socket, _k.stdin_socket, _k.control_stream.socket):\n"
    "    for _ in range(40):\n"
    "        _k.session.send(_socket, 'execute_reply', {'status': 'ok', 'junk': _blob},\n"
    "                        parent=_k.get_parent('shell'), ident=_k._parent_ident['shell'])\n"
    "        time.sleep(0.02)\n")


def test_replies_the_grader_never_reads_are_not_kept():
    """A kernel sends 840 MB of replies on the channels the grader does not read: the grader
    keeps none of them (its memory grows by far less than they hold), and the kernel goes on."""
    grader = psutil.Process()
    with grading_run(), SandboxedKernel(Limits(cell_timeout=120)) as kernel:
        before = grader.memory_info().rss
        assert kernel.execute(SHELL_FLOOD, timeout=120).status == "ok"
        assert kernel.execute("1 + 1", timeout=20).status == "ok"
        grown = grader.memory_info().rss - before
    assert grown < 200 * 2**20, f"the grader kept {grown / 2**20:.0f} MB"


# Hole 5: a student's cell is cut into statements (a parse: 0.4 s for a cell of 100,000
# characters of short statements) when its turn comes, and the turn came even once the notebook
# was out of time, so each of its cells was parsed only to be skipped: a notebook of 47 MB of
# such cells took 350 s to grade with a notebook limit of 30 s.
MANY_STATEMENTS = "a = 1\n" * 16_000
OUT_OF_TIME = Limits(cell_timeout=2, notebook_timeout=3)


def test_no_cell_is_parsed_once_the_notebook_is_out_of_time(monkeypatch):
    """The first answer sleeps past the notebook's limit; none of the 30 long cells added after
    it is cut into statements (each is skipped as it comes), and the notebook is timed out."""
    cut = []
    monkeypatch.setattr(execute, "statements",
                        lambda code, budget=None: cut.append(len(code)) or statements(code, budget))
    correct = synthetic.correct_answers(SOURCE)
    sleepy = "import time\ntime.sleep(1.9)\ntime.sleep(1.9)\n" + correct["linear_answer"]
    notebook = synthetic.student_notebook(SOURCE, dict(correct, linear_answer=sleepy))
    for _ in range(30):
        notebook = synthetic.with_added_cell(notebook, "linear_answer", MANY_STATEMENTS)
    plan = read_plan(SOURCE)
    with grading_run():
        references = reference_values(plan, Limits())
        submitted = Submitted.of(nbformat.writes(notebook).encode())
        result = grade(Task(plan, submitted, references, OUT_OF_TIME)).result
    assert result.status == "timed_out", result
    assert len(MANY_STATEMENTS) not in cut, f"{cut.count(len(MANY_STATEMENTS))} cells were cut"


# Hole 6: the kernel's socket folder is writable in the sandbox (the kernel binds its sockets
# there), and the grader, outside, reconnected to a socket's path whenever its connection
# dropped: a student who closed a socket and left a link in its place had the grader connect to
# any Unix socket of the grading machine it named, as the grading user.
REPLACED_SOCKET = (
    "import os\n_k = get_ipython().kernel\n"
    "_k.iopub_socket.close()\n_k.shell_stream.socket.close(linger=0)\n"
    "for _port in ({iopub}, {shell}):\n"
    "    _path = {folder!r} + f'/socket-{{_port}}'\n"
    "    os.unlink(_path)\n"
    "    os.symlink({host!r}, _path)\n")


def test_the_grader_never_follows_a_replaced_socket_path(tmp_path):
    """The kernel closes its IOPub and shell sockets and links their paths to a socket of the
    grading machine: the grader never connects to it; the cell times out and the kernel is
    replaced, as for any kernel that stops answering."""
    host = socket.socket(socket.AF_UNIX)
    host.bind(str(tmp_path / "host.sock"))
    host.listen(8)
    host.settimeout(0)
    with grading_run(), SandboxedKernel(Limits(cell_timeout=10)) as kernel:
        ports = json.loads((kernel.runtime / "kernel.json").read_text())
        code = REPLACED_SOCKET.format(iopub=ports["iopub_port"], shell=ports["shell_port"],
                                      folder=str(kernel.runtime), host=str(tmp_path / "host.sock"))
        assert kernel.execute(code, timeout=5).status in ("timeout", "died")
        assert kernel.execute("1 + 1", timeout=5).status in ("timeout", "died")
    connected = []
    with contextlib.suppress(BlockingIOError):
        while True:
            connected.append(host.accept())
    assert connected == [], f"the grader connected {len(connected)} time(s) to the host socket"


def grade_fast_or_kill_the_worker(task):
    """A stand-in for `grade` with no kernel: a marked notebook kills its worker, any other is
    "graded" at once with its digest as its reason (so each result names its own notebook)."""
    if KILLS_ITS_WORKER.encode() in task.submitted.data:
        os._exit(1)
    return crashed(task.plan, f"graded {task.submitted.sha256}")


@settings(max_examples=4, deadline=None)  # each example starts pools: ~8 s
@given(marks=st.lists(st.booleans(), min_size=1, max_size=7), workers=st.integers(1, 3))
def test_whichever_notebooks_kill_their_workers_every_other_one_is_graded(tmp_path_factory,
                                                                         marks, workers):
    """Any notebooks of a class, in any places, kill every worker that grades them: each of them
    is recorded crashed, and every other one gets its own result."""
    folder = tmp_path_factory.mktemp("class")
    plan = read_plan(SOURCE)
    jobs = []
    for number, kills in enumerate(marks):
        path = folder / f"s{number}.ipynb"
        path.write_text(f"{KILLS_ITS_WORKER if kills else ''} notebook {number}")
        jobs.append(Job((f"s{number}",), plan, path))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local_pool, "grade", grade_fast_or_kill_the_worker)
        patch.setattr(local_pool, "compute_references",
                      lambda plans, limits, workers: {p.digest: References({}) for p in plans})
        results = local_pool.grade_many(jobs, workers=workers, progress=False)
    assert set(results) == {job.key for job in jobs}
    for job, kills in zip(jobs, marks, strict=True):
        reason = results[job.key].result.reason
        digest = submitted_digest(job.submission_path)
        assert reason == ("the grading worker process died" if kills else f"graded {digest}")
