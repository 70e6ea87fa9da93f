"""Grades in the import formats of Canvas, Moodle and Blackboard, and Gradescope's results.json.

Every file is made from the same rows as the plain CSV export (`export.export_rows`), one file
per assignment, and names each student by the identifier `llmf-grade collect --lms` read from
that LMS's download (see `collect.LMS_PATTERNS`), which is the one the LMS matches on import:

- Canvas: the gradebook CSV (Grades > Import). Columns `Student, ID, SIS User ID, SIS Login ID,
  Section, <assignment>`, then a `Points Possible` row; students matched by `ID`, the Canvas
  user id.
- Moodle: the assignment's offline grading worksheet (Upload grading worksheet). Columns
  `Identifier, Full name, Email address, Status, Grade, Maximum Grade, Grade can be changed,
  Last modified (submission), Last modified (grade), Feedback comments`; students matched by
  `Identifier`, `Participant <id>`.
- Blackboard: a Grade Center upload (Work Offline > Upload), comma-delimited with every field
  quoted. Columns `Last Name, First Name, Username, <assignment> [Total Pts: <max> Score]` (a
  column without an id, so Blackboard makes a new one); students matched by `Username`.

A grade is written only when it is final: a notebook still `ungraded` or waiting for
`needs_manual_grading` gets an empty cell, which the LMSs leave unchanged on import (so
`llmf-grade export --lms` names each such grade: the LMS keeps an earlier one). Feedback
columns carry the status and reason only, as the student may read them: the grader's words,
never a student's text (a grader error's own text, which may quote the submission, is replaced
by a fixed sentence, as on the feedback page: `export.student_reason`).

Every file is written by `spreadsheet.csv_text`: a text cell a spreadsheet would run as a formula
gets a single quote before it. No id column ever needs one, so each LMS reads its ids exactly as
its download named the students: Canvas's and Moodle's ids are digits, and a Blackboard username
must begin with a letter or digit (`IDENTIFIERS`; every id `collect` takes does).

Gradescope (`gradescope`): one `results.json` per submission, in the format of Gradescope's
autograder specification (`score`, `output`, `tests` with `name`, `number`, `score`,
`max_score`, `status`, `output`, `visibility`), under `<folder>/<student>/<assignment>/`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from autograder.collect import LMS_PATTERNS
from autograder.course_folder import Course
from autograder.files import atomic_write
from autograder.item_names import item_names
from autograder.records import Status
from autograder.reports.export import RecordedGrades, export_rows, student_reason
from autograder.reports.spreadsheet import csv_text

LMS_FORMATS = ("canvas", "moodle", "blackboard", "gradescope")
PENDING = (str(Status.UNGRADED), str(Status.NEEDS_MANUAL_GRADING))
# what each LMS's identifier looks like (what collect --lms reads from its download)
IDENTIFIERS = {
    "canvas": (re.compile(r"[0-9]+"), "a Canvas user id (digits, as in "
               "'lovelaceada_12345_6789_ch1.ipynb', read by `collect --lms canvas`)"),
    "moodle": (re.compile(r"[0-9]+"), "a Moodle participant id (digits, as in the folder "
               "'Ada Lovelace_12345_assignsubmission_file_', read by `collect --lms moodle`)"),
    # first a letter or digit: a cell beginning with = + - @ would be written with a quote
    # before it (autograder.reports.spreadsheet), which Blackboard would not match
    "blackboard": (re.compile(r"[A-Za-z0-9][^_\s,\"]*"), "a Blackboard username (a letter or "
                   "digit first; no underscore, space, comma or quote, as read by "
                   "`collect --lms blackboard`)"),
}
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                 "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                 "Feedback comments"]
BLACKBOARD_HEADER = ["Last Name", "First Name", "Username"]
GRADESCOPE_VISIBILITY = "visible"  # the grader's messages never show hidden inputs


class LmsExportError(ValueError):
    """A student id that the chosen LMS cannot match, named with what was expected."""


def check_identifiers(lms: str, students: list[str]) -> None:
    """Raise LmsExportError naming every student whose id the LMS cannot match."""
    if lms not in IDENTIFIERS:
        return
    pattern, expected = IDENTIFIERS[lms]
    wrong = [s for s in students if not pattern.fullmatch(s)]
    if wrong:
        raise LmsExportError(
            f"{lms} cannot match student(s) {', '.join(map(repr, wrong[:10]))}"
            f"{' and others' if len(wrong) > 10 else ''}: expected {expected}. Collect the "
            f"submissions with `llmf-grade collect --lms {lms}` (pattern "
            f"{LMS_PATTERNS[lms]!r}), or export the plain CSV. Nothing was written.")


def _number(value: float) -> str:
    """A number as the LMSs read it: plain decimals (at most 4), never an exponent."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _grade(row: dict) -> str:
    """The grade to import: the total when final, else "" (left unchanged by the LMS)."""
    return "" if row["status"] in PENDING else _number(row["score"])


def _comment(status: str, reason: str) -> str:
    """A feedback comment: the status, then the reason if there is one."""
    return f"{status}: {reason}" if reason else str(status)


def lms_file(lms: str, assignment: str, rows: list[dict]) -> str:
    """The import file of one assignment for `lms` ("canvas", "moodle" or "blackboard")."""
    maximum = max((row["max_score"] for row in rows), default=0)
    if lms == "canvas":
        table = [CANVAS_HEADER + [assignment],
                 ["Points Possible", "", "", "", "", _number(maximum)]]
        table += [[row["student"], row["student"], "", "", "", _grade(row)] for row in rows]
        return csv_text(table)
    if lms == "moodle":
        table = [MOODLE_HEADER]
        table += [[f"Participant {row['student']}", "", "", str(row["status"]), _grade(row),
                   _number(row["max_score"]), "Yes", "", "",
                   _comment(row["status"], row["reason"])] for row in rows]
        return csv_text(table)
    if lms == "blackboard":
        table = [BLACKBOARD_HEADER + [f"{assignment} [Total Pts: {_number(maximum)} Score]"]]
        table += [["", "", row["student"], _grade(row)] for row in rows]
        return csv_text(table, quote_all=True)
    raise ValueError(f"unknown LMS {lms!r}; expected one of {LMS_FORMATS}")


def write_lms_files(course: Course, lms: str, output: Path, assignments: list[str]
                    ) -> list[Path]:
    """Write one import file per assignment (`<output stem>-<assignment>.csv`), or for
    gradescope a results.json per submission under the folder `output`. Nothing is written if
    a student's id does not fit the LMS."""
    students = course.students()
    check_identifiers(lms, students)
    if lms == "gradescope":
        return write_gradescope_results(course, output, assignments, students)
    written = []
    for assignment in assignments:
        rows = export_rows(course, [assignment], students, for_students=True)
        path = output.with_name(f"{output.stem}-{assignment}.csv")
        written.append(atomic_write(path, lms_file(lms, assignment, rows)))
    return written


def gradescope_results(row: dict, names: dict[str, str]) -> dict:
    """Gradescope's results.json for one notebook's row of `RecordedGrades.notebook_row`."""
    result = row["result"]
    messages = result.messages if result else {}
    tests = []
    for number, (grade_id, (score, points)) in enumerate(row["scores"].items(), 1):
        test = {"name": names.get(grade_id, grade_id), "number": str(number),
                "max_score": points, "visibility": GRADESCOPE_VISIBILITY}
        if score is None:
            test.update(score=0.0, output="graded by hand: waiting for the instructor")
        else:
            test.update(score=score, status="passed" if score >= points else "failed",
                        output=messages.get(grade_id, ""))
        tests.append(test)
    return {"score": sum(s or 0.0 for s, _ in row["scores"].values()),
            "output": _comment(row["status"], student_reason(row)),
            "visibility": GRADESCOPE_VISIBILITY, "stdout_visibility": "hidden", "tests": tests}


def write_gradescope_results(course: Course, folder: Path, assignments: list[str],
                             students: list[str]) -> list[Path]:
    """A results.json per student and notebook under `folder`/<student>/<assignment>/."""
    grades, written = RecordedGrades(course), []
    for assignment in assignments:
        for notebook in course.notebooks(assignment):
            names = item_names(nbformat.read(course.source(assignment, notebook), as_version=4))
            for student in students:
                row = grades.notebook_row((student, assignment, notebook))
                name = "results.json" if len(course.notebooks(assignment)) == 1 \
                    else f"{notebook}.results.json"
                path = folder / student / assignment / name
                written.append(atomic_write(path, json.dumps(gradescope_results(row, names),
                                                             indent=1)))
    return written
