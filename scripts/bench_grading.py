"""Benchmark: grade a synthetic class and print wall time and submissions per minute.

    python scripts/bench_grading.py [--students 30] [--jobs N] [--scheduler local:N|ADDRESS]
    python scripts/bench_grading.py --compare-with REV [--students 10] [--rounds 2]

The class is every assignment under course/source whose solutions pass their own
tests (or, if there are none yet, the test fixture copied as four assignments), with students
handing in a mix of correct (60%), partly wrong (15%) and adversarial (25%: infinite loops,
crashes, fork bombs, 2 GiB allocations, corrupt files...) notebooks. Grading goes through the
real path: sandboxed kernels in parallel, records, gradebook. Target: 120 submissions in under
5 minutes on 2 cores. With --scheduler the class is graded on that Dask cluster instead (target:
`local:2` within 1.15x of the local pool's wall time); either way the script projects, from the
measured cost per notebook, the wall time of 1,000 students x 4 chapters on 64 worker cores.

With --compare-with REV the same class is graded by this checkout's `llmf-grade grade` and by
the grader as it was at git revision REV (extracted with git archive), each in a process of its
own on a fresh copy of the collected course, alternating over --rounds; it prints both wall
times and their ratio. The class is then the test fixture as four assignments, the one
workload both revisions grade alike (the chapters differ between revisions).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path

from extras import require  # noqa: E402  (scripts/, on the path as the script's folder)

require("instructor")

import nbformat  # noqa: E402

from autograder import cluster  # noqa: E402
from autograder.course_folder import Course  # noqa: E402
from autograder.grade_class import grade_course  # noqa: E402
from autograder.grader.plan import PlanError, read_plan  # noqa: E402
from autograder.grader.sandbox import Limits  # noqa: E402
from autograder.local_pool import compute_references, default_workers  # noqa: E402
from autograder.release import release_assignment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the synthetic-class tool lives with the tests

import synthetic  # noqa: E402

COURSE_SOURCE = ROOT / "course" / "source"
FIXTURE = ROOT / "tests" / "fixtures" / "course" / "source" / "fx_basics" / "fx_basics.ipynb"
ADVERSARIAL = [*synthetic.ATTACKS, "corrupt", "empty"]
PROJECTED_NOTEBOOKS, PROJECTED_CORES = 1000 * 4, 64


def usable_sources(limits: Limits, workers: int) -> list[Path]:
    """Source notebooks of the course whose own solutions pass (the rest are skipped)."""
    usable = []
    for source in sorted(COURSE_SOURCE.glob("*/*.ipynb")):
        try:
            compute_references([read_plan(source)], limits, workers)
            usable.append(source)
        except (PlanError, RuntimeError) as error:
            print(f"skipping {source.parent.name}: {str(error)[:160]}", file=sys.stderr)
    return usable


def build_course(folder: Path, sources: list[Path], fixture: Path = FIXTURE) -> Course:
    """A course folder holding the given sources (the fixture as ch1..ch4 if none)."""
    shutil.copy(ROOT / "course" / "nbgrader_config.py", folder)
    pairs = [(s.parent.name, s) for s in sources] or [
        (f"fixture_ch{i}", fixture) for i in range(1, 5)]
    for assignment, source in pairs:
        target = folder / "source" / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copy(source, target)
    return Course(folder)


def student_notebook(source: Path, index: int):
    """The `index`-th student's notebook: correct, partly wrong or adversarial (or bytes)."""
    kind = index % 20
    if kind < 12:
        return synthetic.student_notebook(source, synthetic.correct_answers(source))
    if kind < 15:
        answers = synthetic.correct_answers(source)
        answers.pop(synthetic.answer_ids(source)[-1])
        return synthetic.student_notebook(source, answers)
    attack = ADVERSARIAL[(index // 20 + kind) % len(ADVERSARIAL)]
    if attack == "corrupt":
        return b'{"cells": ['
    if attack == "empty":
        return b""
    return synthetic.student_notebook(source, synthetic.attacked_answers(source, attack))


def submit_class(course: Course, students: int) -> int:
    count = 0
    for assignment in course.assignments():
        source = course.source(assignment, assignment)
        for index in range(students):
            path = course.submission(f"student{index:03d}", assignment, assignment)
            path.parent.mkdir(parents=True, exist_ok=True)
            notebook = student_notebook(source, index + count)
            if isinstance(notebook, bytes):
                path.write_bytes(notebook)
            else:
                nbformat.write(notebook, str(path))
        count += students
    return count


def extract_revision(revision: str, folder: Path) -> Path:
    """The project's files as they were at git `revision`, in `folder` (via git archive)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def environment_for(tree: Path, folder: Path) -> Path:
    """A Python environment like this one in which `tree`'s packages are the installed ones:
    this virtual environment hard-linked into `folder`, its editable install pointed at `tree`
    (the sandbox shows a kernel the packages of the environment that runs the grader). Its
    Python executable."""
    subprocess.run(["cp", "-al", sys.prefix, str(folder)], check=True)
    site = folder / Path(*Path(sysconfig.get_paths()["purelib"]).relative_to(sys.prefix).parts)
    for installed in site.glob("__editable__*llm_foundations*"):
        installed.unlink()  # a new file below, never a write into a hard-linked one
    (site / "llm_foundations_under_test.pth").write_text(f"{tree}\n")
    return folder / "bin" / "python"


def timed_grading(python: Path, course: Path, jobs: int) -> tuple[float, Counter]:
    """Wall time of `llmf-grade grade` run by the Python `python` on `course`, and the statuses
    it recorded."""
    command = [str(python), "-m", "autograder.cli", "--course", str(course), "grade",
               "-j", str(jobs)]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=course, check=False, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, errors="replace")
    seconds = time.perf_counter() - started
    results = [json.loads(path.read_text()) for path in course.glob("autograded/*/*/*.result.json")]
    if not results:  # a grader that refused the class: its time would be no figure at all
        raise SystemExit(f"{python} graded nothing in {course}:\n{finished.stderr[-2000:]}")
    return seconds, Counter(result["status"] for result in results)


def compare(revision: str, students: int, jobs: int, rounds: int) -> None:
    """Grade one class with this checkout and with `revision`, alternating; print the ratio."""
    with tempfile.TemporaryDirectory(prefix="llmf-bench-") as folder:
        folder = Path(folder)
        tree = extract_revision(revision, Path(tempfile.mkdtemp(dir=folder)))
        # each revision grades a class made from its own copy of the fixture (the same
        # exercises; the names of course_lib functions it forbids may differ between revisions)
        fixtures = {"this checkout": FIXTURE, revision: tree / FIXTURE.relative_to(ROOT)}
        courses, codes = {}, {"this checkout": Path(sys.executable),
                              revision: environment_for(tree, folder / "environment")}
        configs = {"this checkout": ROOT / "course" / "nbgrader_config.py",
                   revision: next(tree.glob("**/course/nbgrader_config.py"))}
        for name, fixture in fixtures.items():
            (folder / name).mkdir()
            courses[name] = build_course(folder / name, [], fixture)
            for assignment in courses[name].assignments():
                release_assignment(courses[name], assignment)
            total = submit_class(courses[name], students)
        print(f"{students} students x {len(courses[revision].assignments())} fixture assignments = "
              f"{total} submissions; local process pool, {jobs} parallel graders")
        times: dict[str, list[float]] = {name: [] for name in codes}
        for round_ in range(rounds):
            order = list(codes) if round_ % 2 == 0 else list(codes)[::-1]
            for name in order:
                copy = folder / f"round{round_}-{len(times[name])}-{name.replace(' ', '_')}"
                shutil.copytree(courses[name].root, copy)
                shutil.copy(configs[name], copy)  # each revision's own course settings
                seconds, statuses = timed_grading(codes[name], copy, jobs)
                times[name].append(seconds)
                print(f"  round {round_ + 1}: {name:>14}  {seconds:6.1f} s   "
                      + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
        new, old = min(times["this checkout"]), min(times[revision])
        paired = sorted(n / o for n, o in zip(times["this checkout"], times[revision], strict=True))
        print(f"best of {rounds}: this checkout {new:.1f} s, {revision} {old:.1f} s: "
              f"this checkout takes x{new / old:.2f} the time (median of the rounds' own "
              f"ratios: x{paired[len(paired) // 2]:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=default_workers())
    parser.add_argument("--scheduler", help="grade on this Dask cluster (local:N or an address)")
    parser.add_argument("--fixture", action="store_true",
                        help="grade the test fixture as four assignments, not the course")
    parser.add_argument("--compare-with", metavar="REV",
                        help="also grade the fixture class with the grader at git revision REV")
    parser.add_argument("--rounds", type=int, default=2, help="with --compare-with: rounds")
    args = parser.parse_args()
    if args.compare_with:
        compare(args.compare_with, args.students, args.jobs, args.rounds)
        return
    limits = Limits()
    with tempfile.TemporaryDirectory(prefix="llmf-bench-") as folder:
        sources = [] if args.fixture else usable_sources(limits, args.jobs)
        course = build_course(Path(folder), sources)
        for assignment in course.assignments():
            release_assignment(course, assignment)
        total = submit_class(course, args.students)
        graders = (cluster.local_workers(args.scheduler) if args.scheduler
                   and args.scheduler.startswith(cluster.LOCAL) else args.jobs)
        where = f"Dask cluster {args.scheduler}" if args.scheduler else "local process pool"
        print(f"{args.students} students x {len(course.assignments())} assignments = {total} "
              f"submissions; {where}, {graders} parallel graders; limits {limits}")
        started = time.perf_counter()
        statuses = grade_course(course, limits=limits, workers=args.jobs,
                                         scheduler=args.scheduler)
        seconds = time.perf_counter() - started
    print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    print(f"wall time {seconds:.1f} s, {total / seconds * 60:.1f} submissions per minute")
    per_notebook = seconds * graders / total  # core-seconds per notebook, start-up included
    projected = PROJECTED_NOTEBOOKS * per_notebook / PROJECTED_CORES
    print(f"{per_notebook:.2f} core-seconds per notebook: {PROJECTED_NOTEBOOKS} notebooks on "
          f"{PROJECTED_CORES} worker cores would take about {projected / 60:.1f} min")


if __name__ == "__main__":
    main()
