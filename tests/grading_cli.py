"""What the grading-workflow tests share: the fixture course and `llmf-grade` called in-process.

Example:
    >>> llmf(course_root, "grade", *FAST)  # doctest: +SKIP
    0
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from autograder.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "course"
SOURCE = FIXTURES / "source" / "fx_basics" / "fx_basics.ipynb"
FAST = ["--cell-timeout", "5", "--notebook-timeout", "60"]  # the fixture runs well within these


def llmf(course: Path, *args) -> int:
    """Run `llmf-grade --course COURSE ARGS...` in this process; its exit status."""
    return main(["--course", str(course), *map(str, args)])


def released_course(root: Path) -> Path:
    """The fixture course copied to `root` with the course's config, and released; `root`."""
    shutil.copytree(FIXTURES / "source", root / "source")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    assert llmf(root, "release", "--notebooks", root / "notebooks") == 0
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
