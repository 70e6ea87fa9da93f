"""No student can harm another or the grading machine: the sandbox's control group, its bounded
tmpfs, the bounds on what the grader reads from a kernel, and Ctrl-C on `llmf-grade grade`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import nbformat
import psutil
import pytest
import synthetic
from grading_cli import (
    FAST,
    FIXTURES,
    SOURCE,
    assert_nothing_left,
    grading_in_background,
    private_tmp,
    processes_with,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.cli import main
from autograder.grader import cgroups
from autograder.grader.kernel import HIDDEN_DROPPED, HiddenBudget, SandboxedKernel
from autograder.grader.sandbox import Limits, bwrap_works
from autograder.protocol import HIDDEN_MIME

LIMITS = Limits(cell_timeout=20, notebook_timeout=60)


def test_stop_kills_setsid_processes_that_ignore_signals():
    marker = f"llmf-isolation-{os.getpid()}"
    spawn = (
        "import subprocess, sys\n"
        f"code = 'import signal, os\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
        f"signal.signal(signal.SIGINT, signal.SIG_IGN)\\nwhile True: pass  # {marker}'\n"
        "for _ in range(3):\n"
        "    subprocess.Popen([sys.executable, '-c', code], start_new_session=True)\n"
    )
    kernel = SandboxedKernel(LIMITS)
    kernel.start()
    assert kernel.execute(spawn, timeout=20).status == "ok"
    deadline = time.monotonic() + 10
    while len(processes_with(marker)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(processes_with(marker)) == 3
    folders = list(kernel.group.folders.values())
    kernel.stop()
    deadline = time.monotonic() + 5
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []
    assert not any(folder.exists() for folder in folders)


@pytest.mark.skipif(not cgroups.hierarchies(), reason="no writable control groups here")
def test_each_sandbox_gets_one_core_an_equal_share_and_a_memory_limit_covering_tmpfs():
    kernel = SandboxedKernel(LIMITS)
    kernel.start()
    try:
        folders = kernel.group.folders
        assert set(folders) == {"cpu", "memory", "pids"}
        cpu, memory = folders["cpu"], folders["memory"]
        if (cpu / "cpu.max").exists():
            assert (cpu / "cpu.max").read_text().split() == ["100000", "100000"]
            limit = int((memory / "memory.max").read_text())
        else:
            assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "100000"
            assert (cpu / "cpu.shares").read_text().strip() == "1024"
            limit = int((memory / "memory.limit_in_bytes").read_text())
        assert limit == LIMITS.sandbox_memory_bytes()
        assert kernel.process.pid in kernel.group.pids()
    finally:
        kernel.stop()


def test_cgroup_version_is_detected_and_the_fallback_is_none(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert cgroups.hierarchies(v2) == {name: v2 for name in cgroups.CONTROLLERS}
    v1 = tmp_path / "v1"
    for name in ("cpu", "memory", "pids", "unified"):
        (v1 / name).mkdir(parents=True)
    (v1 / "unified" / "cgroup.controllers").write_text("hugetlb\n")  # an empty v2 beside v1
    assert cgroups.hierarchies(v1) == {name: v1 / name for name in cgroups.CONTROLLERS}
    assert cgroups.hierarchies(tmp_path / "none") is None
    group = cgroups.SandboxGroup(2**30, 64, root=v1)
    assert group.active and group.wrap(["true"])[:2] == ["/bin/sh", "-c"]
    group.folders = {}  # fake folders hold no members; nothing to kill
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert not cgroups.SandboxGroup(2**30, 64, root=v1).active
    assert cgroups.SandboxGroup(2**30, 64, root=v1).wrap(["true"]) == ["true"]


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap is not available")
def test_the_sandbox_tmpfs_is_bounded():
    fill = (
        "import errno\nwritten = 0\n"
        "for folder in ('/tmp', '.', '/dev/shm'):\n"
        "    for i in range(64):\n"
        "        try:\n"
        "            with open(f'{folder}/f{i}', 'wb') as f:\n"
        "                f.write(b'x' * (32 * 2**20))\n"
        "            written += 32\n"
        "        except OSError as e:\n"
        "            assert e.errno == errno.ENOSPC, e\n"
        "            break\n"
        "    else:\n"
        "        raise AssertionError(folder + ' took 2 GiB')\n"
        "print(written)\n"
    )
    limits = Limits(cell_timeout=60, notebook_timeout=120, tmpfs_mb=128)
    with SandboxedKernel(limits) as kernel:
        outcome = kernel.execute(fill, timeout=60)
        assert outcome.status == "ok", outcome.error
        assert int(outcome.output) <= 3 * 128
        assert kernel.execute("open('/escape', 'w')", timeout=10).status == "error"


def test_hidden_message_flood_is_bounded_while_reading():
    """200 MB of forged hidden-case messages: the grader keeps max_hidden_kb of them and its
    own memory stays flat."""
    flood = (
        "from IPython.display import publish_display_data\n"
        "for _ in range(400):\n"
        f"    publish_display_data({{{HIDDEN_MIME!r}: {{'name': 'x', "
        "'cases': [{'value': 'a' * 500_000}]}})\n"
        "print('sent')\n"
    )
    me = psutil.Process()
    with SandboxedKernel(LIMITS) as kernel:
        before = me.memory_info().rss
        outcome = kernel.execute(flood, timeout=60)
        grown = me.memory_info().rss - before
        assert outcome.status == "ok" and "sent" in outcome.output
        assert HIDDEN_DROPPED in outcome.output
        assert 0 < sum(len(json.dumps(h)) for h in outcome.hidden) <= LIMITS.max_hidden_kb * 1024
        assert grown < 100 * 2**20, f"the grader grew by {grown >> 20} MB"
        again = kernel.execute(flood, timeout=60)  # the notebook's budget is spent
        assert again.hidden == [] and HIDDEN_DROPPED in again.output


def test_ctrl_c_stops_grading_within_seconds_keeps_grades_and_leaves_nothing(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    assert main(["--course", str(root), "release", "--notebooks", str(tmp_path / "nb")]) == 0
    folder = tmp_path / "subs"
    folder.mkdir()
    slow = synthetic.attacked_answers(SOURCE, "ignores_interrupts")
    for index in range(12):
        answers = synthetic.correct_answers(SOURCE) if index % 2 else slow
        nbformat.write(synthetic.student_notebook(SOURCE, answers),
                       str(folder / f"s{index:02d}_fx_basics.ipynb"))
    assert main(["--course", str(root), "collect", "fx_basics", str(folder)]) == 0
    with private_tmp() as tmp:
        grader = grading_in_background(root, "-j", "2", *FAST, capture=True, tmp=tmp)
        time.sleep(1.0)  # kernels are mid-cell now
        interrupted = time.monotonic()
        os.killpg(grader.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, err = grader.communicate(timeout=60)
        assert_nothing_left(grader.pid, tmp)
    took = time.monotonic() - interrupted
    print(f"Ctrl-C stopped the grading run in {took:.2f} s")
    assert grader.returncode == 130, err
    assert took < 10, f"Ctrl-C took {took:.1f} s"
    assert "interrupted" in out and "every grade recorded so far is kept" in err
    recorded = list(root.glob("autograded/*/*/*.result.json"))
    assert 1 <= len(recorded) < 12
    for path in recorded:
        assert json.loads(path.read_text())["status"] in ("needs_manual_grading", "timed_out")


MESSAGE = st.one_of(
    st.tuples(st.just("stream"), st.integers(0, 50_000)),
    st.tuples(st.just("display_data"), st.integers(0, 3 * 2**20)),  # hidden-case reports
    st.tuples(st.just("execute_result"), st.integers(0, 50_000)),
)


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.lists(MESSAGE, max_size=40), min_size=1, max_size=4))
def test_what_the_grader_keeps_is_bounded_per_cell_and_per_notebook(cells):
    """Any stream of kernel messages: a cell's output stays within max_output_chars (plus the
    truncation notes), its hidden data within max_hidden_kb, the notebook's within its budget."""
    limits = Limits(max_output_chars=20_000, max_hidden_kb=4096)
    budget = HiddenBudget(limits.max_hidden_kb * 1024)
    kernel = SandboxedKernel(limits, budget=budget)
    kernel.alive = lambda: True
    kept_total = 0
    for cell in cells:
        stream = []
        for kind, size in cell:
            if kind == "display_data":
                content = {"data": {HIDDEN_MIME: {"size": size}}}
            elif kind == "stream":
                content = {"text": "x" * size}
            else:
                content = {"data": {"text/plain": "y" * size}}
            stream.append(({"msg_type": kind, "content": content,
                            "parent_header": {"msg_id": "m"}}, size))
        stream.append(({"msg_type": "status", "content": {"execution_state": "idle"},
                        "parent_header": {"msg_id": "m"}}, 10))
        kernel._next_message = lambda timeout, stream=stream: stream.pop(0)
        outcome = kernel._collect("m", time.monotonic() + 60)
        kept = sum(report["size"] for report in outcome.hidden)
        kept_total += kept
        assert kept <= limits.max_hidden_kb * 1024
        notes = len("\n[output truncated]\n") + len(HIDDEN_DROPPED)
        assert len(outcome.output) <= limits.max_output_chars + notes
    assert kept_total <= limits.max_hidden_kb * 1024
