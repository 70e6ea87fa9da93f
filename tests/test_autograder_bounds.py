"""The stages outside the sandbox do work bounded by what they read, whatever a student sends.

Each test counts the work a stage does (characters normalised, compiled, compared; entries
parsed) on the input shape that once made it superlinear, and a property holds the count to a
multiple of the input over the whole class of such inputs. The counts, not the time, are
asserted: the figures in seconds are in scripts/bench_*.py.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections import Counter
from pathlib import Path

import nbformat
import pytest
import synthetic
from hypothesis import given, settings
from hypothesis import strategies as st
from test_autograder_collect import new_course

from autograder import collect as collect_module
from autograder import selfcheck
from autograder.collect import NAME_MAX, attempt_levels, collect
from autograder.grader import execute, syntax
from autograder.grader import submission as submission_module
from autograder.grader.plan import read_plan
from autograder.grader.submission import cell_text, json_values, read_submission
from autograder.reports import similarity
from autograder.reports.similarity import (
    COMMON_SHARE,
    MAX_HOLDERS,
    MIN_COMMON,
    Document,
    shared_counts,
)

FIXTURE = Path(__file__).parent / "fixtures" / "course" / "source" / "fx_basics" / "fx_basics.ipynb"
PLAN = read_plan(FIXTURE)
RELEASE = json.loads(nbformat.writes(synthetic.student_notebook(
    FIXTURE, synthetic.correct_answers(FIXTURE), written=False)))


def cell(source: str, kind: str = "code", grade_id: str | None = None) -> dict:
    meta = {"nbgrader": {"grade_id": grade_id}} if grade_id else {}
    made = {"cell_type": kind, "metadata": meta, "source": source}
    return made | ({"outputs": [], "execution_count": None} if kind == "code" else {})


def normalised_chars(raw: bytes) -> int:
    """How many characters read_submission normalises (compares as text) reading `raw`."""
    count, normalise = [0], submission_module.normalise

    def counted(text: str) -> str:
        count[0] += len(text)
        return normalise(text)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(submission_module, "normalise", counted)
        read_submission(raw, PLAN)
    return count[0]


def with_cells(cells: list[dict]) -> tuple[bytes, int]:
    """The release notebook (answers right, written answers as released) followed by `cells`,
    as a file; and the characters of its cells' text."""
    notebook = dict(RELEASE, cells=RELEASE["cells"] + cells)
    return json.dumps(notebook).encode(), sum(len(cell_text(c["source"]))
                                              for c in notebook["cells"])


RELEASE_WORK = normalised_chars(with_cells([])[0])  # the release's cells and the plan's text


def test_a_long_written_answer_and_many_cells_after_it_are_read_in_linear_time():
    """The sample: a written answer of 1 MB followed by 4,000 code cells of the student's took
    3.3 s (2 MB: 7.1 s): the answer was normalised again for every cell after it."""
    cells = [cell("word " * 4_000, "code", "explain_answer")] + [cell(f"x{i} = {i}")
                                                                  for i in range(400)]
    raw, chars = with_cells(cells)
    found = read_submission(raw, PLAN)
    assert found.written["explain_answer"].startswith("word word")
    assert found.in_code_cells == ["explain_answer"] and len(found.added) == 400
    count = normalised_chars(raw)
    assert count <= 3 * chars + RELEASE_WORK, (count, chars)


PROSE = st.sampled_from(["It is shift invariant.", "word " * 1_000, ""])
CODE = st.sampled_from(["x = 1", "def f():\n    return 2\n" * 50, "%time y = 2"])
CELL = st.builds(cell, PROSE | CODE, st.sampled_from(["code", "markdown"]),
                 st.sampled_from([None, "explain_answer", "linear_answer", "intro"])) | st.builds(
    cell, CODE)  # the student's own code cells, the most common
# a copy of the written answer's cell (prose, code or empty), and the cells after it
BLOCK = st.tuples(st.builds(cell, PROSE | CODE, st.sampled_from(["code", "markdown"]),
                            st.just("explain_answer")), st.lists(CELL, max_size=30))


@settings(max_examples=200, deadline=None)
@given(blocks=st.lists(BLOCK, max_size=3))
def test_reading_a_submission_normalises_each_cell_a_bounded_number_of_times(blocks):
    """Property: whatever cells follow the release (copies of a written, an answer or a locked
    cell, prose or code of the student's, in any order), the text normalised is at most three
    times the notebook's text more than the release alone costs."""
    raw, chars = with_cells([made for first, after in blocks for made in (first, *after)])
    count = normalised_chars(raw)
    assert count <= 3 * chars + RELEASE_WORK, (count, chars)


def compiled_chars(raw: bytes, budget: int) -> int:
    """How many characters read_submission compiles reading `raw`, with `budget` characters
    of the notebook to compile (syntax.MAX_NOTEBOOK_COMPILED)."""
    count, check = [0], syntax.check_syntax

    def counted(source: str, filename: str) -> None:
        count[0] += len(source)
        check(source, filename)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(syntax, "check_syntax", counted)
        patch.setattr(syntax, "MAX_NOTEBOOK_COMPILED", budget)
        read_submission(raw, PLAN)
    return count[0]


def test_many_cells_each_just_under_the_cell_bound_are_compiled_within_the_notebooks():
    """The sample: 500 cells of 99,999 characters each after an unanswered written answer
    (a 50 MB file) were each compiled to tell prose from code: 150 s at every read (grade,
    feedback, similarity). Here 200 cells of 5,000: each was compiled, 1,000,000 characters,
    and prose (compiled twice) twice that; now the notebook's budget stops it."""
    for text in ("x = 1\n" * 833, "a word " * 714):
        raw, _ = with_cells([cell(f"{text}# {i}") for i in range(200)])
        assert compiled_chars(raw, 50_000) <= 50_000


@settings(max_examples=60, deadline=None)
@given(blocks=st.lists(BLOCK, max_size=3), budget=st.integers(0, 20_000))
def test_reading_a_submission_compiles_at_most_its_budget(blocks, budget):
    """Property: whatever cells follow the release, the characters compiled to tell prose from
    code are at most the notebook's budget, and a cell compiled within it is read as before."""
    raw, _ = with_cells([made for first, after in blocks for made in (first, *after)])
    assert compiled_chars(raw, budget) <= budget
    if compiled_chars(raw, 10**9) <= budget:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(syntax, "MAX_NOTEBOOK_COMPILED", budget)
            within = read_submission(raw, PLAN)
        free = read_submission(raw, PLAN)
        assert (within.written, within.added) == (free.written, free.added)


def test_cells_are_split_into_statements_within_the_notebooks_budget():
    """The sample: the grader parsed every answer and added cell to run it statement by
    statement, with no bound for the notebook (200 cells of 5,000 characters: 1,000,000
    characters parsed, and as much again in every kernel group, even once the notebook's time
    had run out); now a session parses at most its budget and runs the rest of each cell whole."""
    parsed, parse = [0], syntax.parse

    def counted(source: str):
        parsed[0] += len(source)
        return parse(source)

    session = execute._Session.__new__(execute._Session)  # no kernel: chunks are only counted
    chunks = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(syntax, "parse", counted)
        patch.setattr(syntax, "MAX_NOTEBOOK_COMPILED", 50_000)
        session.parsing = syntax.CompileBudget()
        patch.setattr(session, "_run_chunk", lambda label, chunk, deadline, keep:
                      chunks.append(chunk[1]) or execute.Outcome("ok"), raising=False)
        for i in range(200):
            session.run("cell", f"x = {i}\n" * 833, math.inf, True, before="", split=True)
    assert parsed[0] <= 50_000 and "".join(chunks) == "".join(f"x = {i}\n" * 833
                                                              for i in range(200))


# collect: a student's zip is read within bounds before zipfile builds its list of members

def zip_of(names: list[str]) -> bytes:
    made = io.BytesIO()
    with zipfile.ZipFile(made, "w") as archive:
        for name in names:
            archive.writestr(name, b"{}")
    return made.getvalue()


def collected_counting(tmp_path: Path, download: Path) -> tuple[dict, int, int]:
    """Collect `download` into a new course: ({entry: reason}, the zip entries zipfile parsed,
    the longest name the attempt suffixes were stripped from, in bytes)."""
    parsed, longest = [0], [0]

    class CountedInfo(zipfile.ZipInfo):
        __slots__ = ()

        def __init__(self, *args, **kwargs):
            parsed[0] += 1
            super().__init__(*args, **kwargs)

    def measured_attempt_levels(stem: str) -> list[str]:
        longest[0] = max(longest[0], len(stem.encode("utf-8", "surrogatepass")))
        return attempt_levels(stem)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile, "ZipInfo", CountedInfo)
        patch.setattr(collect_module, "attempt_levels", measured_attempt_levels)
        report = collect(new_course(tmp_path / "course"), "fx_basics", download)
    return {entry.shown: entry.reason for entry in report.entries}, parsed[0], longest[0]


def test_a_zip_listing_a_million_files_is_refused_before_its_list_is_read(tmp_path):
    """The sample: a zip of 400,000 one-byte members (33 MB; 200 MB are allowed) cost zipfile
    2.7 s and 470 MB to list before the member bound refused it (100,000: 0.7 s, 165 MB); now
    its table of contents is refused by its size, read from the zip's end record."""
    download = tmp_path / "download"
    (download / "ada").mkdir(parents=True)
    (download / "ada" / "many.zip").write_bytes(zip_of([str(i) for i in range(3_000)]))
    (download / "ada" / "fx_basics.ipynb").write_text("{}")
    name = "fx_basics" + "-1" * 2_000 + ".ipynb"  # stripping its suffixes took seconds
    (download / "bob.zip").write_bytes(zip_of([name]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(collect_module, "MAX_ZIP_DIRECTORY", 50_000)
        reasons, parsed, longest = collected_counting(tmp_path, download)
    assert reasons["ada/many.zip"].startswith("a zip whose list of files is larger than")
    assert reasons["ada/fx_basics.ipynb"] == "as ada/fx_basics"
    assert reasons[f"bob.zip:{name}"] == "a file name longer than 255 bytes, which no disk holds"
    assert parsed == 1 and longest <= NAME_MAX


@settings(max_examples=40, deadline=None)
@given(zips=st.lists(st.lists(st.integers(1, 400), max_size=200), min_size=1, max_size=3))
def test_collect_parses_a_bounded_list_of_any_zip(tmp_path_factory, zips):
    """Property: whatever zips the download holds (any number of members, names of any
    length), zipfile parses at most the entries MAX_ZIP_DIRECTORY bytes can list (46 bytes the
    shortest) of each, and attempt suffixes are stripped from names of at most NAME_MAX bytes."""
    tmp_path = tmp_path_factory.mktemp("zips")
    download = tmp_path / "download"
    download.mkdir()
    for number, lengths in enumerate(zips):
        names = [f"{i}" + "x" * length + ".ipynb" for i, length in enumerate(lengths)]
        (download / f"s{number}.zip").write_bytes(zip_of(names))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(collect_module, "MAX_ZIP_MEMBERS", 10)
        patch.setattr(collect_module, "MAX_ZIP_DIRECTORY", 2_000)
        _, parsed, longest = collected_counting(tmp_path, download)
    assert parsed <= len(zips) * 2_000 // 46 and longest <= NAME_MAX, (parsed, longest)


# similarity: a pair costs what its documents share, not their length

class CountedFingerprints(dict):
    """A document's fingerprints that count how often they are read whole."""

    reads = 0

    def __iter__(self):
        CountedFingerprints.reads += 1
        return super().__iter__()


class Students:
    """A course folder of `count` students of the fixture's one notebook."""

    def __init__(self, count: int):
        self.count = count

    def notebooks(self, assignment):
        return ["fx_basics"]

    def source(self, assignment, notebook):
        return FIXTURE

    def students(self):
        return [f"s{i:03d}" for i in range(self.count)]


def class_report(prints: list[list[int]], threshold: float = 0.5, holders: int = MAX_HOLDERS
                 ) -> tuple:
    """The similarity report of a class whose code documents hold the fingerprints `prints`
    (one list per student; written answers and the instructor's documents hold none), with at
    most `holders` answers per fingerprint; how often any document's fingerprints were read
    whole; and how many pairs the fingerprints made (each pair of a fingerprint's holders)."""
    by_student = {f"s{i:03d}": values for i, values in enumerate(prints)}
    made_pairs = [0]

    def made(parts, kind):
        values = by_student.get(parts[0], []) if kind == "code" and parts else []
        return Document(["line"], CountedFingerprints({v: [(0, 0)] for v in values}))

    def counted_shared_counts(order, kept):
        held = Counter(value for name in order for value in kept[name])
        made_pairs[0] += sum(n * (n - 1) // 2 for n in held.values())
        return shared_counts(order, kept)

    CountedFingerprints.reads = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(similarity, "document", made)
        patch.setattr(similarity, "shared_counts", counted_shared_counts)
        patch.setattr(similarity, "MAX_HOLDERS", holders)
        patch.setattr(similarity, "_student_texts",
                      lambda course, assignment, student, sources: {"code": [student],
                                                                   "text": []})
        report = similarity.similarity_report(Students(len(prints)), "fx_basics", threshold)
    return report, CountedFingerprints.reads, made_pairs[0]


def expected_pairs(prints: list[list[int]], threshold: float, holders: int) -> dict:
    """{pair: code score} as the report's docstring defines them, pair by pair: fingerprints
    more than COMMON_SHARE of the class share left out; students of the same kept fingerprints
    compared once, as the first, each other one paired with the first at 1.0; then the
    fingerprints more than `holders` of the compared answers hold not counted as shared (but
    still counted in each student's fingerprints)."""
    share = Counter(value for values in prints for value in set(values))
    common = {v for v, n in share.items() if n > max(MIN_COMMON, COMMON_SHARE * len(prints))}
    kept = {f"s{i:03d}": frozenset(values) - common for i, values in enumerate(prints)}
    firsts: dict[frozenset, str] = {}
    same = []
    for name, values in kept.items():
        if values and values in firsts:
            same.append((firsts[values], name))
        else:
            firsts.setdefault(values, name)
    compared = [name for name in kept if name not in {other for _, other in same}]
    held = Counter(value for name in compared for value in kept[name])
    crowded = {value for value, n in held.items() if n > holders}
    expected = {pair: 1.0 for pair in same if kept[pair[0]]}
    for i, first in enumerate(compared):
        for second in compared[i + 1:]:
            a, b = kept[first], kept[second]
            shared = len(a & b - crowded)
            score = round(2 * shared / (len(a) + len(b)), 3) if shared else 0.0
            if shared and score >= threshold:
                expected[first, second] = score
    return {pair: score for pair, score in expected.items() if score >= threshold}


def test_a_class_of_long_unrelated_answers_is_compared_without_comparing_every_pair():
    """The sample: 100 / 200 students of 95,000 characters of code each took 4.2 / 16.5 s to
    compare, every pair's fingerprints read again (now 1.4 s for 200): 60 students whose
    answers share nothing are compared by reading each one's fingerprints a few times."""
    report, reads, _ = class_report([list(range(100 * i, 100 * i + 100)) for i in range(60)])
    assert report.pairs == [] and reads <= 4 * 62


def test_a_class_of_alike_answers_makes_pairs_linear_in_its_fingerprints():
    """The sample: 200 students in 10 groups of 20 who handed in the same answers of 15,000
    characters (each group under COMMON_SHARE of the class) made 1,900 pairs, every fingerprint
    a pair of every two of its holders (80 s of CPU, a page of 12.5 MB). Here: 10 groups of 9
    the same, and 2 groups of 55 alike but for one fingerprint each, which made 36 / 1,485
    pairs per fingerprint (666,000 pairs). Now the same answers are compared once and each
    other one reported with the first (8 pairs a group), and a fingerprint held by more than
    MAX_HOLDERS distinct answers is left out (the 55 alike ones)."""
    same = [list(range(1_000 * (i % 10), 1_000 * (i % 10) + 200)) for i in range(90)]
    alike = [list(range(20_000 + 1_000 * (i % 2), 20_000 + 1_000 * (i % 2) + 200)) + [-1 - i]
             for i in range(110)]
    prints = same + alike
    report, reads, made = class_report(prints)
    fingerprints = sum(len(values) for values in prints)
    assert made <= MAX_HOLDERS * fingerprints // 2 and reads <= 4 * (len(prints) + 2)
    assert len(report.same) == 10 and len(report.pairs) == 80 and report.crowded == 400
    assert sorted(len(group.members) for group in report.groups) == [55, 55]
    page = similarity.html_page(report)
    assert "s000 and 8 more: s010, s020" in page and "400 fingerprint(s) held by more" in page
    assert {pair.students: pair.scores["code"] for pair in report.pairs} == \
        expected_pairs(prints, 0.5, MAX_HOLDERS)


@settings(max_examples=60, deadline=None)
@given(prints=st.lists(st.lists(st.integers(0, 40), max_size=30), min_size=2, max_size=25),
       threshold=st.sampled_from([0.01, 0.5, 0.85]), holders=st.sampled_from([2, 3, 20]))
def test_similarity_reads_each_document_a_bounded_number_of_times_and_scores_every_pair(
        prints, threshold, holders):
    """Property: whatever the class, each document's fingerprints are read a bounded number of
    times, the pairs the fingerprints make are at most `holders` / 2 per fingerprint, and the
    pairs reported are those `expected_pairs` finds pair by pair (the Dice coefficient of the
    fingerprints each pair keeps)."""
    report, reads, made = class_report(prints, threshold, holders)
    assert reads <= 4 * (len(prints) + 2)
    assert made <= holders * sum(len(set(values)) for values in prints) / 2
    assert {pair.students: pair.scores["code"] for pair in report.pairs} == \
        expected_pairs(prints, threshold, holders)


# the learner's check parses no more than the grader would

def test_the_check_refuses_a_file_of_more_json_values_than_the_grader_parses(tmp_path):
    """The sample: 4,000,000 empty cells (11 MB) cost `llmf-grade check` 300 MB to parse
    (1,000,000: 74 MB; 50 MB of them about 1.3 GB); the grader refused them unparsed."""
    path = tmp_path / "ch1.ipynb"
    path.write_bytes(b'{"cells": [' + b"{}," * 3_000 + b"{}]}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(selfcheck, "MAX_JSON_VALUES", 1_000)
        with pytest.raises(ValueError, match="holds more than 1,000 JSON values"):
            selfcheck.read_cells(path)


@settings(max_examples=40, deadline=None)
@given(cells=st.integers(0, 600), limit=st.integers(1, 1_000))
def test_the_check_parses_only_what_the_grader_would(tmp_path_factory, cells, limit):
    """Property: a file the check parses is one the grader parses too (within its count of
    JSON values), whatever the number of cells."""
    path = tmp_path_factory.mktemp("check") / "ch1.ipynb"
    raw = json.dumps({"cells": [{}] * cells}).encode()
    path.write_bytes(raw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(selfcheck, "MAX_JSON_VALUES", limit)
        try:
            selfcheck.read_cells(path)
        except ValueError:
            return
    assert json_values(raw) <= limit
