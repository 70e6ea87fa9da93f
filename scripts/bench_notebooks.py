"""Benchmark: each chapter's source notebook run headless, against the course's time budget.

A learner's laptop (2 cores, no GPU) should run any chapter top to bottom in about a minute
(TIME_BUDGET_SECONDS). This script runs each source notebook (with its solutions) the way
tests/test_notebooks.py does and prints the kernel's own time per chapter (the sum of its cells'
run times, from the notebook's recorded timings) beside the wall time with kernel start-up. It is
a figure, not a test: a machine shared with other jobs runs the same notebook several times
slower (the tests check that the notebooks run, not how fast).

Usage:  .venv/bin/python scripts/bench_notebooks.py [ch1_base_models ...]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

from extras import require  # noqa: E402  (scripts/, on the path as the script's folder)

require("test")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the headless runner lives with the notebook tests

from test_notebooks import CHAPTERS, execute, kernel_seconds, source_path  # noqa: E402

TIME_BUDGET_SECONDS = 60


def cpu_model() -> str:
    """The CPU's model name (as lscpu prints it), or the platform's processor string."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=CHAPTERS, choices=CHAPTERS,
                        help="chapters to run (default: all)")
    chapters = parser.parse_args().chapters
    print(f"{cpu_model()}; budget {TIME_BUDGET_SECONDS} s of kernel time per chapter")
    for chapter in chapters:
        notebook, wall = execute(source_path(chapter), allow_errors=True)
        seconds = kernel_seconds(notebook)
        verdict = "within" if seconds <= TIME_BUDGET_SECONDS else "OVER"
        print(f"  {chapter:28s} {seconds:6.1f} s in the kernel ({wall:6.1f} s wall time with "
              f"start-up): {verdict} the budget")


if __name__ == "__main__":
    main()
