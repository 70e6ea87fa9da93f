"""A grading run's temporary folders cannot outlive it (grader.scratch): the owner removes
them however the run ends, a worker removes its own when it exits, and the folders of a run whose
owner is gone are removed by the next run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import sys
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.grader import scratch
from autograder.grader.kernel import KernelStartError, SandboxedKernel
from autograder.grader.sandbox import Limits


@pytest.fixture
def tmp(tmp_path, monkeypatch):
    """This process's temporary folder, private to the test; no run tag inherited."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # for the processes it starts
    monkeypatch.delenv(scratch.RUN_ENV, raising=False)
    return tmp_path


class Stop(Exception):
    pass


@pytest.mark.parametrize("ending", [None, Stop, KeyboardInterrupt])
def test_the_owner_removes_the_run_folder_however_the_run_ends(tmp, ending):
    with pytest.raises(ending) if ending else contextlib.nullcontext():
        with scratch.grading_run() as tag:
            assert os.environ[scratch.RUN_ENV] == tag
            folder = scratch.scratch_folder("kernel-")
            assert folder.parent == scratch.run_folder(tag) and folder.is_dir()
            if ending:
                raise ending
    assert list(tmp.iterdir()) == []
    assert scratch.RUN_ENV not in os.environ  # the previous tag (none) is back


def test_two_runs_of_one_process_never_share_a_folder(tmp):
    with scratch.grading_run() as first:
        pass
    with scratch.grading_run() as second:
        pass
    assert first != second
    assert first.split(".")[0] == second.split(".")[0] == str(os.getpid())


def make_scratch(queue) -> None:
    queue.put(str(scratch.scratch_folder("course-view-")))


def test_a_worker_removes_its_folders_when_it_exits(tmp):
    with scratch.grading_run() as tag:
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        worker = context.Process(target=make_scratch, args=(queue,))
        worker.start()
        made = queue.get(timeout=60)
        worker.join(60)
        assert made.startswith(str(scratch.run_folder(tag)))
        assert not os.path.exists(made)  # gone with the worker, the run still going on


def make_and_remove_scratch(queue) -> None:
    folder = scratch.scratch_folder("kernel-")
    scratch.remove_scratch(folder)
    queue.put((folder.exists(), len(scratch._removals)))


def test_a_removed_folder_is_not_kept_for_the_exit(tmp):
    """A worker that grades many notebooks keeps no removal per finished kernel."""
    with scratch.grading_run():
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        worker = context.Process(target=make_and_remove_scratch, args=(queue,))
        worker.start()
        assert queue.get(timeout=60) == (False, 0)
        worker.join(60)


def test_a_process_outside_any_run_removes_its_own_run_folder_at_exit(tmp):
    code = ("from autograder.grader import scratch; "
            "print(scratch.scratch_folder('kernel-'), scratch.scratch_folder('course-view-'))")
    made = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split()
    assert len(made) == 2 and all(path.startswith(str(tmp)) for path in made)
    assert list(tmp.iterdir()) == []


def finished_process_id() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@settings(max_examples=25, deadline=None)
@given(owners=st.lists(st.sampled_from(["alive", "gone", "not a run"]), max_size=6))
def test_orphans_are_exactly_the_runs_whose_owner_is_gone(owners):
    with tempfile.TemporaryDirectory() as folder:
        saved, tempfile.tempdir = tempfile.tempdir, folder
        try:
            names = []
            for index, owner in enumerate(owners):
                pid = os.getpid() if owner == "alive" else finished_process_id()
                prefix = scratch.PREFIX if owner != "not a run" else "llmf-other-"
                name = f"{prefix}{pid}.{index}"
                os.makedirs(os.path.join(folder, name, "kernel-x"))
                names.append(name)
            scratch.remove_orphans()
            kept = sorted(os.listdir(folder))
        finally:
            tempfile.tempdir = saved
    expected = sorted(name for name, owner in zip(names, owners, strict=True) if owner != "gone")
    assert kept == expected


def test_a_temporary_folder_too_long_for_kernel_sockets_is_a_clear_error(tmp, monkeypatch):
    deep = tmp / ("d" * 100)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    with pytest.raises(KernelStartError, match="set TMPDIR to a shorter folder"):
        SandboxedKernel(Limits()).start()
    assert list(deep.rglob("kernel-*")) == []  # the kernel's folder is removed again
