"""Export grades as CSV: one row per student and assignment, one column per question.

Columns: student, assignment, status, reason, score, max_score, highest_similarity (the
student's highest score in the last `llmf-grade similarity` report of the assignment, empty if
none was made), then one column per graded cell (grade_id) of any assignment (empty where it
does not apply). Manual scores given in
formgrader are included; a notebook waiting for them stays "needs_manual_grading" until all are
in. A submission with no result file, or changed since it was graded, is "ungraded" (run
`llmf-grade grade`), never shown with an old score.
"""

from __future__ import annotations

from pathlib import Path

from autograder.class_variants import ClassVariants
from autograder.course_folder import Course
from autograder.grader.submission import submitted_digest
from autograder.records import SEVERITY, GradeResult, Status, is_current, read_result
from autograder.reports.gradebook import manual_grading
from autograder.reports.similarity import highest_similarity
from autograder.reports.spreadsheet import write_csv as write_table

# what a student reads instead of the grader's own error, whose text may quote the submission
GRADER_FAILED = "the grader failed on this notebook; your instructor has the details"


def student_reason(row: dict) -> str:
    """The reason of a notebook's row (`RecordedGrades.notebook_row`) as its student may read
    it: a grader error, whose text may quote the submission, as GRADER_FAILED."""
    result = row["result"]
    return GRADER_FAILED if result is not None and result.grader_failed else row["reason"]


class RecordedGrades:
    """A course's result files joined with formgrader's manual scores and comments (gradebook
    read once).

    row = RecordedGrades(course).notebook_row(("ada", "ch1", "ch1"))
    row["status"], row["reason"], row["scores"], row["result"]
    row["manual"]  # {cell name: (manual score or None, the instructor's comment)}
    """

    def __init__(self, course: Course):
        self.course = course
        self.manual = manual_grading(course)
        self.variants = ClassVariants(course)
        self._source_digests: dict[tuple[str, str, str], str] = {}

    def source_digest(self, student: str, assignment: str, notebook: str) -> str:
        """The digest of the source the student's notebook is graded against (their variant's
        when they have one)."""
        key = (student if self.variants.has(student) else "", assignment, notebook)
        if key not in self._source_digests:
            self._source_digests[key] = self.variants.source_digest(*key)
        return self._source_digests[key]

    def notebook_row(self, key: tuple) -> dict:
        """Status, reason, per-question scores and the current result (or None) of a notebook."""
        path, submitted = self.course.result(*key), self.course.submission(*key)
        result: GradeResult | None = read_result(path)
        if result is None or not is_current(result, submitted_digest(submitted),
                                                self.source_digest(*key)):
            if result is None and not submitted.exists():
                return {"status": Status.MISSING, "reason": "no notebook was submitted",
                        "scores": {}, "result": None, "manual": {}}
            reason = "changed since it was graded" if result else (
                "its result file cannot be read" if path.exists() else "not graded yet")
            return {"status": Status.UNGRADED, "reason": reason, "scores": {}, "result": None,
                    "manual": {}}
        manual = self.manual.get(key, {})
        scores = {g: (s if manual.get(g, (None,))[0] is None else manual[g][0], p)
                  for g, (s, p) in result.scores.items()}
        status = result.status
        if status == Status.NEEDS_MANUAL_GRADING and all(s is not None for s, _ in
                                                         scores.values()):
            status = Status.GRADED
        return {"status": status, "reason": result.reason, "scores": scores, "result": result,
                "manual": manual}


def export_rows(course: Course, assignments=None, students=None, for_students: bool = False
                ) -> list[dict]:
    """CSV rows (dicts) for the given or all assignments and students; `for_students`: each
    reason as its student may read it (`student_reason`), for files students see."""
    grades = RecordedGrades(course)
    reason_of = student_reason if for_students else (lambda part: part["reason"])
    rows = []
    for assignment in assignments or course.assignments():
        notebooks = course.notebooks(assignment)
        similarity = highest_similarity(course, assignment)
        for student in students or course.students():
            parts = [grades.notebook_row((student, assignment, nb)) for nb in notebooks]
            status = min((p["status"] for p in parts), key=SEVERITY.index)
            row = {
                "student": student,
                "assignment": assignment,
                "status": str(status),
                "reason": "; ".join(reason for reason in map(reason_of, parts) if reason),
            }
            scores = {}
            for part in parts:
                scores.update(part["scores"])
            row["score"] = sum(s or 0.0 for s, _ in scores.values())
            row["max_score"] = sum(p for _, p in scores.values())
            row["highest_similarity"] = similarity.get(student, "")
            row["python"] = "; ".join(p["result"].python_shown for p in parts
                                      if p["result"] is not None and p["result"].python)
            row.update({g: ("" if s is None else s) for g, (s, _) in scores.items()})
            rows.append(row)
    return rows


def write_csv(rows: list[dict], path: str | Path) -> Path:
    """Write rows to CSV (columns: fixed ones, then every question id in first-seen order);
    text that a spreadsheet would run as a formula is written as text (`spreadsheet.cell`)."""
    columns = ["student", "assignment", "status", "reason", "score", "max_score",
               "highest_similarity", "python"]
    for row in rows:
        columns += [key for key in row if key not in columns]
    return write_table(path, [columns, *([row.get(c, "") for c in columns] for row in rows)])
