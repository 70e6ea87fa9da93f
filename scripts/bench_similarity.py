"""Measure the similarity report on a synthetic class of the course's four chapters.

    python scripts/bench_similarity.py [--honest 45] [--pairs 10] [--published 5] [--seed 0]

The class (tests/synthetic_class.py): honest students who each write their own solutions in
their own style, `--pairs` of them copied by a classmate who disguises the copy (renamed
variables, reordered functions, new comments, a few words of the written answer changed), and
`--published` students who hand in the published solutions, disguised. It prints, per chapter
and in all, the recall on the planted pairs (each copier found with its original, or with the
published solutions), the honest pairs at or above the report's threshold (false pairs), and
the wall time of `similarity_report` (reading the submissions included; writing the class is not
timed).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import synthetic  # noqa: E402
import synthetic_class  # noqa: E402

from autograder.course_folder import Course  # noqa: E402
from autograder.reports.similarity import PUBLISHED, similarity_report  # noqa: E402


def write_class(root: Path, sources: dict[str, Path], made) -> Course:
    for assignment, source in sources.items():
        shutil.copytree(source.parent, root / "source" / assignment)
        for student, answers in made.answers.items():
            notebook = synthetic.student_notebook(source, answers[assignment],
                                                  written=made.written[student][assignment])
            path = root / "submitted" / student / assignment / source.name
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, str(path))
    return Course(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--honest", type=int, default=45)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--published", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sources = {p.parent.name: p for p in sorted((ROOT / "course" / "source").glob("*/*.ipynb"))}
    made = synthetic_class.synthetic_class({a: str(p) for a, p in sources.items()},
                                           args.honest, args.pairs, args.published, args.seed)
    print(f"{len(made.answers)} students ({args.honest} honest, {args.pairs} disguised copies "
          f"of a classmate, {args.published} disguised copies of the published solutions), "
          f"{len(sources)} chapters")
    with tempfile.TemporaryDirectory() as folder:
        course = write_class(Path(folder), sources, made)
        total_time, found_all, false_all = 0.0, 0, 0
        for assignment in sources:
            started = time.perf_counter()
            report = similarity_report(course, assignment)
            seconds = time.perf_counter() - started
            total_time += seconds
            reported = {frozenset(pair.students) for pair in report.pairs}
            found = sum(frozenset((copier, original or PUBLISHED)) in reported
                        for copier, original in made.planted)
            honest = set(made.honest)
            false = [pair for pair in report.pairs if set(pair.students) <= honest]
            found_all += found
            false_all += len(false)
            print(f"{assignment}: recall {found}/{len(made.planted)}, false pairs {len(false)} "
                  f"{[(p.students, p.scores) for p in false][:3]}, {seconds:.1f} s")
        planted = len(made.planted) * len(sources)
        print(f"all chapters: recall {found_all}/{planted} ({found_all / planted:.0%}), false "
              f"pairs {false_all} among {args.honest} honest students x {len(sources)} chapters, "
              f"{total_time:.1f} s")


if __name__ == "__main__":
    main()
