"""Measure the similarity report on a synthetic class of every chapter of the course.

    python scripts/bench_similarity.py [--honest 40] [--pairs 10] [--published 5] [--swapped 5]
                                       [--seed 0]

The class (tests/synthetic_class.py), every student with their own variant of each chapter:
honest students who each write their own solutions in their own style, `--pairs` of them copied
by a classmate who disguises the copy (renamed variables, reordered functions, new comments, a
few words of the written answer changed), `--published` students who hand in the published
solutions, disguised, and `--swapped` students who hand in an honest classmate's notebook file
as their own. It prints, per chapter and in all, the recall on the planted pairs (each copier
found with its original, or with the published solutions, in a pair or a group), the honest
pairs at or above the report's threshold (false pairs; a group's member and the classmate it is
most alike, both honest, count as one), the wall time of `similarity_report` (reading the
submissions included; writing the class is not timed), and the variant mismatches the
grader's reading of each submission flags (every swapped student, naming the classmate, and
nobody else).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import synthetic_class  # noqa: E402

from autograder.reports.similarity import PUBLISHED, similarity_report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--honest", type=int, default=40)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--published", type=int, default=5)
    parser.add_argument("--swapped", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sources = {p.parent.name: p for p in sorted((ROOT / "course" / "source").glob("*/*.ipynb"))}
    made = synthetic_class.synthetic_class({a: str(p) for a, p in sources.items()},
                                           args.honest, args.pairs, args.published, args.seed,
                                           args.swapped)
    print(f"{len(made.answers)} students ({args.honest} honest, {args.pairs} disguised copies "
          f"of a classmate, {args.published} disguised copies of the published solutions, "
          f"{args.swapped} classmates' notebooks handed in as their own), {len(sources)} "
          "chapters")
    with tempfile.TemporaryDirectory() as folder:
        course = synthetic_class.write_per_student(Path(folder), sources, made)
        total_time, found_all, false_all, flagged_all, wrong_flags = 0.0, 0, 0, 0, 0
        for assignment in sources:
            started = time.perf_counter()
            report = similarity_report(course, assignment)
            seconds = time.perf_counter() - started
            total_time += seconds
            reported = {frozenset(pair.students) for pair in report.pairs}
            grouped = [{m.student for m in group.members} for group in report.groups]
            found = sum(frozenset((copier, original or PUBLISHED)) in reported
                        or any({copier, original or PUBLISHED} <= group for group in grouped)
                        for copier, original in made.planted)
            honest = set(made.honest)
            false = {frozenset(pair.students): pair.scores for pair in report.pairs
                     if set(pair.students) <= honest}
            false |= {frozenset((m.student, m.alike)): {group.kind: m.score}
                      for group in report.groups for m in group.members
                      if {m.student, m.alike} <= honest}
            found_all += found
            false_all += len(false)
            flags = synthetic_class.variant_flags(course, assignment, made.answers)
            flagged = sum(classmate + "'s variant" in flags.get(student, "")
                          for student, classmate in made.swapped)
            flagged_all += flagged
            wrong_flags += len(set(flags) - {student for student, _ in made.swapped})
            print(f"{assignment}: recall {found}/{len(made.planted)}, false pairs {len(false)} "
                  f"{[(sorted(p), scores) for p, scores in false.items()][:3]}, "
                  f"{seconds:.1f} s; variant mismatches flagged {flagged}/{len(made.swapped)}, "
                  f"others flagged {len(set(flags) - {s for s, _ in made.swapped})}")
        planted = len(made.planted) * len(sources)
        print(f"all chapters: recall {found_all}/{planted} ({found_all / planted:.0%}), false "
              f"pairs {false_all} among {args.honest} honest students x {len(sources)} chapters, "
              f"{total_time:.1f} s; variant mismatches flagged {flagged_all}/"
              f"{len(made.swapped) * len(sources)}, other students flagged {wrong_flags}")


if __name__ == "__main__":
    main()
