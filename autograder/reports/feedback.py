"""Per-student HTML feedback built from grade records and the source notebook.

The page shows the notebook's status and each item's score under the name the chapter gives it
("Exercise 2.1 — the log-probability of a sequence", "Question 2.3"; see autograder.item_names).
Then, item by item: for a multiple-choice question, the student's choice, the right answer and
the explanation of every option (the key comes from the source notebook, autograder.quiz_keys);
for a failed exercise, the grader's message first and the failing visible check's code folded
below it. For hidden tests only the grader's message is shown (it names the case number, never
its code, inputs or expected values): hidden test code is never read into the page. No text the
student's kernel made is shown (a failed check's message is cut down to the instructor's wording
by autograder.grader.judge), and a grader error's own text, which may quote the submission, is
replaced by a fixed sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

import nbformat

from autograder.course_folder import Course
from autograder.files import atomic_write
from autograder.grader.plan import Plan, read_plan
from autograder.grader.submission import read_submission, read_submitted
from autograder.item_names import item_names, notebook_title
from autograder.quiz_keys import QuizKey, chosen, read_quiz_keys
from autograder.reports.export import RecordedGrades
from course_lib.quiz import quote_reminder

MAX_CHOICE_CELL = 2_000  # characters of a quiz answer cell read for its choice (one line is asked)
# shown instead of the grader's own error, whose text may quote the submission
GRADER_FAILED = "the grader failed on this notebook; your instructor has the details"

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; color: #222;
line-height: 1.45; } table { border-collapse: collapse; width: 100%; } td, th { border-bottom:
1px solid #ddd; padding: .4rem; text-align: left; vertical-align: top; } .ok { color: #176f2c; }
.bad { color: #a4262c; } pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; }
summary { cursor: pointer; color: #555; } li { margin: .3rem 0; } .score { white-space: nowrap; }
"""


@dataclass(frozen=True)
class SourceFacts:
    """What a feedback page needs from a source notebook, read once."""

    plan: Plan
    title: str
    names: dict[str, str]  # grade_id -> the chapter's name for the item
    quizzes: dict[str, QuizKey]  # test grade_id -> key

    @classmethod
    def read(cls, source_path: Path) -> SourceFacts:
        plan = read_plan(source_path)
        notebook = nbformat.read(source_path, as_version=4)
        return cls(plan, notebook_title(notebook, plan.name), item_names(notebook),
                   read_quiz_keys(notebook))


def _score_text(score, points) -> str:
    return f"{'pending' if score is None else f'{score:g}'} / {points:g}"


def quiz_choice_text(key: QuizKey, code: str) -> str:
    """What a student's answer cell chose, in words ("C. text", or why there is no choice).

    Total and of bounded cost: a cell longer than MAX_CHOICE_CELL is not parsed, and code the
    parser cannot take (too deeply nested, say) is no choice. The student's text is not echoed
    back: only an option's own text, or the quote reminder for an unquoted option."""
    if len(code) > MAX_CHOICE_CELL:
        return "no choice (the answer cell is too long to be read as one)"
    try:
        choice, reminder = chosen(code, key.answer_id), quote_reminder(code)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return "no choice"
    if choice in key.options:
        return f"{choice}. {key.options[choice]}"
    if choice is not None:
        return f"a choice that is not one of {', '.join(key.options)}"
    return reminder or "no choice"


def _quiz_section(name: str, key: QuizKey, code: str, score_ok: bool) -> list[str]:
    css = "ok" if score_ok else "bad"
    lines = [f"<h2>{escape(name)}</h2>", f"<p>{escape(key.question)}</p>",
             f"<p>Your answer: <b class='{css}'>{escape(quiz_choice_text(key, code))}</b><br>",
             f"Right answer: <b>{escape(key.answer)}. {escape(key.options[key.answer])}</b></p>",
             "<ul style='list-style: none; padding-left: 0'>"]
    for option, text in key.options.items():
        mark = "✔" if option == key.answer else "✘"
        lines.append(f"<li>{mark} <b>{escape(option)}. {escape(text)}</b><br>"
                     f"{escape(key.explanations[option])}</li>")
    lines.append("</ul>")
    return lines


def _failure_section(name: str, message: str, error: str | None, code: str) -> list[str]:
    lines = [f"<h2>{escape(name)}</h2>"]
    if error:
        lines.append(f"<p class='bad'>{escape(error)}</p>")
        lines.append("<details><summary>The check that failed (its code)</summary>"
                     f"<pre>{escape(code)}</pre></details>")
    elif message:
        lines.append(f"<p class='bad'>{escape(message)}</p>")
    return lines


def feedback_page(source: SourceFacts, row: dict, answers: dict[str, str], student: str) -> str:
    """The feedback page of one graded notebook, as an HTML string.

    row: {"status", "reason", "scores": {grade_id: (score or None, points)}, "result"} (the
    exported row, manual scores included; result: the grade record or None); answers: the
    student's answer cells by grade_id.
    """
    result = row["result"]
    messages = result.messages if result else {}
    failed_checks = result.failed_checks if result else {}
    visible_code = {step.grade_id: step.code for step in source.plan.tests}
    lines = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{escape(source.title)}: feedback for {escape(student)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(source.title)}</h1><p>Student: <b>{escape(student)}</b><br>",
        f"Status: <b>{escape(str(row['status']).replace('_', ' '))}</b>",
    ]
    reason = GRADER_FAILED if result and result.grader_failed else row["reason"]
    if reason:
        lines.append(f" ({escape(reason)})")
    total = sum(s or 0 for s, _ in row["scores"].values())
    maximum = sum(p for _, p in row["scores"].values())
    lines.append(f"<br>Score: <b>{total:g} / {maximum:g}</b>")
    if result and result.python:
        lines.append(f"<br>Your code ran on Python {escape(result.python)}")
    lines.append("</p>")
    lines.append("<table><tr><th>Item</th><th>Score</th><th>Comment</th></tr>")
    for grade_id, (score, points) in row["scores"].items():
        css = "ok" if score == points else "bad"
        lines.append(f"<tr><td>{escape(source.names.get(grade_id, grade_id))}</td>"
                     f"<td class='score {css}'>{_score_text(score, points)}</td>"
                     f"<td>{escape(messages.get(grade_id, ''))}</td></tr>")
    lines.append("</table>")
    for grade_id, (score, points) in row["scores"].items():
        name = source.names.get(grade_id, grade_id)
        if grade_id in source.quizzes:
            key = source.quizzes[grade_id]
            lines += _quiz_section(name, key, answers.get(key.answer_id, ""), score == points)
        elif score != points and grade_id in visible_code:
            lines += _failure_section(name, messages.get(grade_id, ""),
                                      failed_checks.get(grade_id), visible_code[grade_id])
    lines.append("</body></html>")
    return "\n".join(lines)


class FeedbackPages:
    """Feedback pages of one course: the gradebook and each source notebook are read once."""

    def __init__(self, course: Course):
        self.course = course
        self.grades = RecordedGrades(course)
        self._sources: dict[tuple[str, str], SourceFacts] = {}

    def source(self, assignment: str, notebook: str) -> SourceFacts:
        if (assignment, notebook) not in self._sources:
            self._sources[assignment, notebook] = SourceFacts.read(
                self.course.source(assignment, notebook))
        return self._sources[assignment, notebook]

    def html(self, student: str, assignment: str, notebook: str) -> str:
        """The feedback page of one notebook, as an HTML string."""
        key = (student, assignment, notebook)
        source = self.source(assignment, notebook)
        submitted = read_submission(read_submitted(self.course.submission(*key)), source.plan)
        return feedback_page(source, self.grades.notebook_row(key), submitted.answers, student)

    def write(self, student: str, assignment: str, notebook: str) -> Path:
        """Write the page to <course>/feedback/<student>/<assignment>/<notebook>.html."""
        path = self.course.feedback(student, assignment, notebook)
        return atomic_write(path, self.html(student, assignment, notebook))
