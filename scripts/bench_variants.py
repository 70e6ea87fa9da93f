"""Measure per-student variants: the release of a class, and what a variant costs in grading.

    python scripts/bench_variants.py [--students 60] [--graded 4] [--chapter CHAPTER]

1. `llmf-grade release --per-student --course-key` of the course's chapters for a roster of
   `--students` students, timed whole (nbgrader's classroom edition of every chapter included)
   and for its per-student part alone (release_per_student again, on the same release).
2. Grading `--graded` students' correct notebooks of one chapter on this machine's process
   pool, as a class without variants (one reference run for the chapter) and as the same
   students each with their own variant (one reference run per student, since each variant
   has its own references), each twice, in the order without, with, with, without. It prints
   the mean wall time per student of each and their ratio.

Everything runs in a temporary copy of the course folder.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from extras import require  # noqa: E402  (scripts/, on the path as the script's folder)

require("instructor")

import nbformat  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import synthetic  # noqa: E402

from autograder.class_variants import (  # noqa: E402
    ClassVariants,
    release_per_student,
    write_manifest,
)
from autograder.cli import main as llmf_grade  # noqa: E402
from autograder.course_folder import Course  # noqa: E402
from autograder.grade_class import grade_course  # noqa: E402
from autograder.release import release_assignment  # noqa: E402


def cpu_model() -> str:
    """The processor's model name as lscpu gives it."""
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def course_copy(folder: Path, chapters: list[str]) -> Course:
    for chapter in chapters:
        shutil.copytree(ROOT / "course" / "source" / chapter, folder / "source" / chapter)
    shutil.copy(ROOT / "course" / "nbgrader_config.py", folder)
    return Course(folder)


def time_release(folder: Path, students: int) -> tuple[float, float, int]:
    """(whole release in s, its per-student part in s, per-student files written)."""
    chapters = sorted(p.name for p in (ROOT / "course" / "source").iterdir() if p.is_dir())
    course = course_copy(folder, chapters)
    roster = folder / "roster.csv"
    roster.write_text("student\n" + "".join(f"s{n:03d}\n" for n in range(students)))
    started = time.perf_counter()
    status = llmf_grade(["--course", str(folder), "release", "--per-student", "--roster",
                         str(roster), "--course-key"])
    whole = time.perf_counter() - started
    if status != 0:
        raise SystemExit("the release failed")
    started = time.perf_counter()
    written = release_per_student(course, chapters, [f"s{n:03d}" for n in range(students)],
                                  use_key=True)
    return whole, time.perf_counter() - started, len(written)


def time_grading(folder: Path, chapter: str, students: int, per_student: bool) -> float:
    """Wall time of grading `students` correct notebooks of `chapter`."""
    course = course_copy(folder, [chapter])
    release_assignment(course, chapter)  # the gradebook learns the chapter
    names = [f"s{n:03d}" for n in range(students)]
    source = course.source(chapter, chapter)
    if per_student:
        write_manifest(course, names, use_key=False)
    variants = ClassVariants(course)
    for student in names:
        if per_student:
            notebook = synthetic.with_answers(
                synthetic.own_release(variants, student, chapter, chapter),
                synthetic.plan_answers(variants.plan(student, chapter, chapter)))
        else:
            notebook = synthetic.student_notebook(source, synthetic.correct_answers(source))
        path = course.submission(student, chapter, chapter)
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, str(path))
    started = time.perf_counter()
    statuses = grade_course(course, [chapter], workers=2, progress=False)
    seconds = time.perf_counter() - started
    print(f"  {'per-student variants' if per_student else 'one class-wide edition'}: "
          f"{dict(statuses)} in {seconds:.1f} s, {seconds / students:.1f} s per student")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--graded", type=int, default=4)
    parser.add_argument("--chapter", default="ch3_pretraining_objective")
    parser.add_argument("--skip-grading", action="store_true")
    args = parser.parse_args()
    print(f"machine: {cpu_model()}")
    with tempfile.TemporaryDirectory() as folder:
        whole, part, written = time_release(Path(folder), args.students)
    print(f"release --per-student for {args.students} students: {whole:.1f} s in all; the "
          f"per-student part {part:.1f} s for {written} notebooks")
    if args.skip_grading:
        return
    print(f"grading {args.graded} correct notebooks of {args.chapter} (process pool, 2 workers),"
          " in the order without, with, with, without variants (a shared machine's load drifts):")
    times = {False: 0.0, True: 0.0}
    for per_student in (False, True, True, False):
        with tempfile.TemporaryDirectory() as folder:
            times[per_student] += time_grading(Path(folder), args.chapter, args.graded,
                                               per_student)
    own, shared = times[True] / 2, times[False] / 2
    print(f"per student: {own / args.graded:.1f} s with variants, {shared / args.graded:.1f} s "
          f"without: x{own / shared:.2f} (references: one run per student with variants, one "
          "per chapter without)")


if __name__ == "__main__":
    main()
