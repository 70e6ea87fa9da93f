"""Per-student HTML feedback built from grade records, never from the graded notebook.

The page shows the notebook's status, each question's score, and for a failed question the
visible checks of its test cell with the error they raised, or the grader's message about the
hidden tests (which names the case number, never its code, inputs or expected values). Hidden
test code cannot leak because it is never read into the page.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from autograder.course import Course
from autograder.files import atomic_write
from autograder.grader.plan import Plan, read_plan
from autograder.reports.export import RecordedGrades

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #ddd;
padding: .4rem; text-align: left; } .ok { color: #176f2c; } .bad { color: #a4262c; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; }
"""


def _score_text(score, points) -> str:
    return f"{'pending' if score is None else f'{score:g}'} / {points:g}"


class FeedbackPages:
    """Feedback pages of one course: the gradebook and each plan are read once."""

    def __init__(self, course: Course):
        self.course = course
        self.grades = RecordedGrades(course)
        self._plans: dict[tuple[str, str], Plan] = {}

    def plan(self, assignment: str, notebook: str) -> Plan:
        if (assignment, notebook) not in self._plans:
            self._plans[assignment, notebook] = read_plan(self.course.source(assignment, notebook))
        return self._plans[assignment, notebook]

    def html(self, student: str, assignment: str, notebook: str) -> str:
        """The feedback page of one notebook, as an HTML string."""
        row = self.grades.notebook_row((student, assignment, notebook))
        visible_code = {step.grade_id: step.code for step in self.plan(assignment, notebook).tests}
        result = row["result"]
        messages = result.messages if result else {}
        failed_checks = result.failed_checks if result else {}
        lines = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{escape(assignment)}: feedback for {escape(student)}</title>",
            f"<style>{STYLE}</style></head><body>",
            f"<h1>{escape(notebook)}</h1><p>Student: <b>{escape(student)}</b><br>",
            f"Status: <b>{escape(row['status'].replace('_', ' '))}</b>",
        ]
        if row["reason"]:
            lines.append(f" ({escape(row['reason'])})")
        total = sum(s or 0 for s, _ in row["scores"].values())
        maximum = sum(p for _, p in row["scores"].values())
        lines.append(f"<br>Score: <b>{total:g} / {maximum:g}</b></p>")
        lines.append("<table><tr><th>Question</th><th>Score</th><th>Comment</th></tr>")
        for grade_id, (score, points) in row["scores"].items():
            css = "ok" if score == points else "bad"
            lines.append(f"<tr><td>{escape(grade_id)}</td><td class='{css}'>"
                         f"{_score_text(score, points)}</td>"
                         f"<td>{escape(messages.get(grade_id, ''))}</td></tr>")
        lines.append("</table>")
        for grade_id, error in failed_checks.items():
            lines += [f"<h2>Failed visible check: {escape(grade_id)}</h2>",
                      f"<pre>{escape(visible_code.get(grade_id, ''))}</pre>",
                      f"<p class='bad'>{escape(error)}</p>"]
        lines.append("</body></html>")
        return "\n".join(lines)

    def write(self, student: str, assignment: str, notebook: str) -> Path:
        """Write the page to <course>/feedback/<student>/<assignment>/<notebook>.html."""
        path = self.course.feedback(student, assignment, notebook)
        return atomic_write(path, self.html(student, assignment, notebook))
