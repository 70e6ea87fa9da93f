"""Measure what a harmful class costs the grading machine: the peak host memory while grading the
memory cases, and the time Ctrl-C takes to stop a grading run.

    python scripts/bench_isolation.py [--students 4] [--jobs 2]

Both go through the real command line (`python -m autograder.cli grade`) on a copy of the test
fixture course. Memory: every student hands in a correct notebook plus one memory attack (a
2 GiB allocation, 4 GiB written into the sandbox's in-memory folders, 50 MB of forged
hidden-case messages); the whole process tree of the grader (grader, workers, sandboxes) is
sampled through /proc every 50 ms, and the grader's side (without the sandboxes) is reported
apart. Ctrl-C: the same class with notebooks that spin in a cell, SIGINT to the grader's
process group (as a terminal sends it) once the first result is recorded; the figure is the
time until the grader has exited.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from extras import require  # noqa: E402  (scripts/, on the path as the script's folder)

require("instructor", "test")

import nbformat  # noqa: E402
import psutil  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import synthetic  # noqa: E402
from test_autograder_matrix import FILL_TMPFS, HIDDEN_FLOOD  # noqa: E402

from autograder.cli import main as llmf  # noqa: E402

SOURCE = ROOT / "tests" / "fixtures" / "course" / "source" / "fx_basics" / "fx_basics.ipynb"
FAST = ["--cell-timeout", "10", "--notebook-timeout", "90"]
MB = 2**20


def memory_attacks() -> list[dict[str, str]]:
    correct = synthetic.correct_answers(SOURCE)
    hog = synthetic.attacked_answers(SOURCE, "memory_2gib")
    return [hog,
            dict(correct, linear_answer=correct["linear_answer"] + "\n" + FILL_TMPFS),
            dict(correct, q1_answer=correct["q1_answer"] + "\n" + HIDDEN_FLOOD)]


def make_class(folder: Path, answers: list[dict[str, str]], students: int) -> Path:
    root = folder / "course"
    shutil.copytree(SOURCE.parents[1], root / "source")
    assert llmf(["--course", str(root), "release", "--notebooks", str(folder / "nb")]) == 0
    handed_in = folder / "handed_in"
    handed_in.mkdir()
    for index in range(students):
        notebook = synthetic.student_notebook(SOURCE, answers[index % len(answers)])
        nbformat.write(notebook, str(handed_in / f"s{index:02d}_fx_basics.ipynb"))
    assert llmf(["--course", str(root), "collect", "fx_basics", str(handed_in)]) == 0
    return root


def grader(root: Path, jobs: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "autograder.cli", "--course", str(root), "grade",
               "-j", str(jobs), *FAST]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def tree_rss(pid: int) -> tuple[int, int]:
    """(resident bytes of the grader's side, of the whole tree) for the tree under `pid`."""
    try:
        top = psutil.Process(pid)
        processes = [top, *top.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    grader_side = whole = 0
    for process in processes:
        try:
            rss = process.memory_info().rss
            sandboxed = "autograder.in_kernel.boot" in " ".join(process.cmdline()) or any(
                "autograder.in_kernel.boot" in " ".join(parent.cmdline())
                for parent in process.parents())
        except psutil.Error:
            continue
        whole += rss
        grader_side += 0 if sandboxed else rss
    return grader_side, whole


def in_use() -> int:
    """Host memory not available to new programs (tmpfs pages count: they cannot be freed)."""
    memory = psutil.virtual_memory()
    return memory.total - memory.available


def measure_memory(students: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = make_class(Path(folder), memory_attacks(), students)
        baseline = in_use()
        run, peaks, started = grader(root, jobs), [0, 0, 0], time.monotonic()
        while run.poll() is None:
            side, whole = tree_rss(run.pid)
            used = in_use() - baseline
            peaks = [max(peaks[0], side), max(peaks[1], whole), max(peaks[2], used)]
            time.sleep(0.05)
        print(f"memory cases: {students} notebooks graded in {time.monotonic() - started:.1f} s "
              f"(exit {run.returncode})")
        print(f"  peak RSS, grader side (grader + workers): {peaks[0] / MB:.0f} MB")
        print(f"  peak RSS, whole tree (with sandboxed kernels): {peaks[1] / MB:.0f} MB")
        print(f"  peak rise of the host's memory in use (tmpfs included; other programs "
              f"too): {peaks[2] / MB:.0f} MB")


def measure_interrupt(students: int, jobs: int) -> None:
    slow = synthetic.attacked_answers(SOURCE, "ignores_interrupts")
    with tempfile.TemporaryDirectory() as folder:
        root = make_class(Path(folder), [synthetic.correct_answers(SOURCE), slow], students)
        run = grader(root, jobs)
        while not list(root.glob("autograded/*/*/*.result.json")) and run.poll() is None:
            time.sleep(0.05)
        time.sleep(1.0)
        interrupted = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)
        run.wait()
        took = time.monotonic() - interrupted
        kept = len(list(root.glob("autograded/*/*/*.result.json")))
        print(f"Ctrl-C: stopped in {took:.2f} s (exit {run.returncode}), {kept} of {students} "
              "grades kept")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    measure_memory(args.students, args.jobs)
    measure_interrupt(max(args.students, 8), args.jobs)


if __name__ == "__main__":
    main()
