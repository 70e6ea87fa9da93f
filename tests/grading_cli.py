"""What the grading-workflow tests share: the fixture course and `llmf-grade` called in-process.

Example:
    >>> llmf(course_root, "grade", *FAST)  # doctest: +SKIP
    0
"""

from __future__ import annotations

from pathlib import Path

from autograder.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "course"
SOURCE = FIXTURES / "source" / "fx_basics" / "fx_basics.ipynb"
FAST = ["--cell-timeout", "5", "--notebook-timeout", "60"]  # the fixture runs well within these


def llmf(course: Path, *args) -> int:
    """Run `llmf-grade --course COURSE ARGS...` in this process; its exit status."""
    return main(["--course", str(course), *map(str, args)])
