"""The similarity report's groups (autograder/reports/groups.py): a ring of students who each
hand in a differently disguised copy of one answer is reported, however many they are, in work
linear in the class; an idiom the whole class writes is not, and honest answers are not.

The sample: a fingerprint held by more than MAX_HOLDERS (20) compared answers made no pairs, so
a ring of 21 or more copies, each disguised its own way (reordered functions and statements, a
line added, new comments and names), was reported by nothing they share; copies the same in
every fingerprint were (as one group of the same answers). Here the classes are made of answers
written by a generator (`honest_answer`: functions of random numpy calls and operators, so two
of them share only what any two share: the idiom of the generator's lines), and the ring's
copies are disguised by the disguises each test draws. The work is counted, never timed: the
pairs the fingerprints make, the holders counted per answer, the answers compared whole, the
groups, the page's bytes.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import synthetic_class  # noqa: E402

from autograder.course_folder import Course  # noqa: E402
from autograder.reports import groups as groups_module  # noqa: E402
from autograder.reports import similarity  # noqa: E402
from autograder.reports.groups import CANDIDATES  # noqa: E402
from autograder.reports.similarity import (  # noqa: E402
    KINDS,
    MAX_HOLDERS,
    PUBLISHED,
    THRESHOLD,
    Document,
)

CALLS = ["sum", "mean", "max", "min", "cumsum", "exp", "log", "sqrt", "abs", "argmax",
         "argmin", "sort", "diff", "prod", "std", "var", "tanh", "round", "clip", "ravel"]
OPERATORS = ["+", "-", "*", "/", "**", "//", "%", "@"]
OPERANDS = ["b", "b[0]", "b.T", "b[:, None]", "b[1:]"]
IDIOM = ("def softmax(z):\n"
         "    e = np.exp(z - z.max(axis=-1, keepdims=True))\n"
         "    return e / e.sum(axis=-1, keepdims=True)\n")


def honest_answer(rng: random.Random, functions: int = 5, statements: int = 8
                  ) -> list[list[str]]:
    """An answer of its own: `functions` functions of `statements` random numpy calls each,
    as lists of lines."""
    answer = []
    for number in range(functions):
        lines = [f"def f{number}_{rng.randrange(10**6)}(a, b):"]
        lines += [f"    c{i} = np.{rng.choice(CALLS)}(a {rng.choice(OPERATORS)} "
                  f"{rng.choice(OPERANDS)})" for i in range(statements)]
        answer.append([*lines, f"    return c{statements - 1}"])
    return answer


def _reorder(answer, rng):
    rng.shuffle(answer)


def _swap(answer, rng):
    lines = rng.choice(answer)
    i = rng.randrange(1, len(lines) - 2)  # two statements, never the header or the return
    lines[i], lines[i + 1] = lines[i + 1], lines[i]


def _dead_line(answer, rng):
    lines = rng.choice(answer)
    lines.insert(rng.randrange(1, len(lines)), rng.choice(["    print(a)", "    a = a"]))


def _comment(answer, rng):
    lines = rng.choice(answer)
    lines.insert(rng.randrange(1, len(lines)), "    " + rng.choice(synthetic_class.COMMENTS))


DISGUISES = {"reorder functions": _reorder, "swap two statements": _swap,
             "add a line": _dead_line, "comment": _comment}


def disguised(answer: list[list[str]], disguises: list[str], rng: random.Random) -> str:
    """A copy of `answer` with each of `disguises` applied (in its own random places) and its
    local names renamed, as a copier hands it in."""
    copy = [list(lines) for lines in answer]
    for name in disguises:
        DISGUISES[name](copy, rng)
    return synthetic_class.rename(render(copy), rng)


def render(answer: list[list[str]]) -> str:
    return "\n\n".join("\n".join(lines) for lines in answer) + "\n"


class Work:
    """What a report's comparison did: pairs made by the fingerprints (each pair of a
    fingerprint's holders, `shared_counts`), holders counted by the groups (`groups.Counter`),
    answers compared whole (`groups.dice`)."""

    def __init__(self):
        self.pairs_made = self.holders_counted = self.compared_whole = 0


def measured_report(answers: dict[str, str], threshold: float = THRESHOLD,
                    holders: int = MAX_HOLDERS) -> tuple[similarity.Report, Work]:
    """The report comparing the code `answers` ({student: code}; no written answers, no
    starter, published solutions of nothing), with at most `holders` answers per fingerprint's
    pairs, and the work it did."""
    work = Work()
    documents = {"code": {name: similarity.document([code], "code")
                          for name, code in answers.items()},
                 "text": {name: Document([]) for name in answers}}
    for kind in KINDS:
        documents[kind][PUBLISHED] = Document([])

    def counted_shared_counts(order, kept):
        held = Counter(value for name in order for value in kept[name])
        work.pairs_made += sum(n * (n - 1) // 2 for n in held.values())
        return shared_counts(order, kept)

    def counted_dice(first, second):
        work.compared_whole += 1
        return dice(first, second)

    class CountedCounter(Counter):
        def __init__(self, iterable=()):
            items = list(iterable)
            work.holders_counted += len(items)
            super().__init__(items)

    shared_counts, dice = similarity.shared_counts, groups_module.dice
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(similarity, "shared_counts", counted_shared_counts)
        patch.setattr(similarity, "MAX_HOLDERS", holders)
        patch.setattr(groups_module, "dice", counted_dice)
        patch.setattr(groups_module, "Counter", CountedCounter)
        report = similarity.compare("a1", documents, {k: Document([]) for k in KINDS},
                                    threshold)
    return report, work


def reported_together(report: similarity.Report) -> dict[str, str]:
    """{student: the first of the students the report puts together with them}: the
    connected components of its pairs, its groups of the same answers and its groups."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    links = [pair.students for pair in report.pairs]
    links += [(first, other) for first, others in report.same.items() for other in others]
    links += [(group.members[0].student, m.student) for group in report.groups
              for m in group.members]
    for first, second in links:
        parent[root(second)] = root(first)
    return {name: root(name) for name in parent}


def a_class(rings: list[int], honest: int, disguises: list[str], seed: int
            ) -> tuple[dict[str, str], list[list[str]], list[str]]:
    """({student: code}, the rings' students, the honest students) of a class of `honest`
    students with answers of their own and rings of the sizes `rings`, each member handing in
    the ring's answer disguised by `disguises`; the students in an order the ids do not
    betray (they are sorted by id, so the rings' members are spread among the others)."""
    rng = random.Random(seed)
    ids = iter(rng.sample(range(10**6), honest + sum(rings)))
    answers, members = {}, []
    for size in rings:
        answer = honest_answer(rng)
        members.append([f"s{next(ids):06d}" for _ in range(size)])
        for name in members[-1]:
            answers[name] = disguised(answer, disguises, rng)
    honest_ones = [f"s{next(ids):06d}" for _ in range(honest)]
    for name in honest_ones:
        answers[name] = render(honest_answer(rng))
    return answers, members, honest_ones


def assert_rings_reported_and_honest_not(report, rings, honest):
    together = reported_together(report)
    for ring in rings:
        assert {together.get(name, name) for name in ring} == {together.get(ring[0])}, (
            len(ring), sorted(Counter(together.get(name, name) for name in ring).values()))
    assert not set(honest) & set(together), sorted(set(honest) & set(together))[:5]


@pytest.mark.parametrize("rings, honest", [([21], 179), ([60], 140), ([90], 110),
                                           ([21, 30, 49, 100], 0)],
                         ids=["21 of 200", "60 of 200", "90 of 200", "rings of 21-100"])
def test_rings_of_21_to_100_disguised_copies_in_a_class_of_200_are_reported_as_groups(
        rings, honest):
    """The sample's class, 200 students: each ring is reported as one group (failed before: no
    pair, no group, every ring member's highest score below the threshold), no honest student
    is; the work is linear in the class: the pairs made at most MAX_HOLDERS / 2 per
    fingerprint held, the holders counted at most MAX_HOLDERS per crowded fingerprint held plus
    one per fingerprint of a group's members, at most 2 CANDIDATES answers compared whole
    per student, one group per ring, and the page at most 2 KB per student and 40 KB per group."""
    answers, members, honest_ones = a_class(rings, honest, list(DISGUISES), seed=sum(rings))
    report, work = measured_report(answers)
    assert_rings_reported_and_honest_not(report, members, honest_ones)
    held = sum(len(similarity.document([code], "code").fingerprints)
               for code in answers.values())
    assert work.pairs_made <= MAX_HOLDERS * held // 2
    assert work.holders_counted <= (MAX_HOLDERS + 1) * held
    assert work.compared_whole <= 2 * CANDIDATES * len(answers)
    assert len(report.groups) == len(rings)
    assert all(report.highest[name][0] >= THRESHOLD for ring in members for name in ring)
    page = similarity.html_page(report).encode()
    assert len(page) <= 2_000 * len(answers) + 40_000 * len(report.groups), len(page)
    print(f"\n{rings} + {honest} honest: pairs made {work.pairs_made:,}, holders counted "
          f"{work.holders_counted:,}, compared whole {work.compared_whole:,}, groups "
          f"{len(report.groups)}, pairs reported {len(report.pairs)}, page {len(page):,} bytes")


def test_a_thousand_students_writing_the_same_idiom_are_not_reported():
    """1,000 students each write the same idiomatic function (their own names, comments and
    layout) beside answers of their own: the idiom is held by the whole class, so it is common
    and nobody is reported (no pair, no group, no group of the same answers), and the work
    stays linear: at most 2 CANDIDATES answers compared whole per student."""
    rng = random.Random(7)
    answers = {f"s{i:04d}": synthetic_class.rename(IDIOM, rng) + "\n\n"
               + render(honest_answer(rng)) for i in range(1_000)}
    report, work = measured_report(answers)
    assert report.pairs == [] and report.groups == [] and report.same == {}
    held = sum(len(similarity.document([code], "code").fingerprints)
               for code in answers.values())
    assert work.pairs_made <= MAX_HOLDERS * held // 2
    assert work.compared_whole <= 2 * CANDIDATES * len(answers)
    page = similarity.html_page(report).encode()
    assert len(page) <= 2_000
    print(f"\n1,000 idioms: pairs made {work.pairs_made:,}, holders counted "
          f"{work.holders_counted:,}, compared whole {work.compared_whole:,}, page "
          f"{len(page):,} bytes")


@settings(max_examples=30, deadline=None)
@given(ring=st.integers(2, 40), more_honest=st.integers(0, 20),
       disguises=st.lists(st.sampled_from(sorted(DISGUISES)), min_size=1, max_size=4),
       holders=st.sampled_from([2, 5, MAX_HOLDERS]), seed=st.integers(0, 2**32))
def test_any_ring_of_disguised_copies_is_reported_whatever_its_size(ring, more_honest,
                                                                     disguises, holders, seed):
    """Property: a ring of k >= 2 disguised copies of one answer (the disguises drawn) among
    at least twice as many honest students is reported together (pairs, the same answers or a
    group), whether k is below or above the most holders a fingerprint pairs; no honest
    student is reported; and at most 2 CANDIDATES answers are compared whole per student. (A
    ring nearer half the class holds its answer's idioms with the honest students who write
    them, which are then more than half of it: common, and left out.)"""
    answers, members, honest_ones = a_class([ring], 2 * ring + more_honest, disguises, seed)
    report, work = measured_report(answers, holders=holders)
    assert_rings_reported_and_honest_not(report, members, honest_ones)
    assert work.compared_whole <= 2 * CANDIDATES * len(answers)


def test_the_page_and_table_name_each_group_escaped(tmp_path):
    """A group's members are each named, escaped (an id is a folder's name), with the one
    they are most alike and the score, on the page and in the groups' table."""
    answers, members, _ = a_class([25], 30, list(DISGUISES), seed=5)
    hostile = "<b>x\u202e"
    answers[hostile] = answers.pop(members[0][0])
    report, _ = measured_report(answers)
    [group] = report.groups
    assert hostile in {m.student for m in group.members}
    page = similarity.html_page(report)
    assert "<b>x" not in page and "&lt;b&gt;x\\u202e" in page
    assert f"of {len(group.members)} students" in page
    (tmp_path / "source").mkdir()
    similarity.write_report(Course(tmp_path), report)
    rows = (tmp_path / "similarity" / "a1.groups.csv").read_text().splitlines()
    assert rows[0] == "group,kind,student,most_alike,score" and len(rows) == 26
