"""No CSV file the autograder writes holds a cell a spreadsheet would run as a formula.

Every writer (the grades export, the Canvas, Moodle and Blackboard import files, the similarity
report's table) goes through `autograder.reports.spreadsheet`: a text cell beginning with `=`,
`+`, `-`, `@`, a tab or a carriage return gets a single quote before it (OWASP's advice), and
reading it back without that one quote gives the text written; numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.course_folder import Course
from autograder.reports import lms, similarity
from autograder.reports.export import write_csv
from autograder.reports.spreadsheet import FORMULA_STARTS, original_text

FIXTURE_SOURCE = Path(__file__).parent / "fixtures" / "course" / "source"
ATTACKS = ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "+1+2", "-2+3+cmd|' /C calc'!A0",
           "\t=1", "\r=1", "'=1", "=", "-", "-\u0661", "-\u0968.\u0966"]

texts = st.sampled_from(ATTACKS) | st.text(max_size=12) | st.builds(
    "".join, st.lists(st.sampled_from([*FORMULA_STARTS, "'", "a", "1", ".", " ",
                                       "\u0661", "\u0968", "\U0001d7d9"]), max_size=5))  # Nd
numbers = st.floats(-100, 100, allow_nan=False)


def _table(text: str) -> list[list[str]]:
    """The cells of CSV text (a carriage return in a cell kept as it is)."""
    return list(csv.reader(io.StringIO(text, newline="")))


def _is_safe(written: str) -> bool:
    """Not a formula: a plain decimal number in ASCII digits (`-1.5`; a spreadsheet reads no
    other script's digits as a number) or text not beginning like one."""
    return bool(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", written)) or not written.startswith(
        FORMULA_STARTS)


def _export_table(rows: list[dict]) -> list[list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(rows, Path(folder) / "grades.csv")
        return _table(path.read_bytes().decode())


def _similarity_table(students: tuple[str, str], score: float) -> list[list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(FIXTURE_SOURCE, Path(folder) / "source")
        empty = similarity.Document([])
        pair = similarity.Pair(students, {"code": score, "text": score},
                               {kind: (set(), set()) for kind in similarity.KINDS})
        report = similarity.Report("a1", 0.5, [pair], {},
                                   {kind: dict.fromkeys(students, empty)
                                    for kind in similarity.KINDS})
        _, table = similarity.write_report(Course(folder), report)
        return _table(table.read_bytes().decode())


def test_formula_cells_of_the_export_are_text_and_a_negative_score_a_number():
    rows = [{"student": '=HYPERLINK("http://x","y")', "assignment": "a1", "status": "graded",
             "reason": "@SUM(1+1)", "score": -1.5, "max_score": 7.0, "highest_similarity": "",
             "python": "", "q1": -0.5}]
    header, row = _export_table(rows)
    got = dict(zip(header, row, strict=True))
    assert got["student"] == '\'=HYPERLINK("http://x","y")' and got["reason"] == "'@SUM(1+1)"
    assert float(got["score"]) == -1.5 and float(got["q1"]) == -0.5


def test_formula_ids_in_the_similarity_table_are_text():
    header, row = _similarity_table(("+ada", "@bob"), 0.9)
    assert header[:3] == ["rank", "student_a", "student_b"]
    assert row[1:4] == ["'+ada", "'@bob", "0.9"]


def test_an_lms_file_writes_text_cells_as_text_and_scores_as_numbers():
    row = {"student": "-1+2", "status": "tampered", "reason": "why", "score": -1.5,
           "max_score": 7.0}
    canvas = _table(lms.lms_file("canvas", "=a1", [row]))
    assert canvas[0][5] == "'=a1" and canvas[2][:2] == ["'-1+2", "'-1+2"]
    assert canvas[2][5] == "-1.5"


def test_blackboard_refuses_a_username_that_would_need_a_quote():
    """An LMS matches its id column exactly, so an id that a quote would change is refused
    (collect never reads one: every id it takes begins with a letter or digit)."""
    with pytest.raises(lms.LmsExportError, match="'@ada'"):
        lms.check_identifiers("blackboard", ["ada", "@ada"])
    lms.check_identifiers("blackboard", ["ada", "a-d@e.x"])


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.tuples(texts, texts, numbers), min_size=1, max_size=4))
def test_every_writer_writes_text_safely_and_reads_back_the_same(values):
    """Property over every CSV writer: no cell made from text begins with a formula character
    (unless it is a plain decimal number, as `-1.5`), removing the one added quote gives the
    text back, and numbers read back as numbers."""
    rows = [{"student": student, "assignment": "a1", "status": "graded", "reason": reason,
             "score": score, "max_score": 7.0, "highest_similarity": score, "python": reason,
             "q1": score} for student, reason, score in values]
    written = []  # (cell as written, the text it came from or the number)
    header, *table = _export_table(rows)
    for row, got in zip(rows, table, strict=True):
        written += [(cell, row[column]) for column, cell in zip(header, got, strict=True)]
    for name, text_columns, score_column, first in (("canvas", (0, 1), 5, 2),
                                                    ("moodle", (9,), 4, 1),
                                                    ("blackboard", (2,), 3, 1)):
        table = _table(lms.lms_file(name, "a1", rows))[first:]
        for row, got in zip(rows, table, strict=True):
            comment = f"graded: {row['reason']}" if row["reason"] else "graded"
            written += [(got[c], comment if name == "moodle" else row["student"])
                        for c in text_columns]
            written.append((got[score_column], round(row["score"], 4)))
    for student, reason, score in values:
        row = _similarity_table((student, reason), score)[1]
        written += [(row[1], student), (row[2], reason), (row[3], score)]
    for cell, value in written:
        if isinstance(value, str):
            assert _is_safe(cell) and original_text(cell) == value, (cell, value)
        else:
            assert float(cell) == pytest.approx(value, abs=1e-4), (cell, value)
