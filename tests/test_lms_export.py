"""Grades in each LMS's import format and Gradescope's results.json (autograder/reports/lms.py).

Each course here is collected from the LMS download fixtures (tests/fixtures/lms/<lms>/) with
`collect --lms`, so the ids are the ones collect reads; its result files are written directly
(grading itself is tested elsewhere). Each file is then read back against a fixture of the
format's documented header (tests/fixtures/lms/imports/), and every results.json is validated
against Gradescope's documented schema.
"""

import csv
import io
import json
import re
import shutil
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from autograder.cli import main  # noqa: E402
from autograder.collect import collect  # noqa: E402
from autograder.course_folder import Course  # noqa: E402
from autograder.grader.plan import read_plan  # noqa: E402
from autograder.grader.submission import submitted_digest  # noqa: E402
from autograder.records import (  # noqa: E402
    GradeResult,
    Status,
    grader_error,
    load_result,
    save_result,
)
from autograder.reports import lms  # noqa: E402
from autograder.reports.export import GRADER_FAILED, export_rows  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
IMPORTS = FIXTURES / "lms" / "imports"
ASSIGNMENT = "fx_basics"


def _read(path: Path, **options) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text()), **options))


def _course(tmp_path, lms_name: str, statuses: dict[int, Status] | None = None) -> Course:
    """The fixture course with the `lms_name` download collected; the i-th student's notebook
    recorded with status statuses.get(i, GRADED) and scores 2, 1, 0, ... of each item."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURES / "course" / "source", root / "source")
    course = Course(root)
    collect(course, ASSIGNMENT, FIXTURES / "lms" / lms_name, lms=lms_name)
    plan = read_plan(course.source(ASSIGNMENT, ASSIGNMENT))
    for index, student in enumerate(course.students()):
        status = (statuses or {}).get(index, Status.GRADED)
        scores = {g: (None if status == Status.NEEDS_MANUAL_GRADING and g == "explain_answer"
                      else max(points - index, 0.0), points)
                  for g, points in plan.max_points().items()}
        result = GradeResult(ASSIGNMENT, status, "" if status == Status.GRADED else "why",
                             scores, {"linear_test": "linear: hidden case 2 of 3: wrong shape"},
                             submission_sha256=submitted_digest(
                                 course.submission(student, ASSIGNMENT, ASSIGNMENT)),
                             source_sha256=plan.digest)
        save_result(result, course.result(student, ASSIGNMENT, ASSIGNMENT))
    return course


def _export(course: Course, lms_name: str, output: Path) -> list[Path]:
    return lms.write_lms_files(course, lms_name, output, [ASSIGNMENT])


def test_canvas_file_has_canvas_header_points_row_and_user_ids(tmp_path):
    course = _course(tmp_path, "canvas", {1: Status.NEEDS_MANUAL_GRADING})
    assert _export(course, "canvas", tmp_path / "grades.csv") == [
        tmp_path / f"grades-{ASSIGNMENT}.csv"]
    table = _read(tmp_path / f"grades-{ASSIGNMENT}.csv")
    documented = _read(IMPORTS / "canvas_gradebook.csv")
    assert table[0][:5] == documented[0][:5] and table[0][5] == ASSIGNMENT
    assert table[1][0].strip() == documented[1][0].strip() == "Points Possible"
    assert float(table[1][5]) == 7
    grades = {row[1]: row[5] for row in table[2:]}
    assert grades == {"12345": "7", "23456": ""}  # the second waits for manual grading


def test_moodle_file_is_the_grading_worksheet_with_participant_ids(tmp_path):
    course = _course(tmp_path, "moodle", {1: Status.TAMPERED})
    _export(course, "moodle", tmp_path / "grades.csv")
    table = _read(tmp_path / f"grades-{ASSIGNMENT}.csv")
    assert table[0] == _read(IMPORTS / "moodle_grading_worksheet.csv")[0]
    rows = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert set(rows) == {"Participant 12345", "Participant 23456"}
    assert rows["Participant 23456"]["Grade"] == "3"
    assert rows["Participant 23456"]["Feedback comments"] == "tampered: why"
    assert rows["Participant 12345"]["Maximum Grade"] == "7"


def test_blackboard_file_quotes_every_field_and_names_usernames(tmp_path):
    course = _course(tmp_path, "blackboard")
    _export(course, "blackboard", tmp_path / "grades.csv")
    text = (tmp_path / f"grades-{ASSIGNMENT}.csv").read_text()
    assert all(line.startswith('"') and line.endswith('"') for line in text.splitlines())
    table = _read(tmp_path / f"grades-{ASSIGNMENT}.csv")
    documented = _read(IMPORTS / "blackboard_grade_center.csv")[0]
    assert table[0][:3] == [column for column in documented if column in table[0][:3]]
    assert re.fullmatch(r".+ \[Total Pts: [\d.]+ Score\]", table[0][3])
    assert re.fullmatch(r".+ \[Total Pts: [\d.]+ Score\] \|\d+", documented[-1])
    assert {row[2]: row[3] for row in table[1:]} == {"alovelace": "7", "ghopper": "3"}


def test_gradescope_results_validate_against_the_documented_schema(tmp_path):
    course = _course(tmp_path, "canvas", {1: Status.NEEDS_MANUAL_GRADING})
    _export(course, "gradescope", tmp_path / "gradescope")
    schema = json.loads((IMPORTS / "gradescope_results.schema.json").read_text())
    files = sorted((tmp_path / "gradescope").rglob("results.json"))
    assert [f.parent.parent.name for f in files] == ["12345", "23456"]
    for path in files:
        results = json.loads(path.read_text())
        jsonschema.validate(results, schema)
        assert results["score"] == sum(test["score"] for test in results["tests"])
    first = json.loads(files[0].read_text())
    assert first["tests"][0]["output"] == "linear: hidden case 2 of 3: wrong shape"
    with pytest.raises(jsonschema.ValidationError):  # the schema is not vacuous
        jsonschema.validate({"score": 1, "tests": [{"visibility": "sometimes"}]}, schema)


def test_ids_the_lms_cannot_match_are_named_and_nothing_is_written(tmp_path):
    course = _course(tmp_path, "blackboard")  # usernames, not Canvas's numeric ids
    before = sorted(p.read_bytes() for p in (course.root / "autograded").rglob("*.json"))
    with pytest.raises(lms.LmsExportError, match=r"'alovelace'.*Canvas user id"):
        _export(course, "canvas", tmp_path / "grades.csv")
    assert issubclass(lms.LmsExportError, ValueError)  # the command line prints it, exit 1
    assert not list(tmp_path.glob("grades*"))
    assert sorted(p.read_bytes() for p in (course.root / "autograded").rglob("*.json")) == before


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.tuples(st.from_regex(r"[1-9]\d{0,7}", fullmatch=True),
                               st.sampled_from(list(Status)),
                               st.floats(0, 100, allow_nan=False)),
                     min_size=1, max_size=8, unique_by=lambda row: row[0]),
       reason=st.text(max_size=30))
def test_every_format_reads_back_the_grades_it_was_given(rows, reason):
    given_rows = [{"student": s, "status": str(status), "reason": reason, "score": score,
                   "max_score": 100.0} for s, status, score in rows]
    expected = {row["student"]: ("" if row["status"] in lms.PENDING else row["score"])
                for row in given_rows}
    for name, id_column, grade_column, first_row in (("canvas", 1, 5, 2), ("moodle", 0, 4, 1),
                                                     ("blackboard", 2, 3, 1)):
        table = list(csv.reader(io.StringIO(lms.lms_file(name, "a1", given_rows))))
        got = {row[id_column].removeprefix("Participant "): row[grade_column]
               for row in table[first_row:]}
        assert got.keys() == expected.keys()
        for student, grade in got.items():
            assert grade == "" if expected[student] == "" else \
                float(grade) == pytest.approx(expected[student], abs=1e-4)


def test_the_command_line_writes_the_files_or_names_the_students_it_cannot_match(tmp_path,
                                                                                capsys):
    course = _course(tmp_path, "canvas")
    assert main(["--course", str(course.root), "release"]) == 0
    output = tmp_path / "grades.csv"
    assert main(["--course", str(course.root), "export", str(output), "--lms", "canvas"]) == 0
    assert _read(tmp_path / f"grades-{ASSIGNMENT}.csv")[2][1] == "12345"
    (course.root / "submitted" / "12345").rename(course.root / "submitted" / "ada lovelace")
    assert main(["--course", str(course.root), "export", str(output), "--lms", "moodle"]) == 1
    error = capsys.readouterr().err
    assert "'ada lovelace'" in error and "Moodle participant id" in error


def _grader_failed(course: Course, student: str, quoted: str) -> None:
    """Record the grader failing on the student's notebook, its error quoting `quoted`."""
    path = course.result(student, ASSIGNMENT, ASSIGNMENT)
    result = load_result(path)
    result.status, result.reason = Status.CRASHED, grader_error(ValueError(quoted), "reading")
    save_result(result, path)


def test_a_grader_errors_text_reaches_the_instructors_csv_but_no_file_students_see(tmp_path):
    """The feedback page shows a fixed sentence for a grader error, whose text may quote the
    submission; so do Moodle's feedback comments and Gradescope's output, which students read."""
    course = _course(tmp_path, "moodle")
    _grader_failed(course, "23456", "cell 'SECRET answer' is odd")
    _export(course, "moodle", tmp_path / "grades.csv")
    table = _read(tmp_path / f"grades-{ASSIGNMENT}.csv")
    comments = {row[0]: row[9] for row in table[1:]}
    assert comments["Participant 23456"] == f"crashed: {GRADER_FAILED}"
    _export(course, "gradescope", tmp_path / "gradescope")
    output = json.loads((tmp_path / "gradescope" / "23456" / ASSIGNMENT / "results.json")
                        .read_text())["output"]
    assert output == f"crashed: {GRADER_FAILED}"
    rows = {row["student"]: row for row in export_rows(course, [ASSIGNMENT])}
    assert "SECRET answer" in rows["23456"]["reason"]  # the instructor's CSV has the details


@pytest.fixture(scope="module")
def moodle_course(tmp_path_factory) -> Course:
    return _course(tmp_path_factory.mktemp("moodle"), "moodle")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quoted=st.text(min_size=1, max_size=40))
def test_no_file_students_see_quotes_a_grader_error(moodle_course, tmp_path_factory, quoted):
    """Property: whatever a grader error quotes, Moodle's comment and Gradescope's output are
    the status and the fixed sentence."""
    _grader_failed(moodle_course, "12345", quoted)
    folder = tmp_path_factory.mktemp("out")
    _export(moodle_course, "moodle", folder / "grades.csv")
    table = _read(folder / f"grades-{ASSIGNMENT}.csv")
    assert {row[0]: row[9] for row in table[1:]}["Participant 12345"] == \
        f"crashed: {GRADER_FAILED}"
    _export(moodle_course, "gradescope", folder / "gradescope")
    results = json.loads((folder / "gradescope" / "12345" / ASSIGNMENT / "results.json")
                         .read_text())
    assert results["output"] == f"crashed: {GRADER_FAILED}"


def test_a_grade_left_empty_in_an_lms_file_is_named_on_export(tmp_path, capsys):
    """An LMS keeps the grade it had where its import file's cell is empty: a student whose
    re-submission was collected but not graded yet kept, in the LMS, the grade imported for
    the notebook it replaced, and `export --lms` said nothing. Each grade left empty is named."""
    course = _course(tmp_path, "canvas", {1: Status.NEEDS_MANUAL_GRADING})
    assert main(["--course", str(course.root), "release"]) == 0
    ada, grace = course.students()
    course.submission(ada, ASSIGNMENT, ASSIGNMENT).write_text('{"cells": []}')  # resubmitted
    capsys.readouterr()
    assert main(["--course", str(course.root), "export", str(tmp_path / "grades.csv"),
                 "--lms", "canvas"]) == 0
    warned = capsys.readouterr().err
    assert (f"1 grade(s) ungraded left empty in the LMS file(s), where the LMS keeps the grade "
            f"it had (an earlier submission's, if one was imported): {ada}/{ASSIGNMENT}; run "
            "`llmf-grade grade`") in warned
    assert "1 grade(s) needs_manual_grading left empty" in warned and grace in warned
