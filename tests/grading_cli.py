"""What the grading-workflow tests share: the fixture course and `llmf-grade` called in-process.

Example:
    >>> llmf(course_root, "grade", *FAST)  # doctest: +SKIP
    0
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from autograder.cli import main
from autograder.grader import cgroups, scratch

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "course"
SOURCE = FIXTURES / "source" / "fx_basics" / "fx_basics.ipynb"
FAST = ["--cell-timeout", "5", "--notebook-timeout", "60"]  # the fixture runs well within these


def llmf(course: Path, *args) -> int:
    """Run `llmf-grade --course COURSE ARGS...` in this process; its exit status."""
    return main(["--course", str(course), *map(str, args)])


@functools.cache
def _released_fixture_course() -> Path:
    """The fixture course with the course's config, released once in this process (nbgrader's
    release takes seconds, and many tests start from it); removed when the process ends."""
    folder = Path(tempfile.mkdtemp(prefix="llmf-released-fixture-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    root = folder / "course"
    shutil.copytree(FIXTURES / "source", root / "source")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    assert llmf(root, "release", "--notebooks", root / "notebooks") == 0
    return root


def released_course(root: Path) -> Path:
    """The fixture course copied to `root` with the course's config, and released; `root`.
    The release runs once per test process: `root` gets a copy of its every file (sources,
    release/, notebooks/, gradebook.db, the exchange folder), which hold no path of their own."""
    shutil.copytree(_released_fixture_course(), root, dirs_exist_ok=True)
    return root


def grading_in_background(course: Path, *args, capture: bool = False,
                          tmp: Path | None = None) -> subprocess.Popen:
    """`llmf-grade --course COURSE grade ARGS...` started in a session of its own (a signal to
    its process group reaches its workers, as a terminal's would), returned once it has recorded
    its first result (or after 240 s); with `capture`, its stdout and stderr are text pipes;
    with `tmp`, that is its temporary folder (TMPDIR)."""
    command = [sys.executable, "-m", "autograder.cli", "--course", str(course), "grade",
               *map(str, args)]
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    environment = {**os.environ, "TMPDIR": str(tmp)} if tmp else None
    grader = subprocess.Popen(command, stdout=output, stderr=output, text=True,
                              start_new_session=True, env=environment)
    deadline = time.monotonic() + 240
    while not list(course.glob("autograded/*/*/*.result.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    return grader


def grading(course: Path, *args, tmp: Path) -> tuple[subprocess.Popen, str]:
    """`llmf-grade --course COURSE grade ARGS...` run to its end with `tmp` as its TMPDIR: the
    finished process (its pid names its runs) and what it wrote to stderr."""
    command = [sys.executable, "-m", "autograder.cli", "--course", str(course), "grade",
               *map(str, args)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "TMPDIR": str(tmp)})
    _, err = process.communicate(timeout=600)
    return process, err


@contextlib.contextmanager
def private_tmp() -> Iterator[Path]:
    """A temporary folder for grading runs, on a short path (kernel sockets live there, and a
    Unix socket's name has at most 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="llmf-test-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def processes_with(marker: str) -> list[int]:
    """Ids of the processes whose command line contains `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_text():
                found.append(int(pid))
        except OSError:
            pass
    return found


def assert_nothing_left(owner: int, tmp: Path) -> None:
    """No file, control group or process of the grading runs of process `owner` is left, and
    its temporary folder `tmp` is empty."""
    assert list(tmp.iterdir()) == []
    for parent in set((cgroups.hierarchies() or {}).values()):
        assert list(parent.glob(f"llmf-{owner}.*")) == []
    assert processes_with(str(tmp)) == []  # a kernel's command line names its folder
    workers = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(scratch.RUN_ENV, "").startswith(f"{owner}."):
                workers.append(process.pid)
        except psutil.Error:
            pass
    assert workers == []
