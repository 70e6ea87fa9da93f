"""Per-student HTML feedback built from grade records, the gradebook and the source notebook.

The page shows the notebook's status and each item's score under the name the chapter gives it
("Exercise 2.1 — the log-probability of a sequence", "Question 2.3"; see autograder.item_names),
with what happened in plain words (autograder.reports.wording; `llmf-grade check` prints the
same words): "your answer C, the right answer B, because ...", "not answered", "not attempted",
a failed exercise's check message, the instructor's manual score and comment from formgrader.
Then, item by item: for a multiple-choice question, the explanation of every option (the key
comes from the source notebook, autograder.quiz_keys); for a failed exercise, the failing
visible check's code folded below its message; for a written answer checked by a self-paced
learner, the model answer and the rubric from the source. Hidden test code is never read into
the page. No text the student's kernel made is shown (a failed check's message is cut down to
the instructor's wording by autograder.grader.judge), and a grader error's own text, which may
quote the submission, is replaced by a fixed sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

import nbformat

from autograder.course_folder import Course
from autograder.files import atomic_write, visible
from autograder.grader.plan import Plan, read_plan
from autograder.grader.submission import cell_text, read_submission, read_submitted
from autograder.item_names import item_names, notebook_title
from autograder.quiz_keys import QuizKey, read_quiz_keys
from autograder.reports.export import RecordedGrades, student_reason
from autograder.reports.wording import (
    ItemFacts,
    exercise_story,
    quiz_story,
    raises_not_implemented,
    with_comments,
    written_story,
)

MAX_CHOICE_CELL = 2_000  # characters of a quiz answer cell read for its choice (one line is asked)
SOLUTION = re.compile(r"### BEGIN SOLUTION\s*\n(?P<text>.*?)\n?\s*### END SOLUTION", re.DOTALL)

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; color: #222;
line-height: 1.45; } table { border-collapse: collapse; width: 100%; } td, th { border-bottom:
1px solid #ddd; padding: .4rem; text-align: left; vertical-align: top; } .ok { color: #176f2c; }
.bad { color: #a4262c; } pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; }
summary { cursor: pointer; color: #555; } li { margin: .3rem 0; } .score { white-space: nowrap; }
.model { white-space: pre-wrap; background: #f6f6f6; padding: .6rem; }
"""


def model_answers(notebook) -> dict[str, str]:
    """{grade_id: the model answer and rubric} of the written answers of a source notebook."""
    found = {}
    for cell in notebook.cells:
        role = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.cell_type == "markdown" and role.get("grade") and role.get("solution"):
            text = cell_text(cell.source)
            match = SOLUTION.search(text)
            found[role["grade_id"]] = (match["text"] if match else text).strip()
    return found


@dataclass(frozen=True)
class SourceFacts:
    """What a feedback page needs from a source notebook, read once."""

    plan: Plan
    title: str
    names: dict[str, str]  # grade_id -> the chapter's name for the item
    quizzes: dict[str, QuizKey]  # test grade_id -> key
    exercise_answers: dict[str, tuple[str, ...]]  # test grade_id -> its answer cells' grade_ids
    model_answers: dict[str, str]  # written grade_id -> model answer and rubric

    @classmethod
    def read(cls, source_path: Path) -> SourceFacts:
        return cls.of(read_plan(source_path), nbformat.read(source_path, as_version=4))

    @classmethod
    def of(cls, plan: Plan, notebook) -> SourceFacts:
        """The facts of a source notebook (nbformat node) and its plan."""
        exercise_answers, since_last_test = {}, []
        for step in plan.steps:
            if step.kind == "answer":
                since_last_test.append(step.grade_id)
            elif step.kind == "test":
                exercise_answers[step.grade_id] = tuple(since_last_test)
                since_last_test = []
        return cls(plan, notebook_title(notebook, plan.name), item_names(notebook),
                   read_quiz_keys(notebook), exercise_answers, model_answers(notebook))


def _score_text(score, points) -> str:
    return f"{'pending' if score is None else f'{score:g}'} / {points:g}"


def item_story(source: SourceFacts, grade_id: str, row: dict, answers: dict[str, str],
               self_paced: bool) -> str:
    """What happened to one graded item, in plain words, with the instructor's comments.

    row: the exported row of the notebook ({"scores", "result", "manual"}, as in
    `feedback_page`); answers: the student's answer cells by grade_id.
    """
    score, points = row["scores"][grade_id]
    result, manual = row["result"], row.get("manual", {})
    own_cells = source.exercise_answers.get(grade_id, ()) + (grade_id,)
    facts = ItemFacts(
        score, points,
        message=result.messages.get(grade_id, "") if result else "",
        failed_check=result.failed_checks.get(grade_id, "") if result else "",
        unsolved=any(raises_not_implemented(answers.get(cell, ""))
                     for cell in source.exercise_answers.get(grade_id, ())),
        comments=tuple(manual[cell][1] for cell in own_cells if cell in manual),
        graded_by_hand=manual.get(grade_id, (None,))[0] is not None,
    )
    if grade_id in source.quizzes and not facts.graded_by_hand:
        key = source.quizzes[grade_id]
        story = quiz_story(key, answers.get(key.answer_id, "")[:MAX_CHOICE_CELL],
                           scored_right=None if score is None else 0 < points == score)
    elif grade_id in source.plan.written:
        story = written_story(facts, self_paced)
    elif facts.graded_by_hand:
        story = "graded by your instructor"
    else:
        story = exercise_story(facts)
    return with_comments(story, facts)


def _sentence(story: str) -> str:
    """A story as a sentence of its own: capitalised, with a full stop."""
    return f"{story[:1].upper()}{story[1:]}{'' if story.endswith('.') else '.'}"


def _quiz_section(name: str, key: QuizKey, story: str, score_ok: bool) -> list[str]:
    css = "ok" if score_ok else "bad"
    lines = [f"<h2>{escape(name)}</h2>", f"<p>{escape(key.question)}</p>",
             f"<p class='{css}'>{escape(_sentence(story))}</p>",
             "<ul style='list-style: none; padding-left: 0'>"]
    for option, text in key.options.items():
        mark = "✔" if option == key.answer else "✘"
        lines.append(f"<li>{mark} <b>{escape(option)}. {escape(text)}</b><br>"
                     f"{escape(key.explanations[option])}</li>")
    lines.append("</ul>")
    return lines


def _failure_section(name: str, story: str, failed_check: str, code: str) -> list[str]:
    lines = [f"<h2>{escape(name)}</h2>", f"<p class='bad'>{escape(story)}</p>"]
    if failed_check:
        lines.append("<details><summary>The check that failed (its code)</summary>"
                     f"<pre>{escape(code)}</pre></details>")
    return lines


def _model_answer_section(name: str, story: str, model: str) -> list[str]:
    return [f"<h2>{escape(name)}</h2>", f"<p>{escape(_sentence(story))}</p>",
            f"<div class='model'>{escape(model)}</div>"]


def feedback_page(source: SourceFacts, row: dict, answers: dict[str, str], student: str,
                  self_paced: bool = False) -> str:
    """The feedback page of one graded notebook, as an HTML string.

    row: {"status", "reason", "scores": {grade_id: (score or None, points)}, "result",
    "manual": {cell name: (manual score or None, comment)}} (the exported row, manual scores
    included; result: the grade record or None); answers: the student's answer cells by
    grade_id; self_paced: a learner checking their own work (`llmf-grade check`), who gets the
    model answers and rubrics of the written answers.
    """
    result = row["result"]
    failed_checks = result.failed_checks if result else {}
    visible_code = {step.grade_id: step.code for step in source.plan.tests}
    lines = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{escape(source.title)}: feedback for {escape(visible(student))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(source.title)}</h1><p>Student: <b>{escape(visible(student))}</b><br>",
        f"Status: <b>{escape(str(row['status']).replace('_', ' '))}</b>",
    ]
    reason = student_reason(row)
    if reason:
        lines.append(f" ({escape(reason)})")
    total = sum(s or 0 for s, _ in row["scores"].values())
    maximum = sum(p for _, p in row["scores"].values())
    lines.append(f"<br>Score: <b>{total:g} / {maximum:g}</b>")
    if result and result.python:
        lines.append(f"<br>Your code ran on Python {escape(result.python_shown)}")
    lines.append("</p>")
    lines.append("<table><tr><th>Item</th><th>Score</th><th>What happened</th></tr>")
    stories = {grade_id: item_story(source, grade_id, row, answers, self_paced)
               for grade_id in row["scores"]}
    for grade_id, (score, points) in row["scores"].items():
        css = "ok" if score == points else "bad"
        lines.append(f"<tr><td>{escape(source.names.get(grade_id, grade_id))}</td>"
                     f"<td class='score {css}'>{_score_text(score, points)}</td>"
                     f"<td>{escape(stories[grade_id])}</td></tr>")
    lines.append("</table>")
    for grade_id, (score, points) in row["scores"].items():
        name = source.names.get(grade_id, grade_id)
        if grade_id in source.quizzes:
            lines += _quiz_section(name, source.quizzes[grade_id], stories[grade_id],
                                   score == points)
        elif score != points and grade_id in visible_code:
            lines += _failure_section(name, stories[grade_id], failed_checks.get(grade_id, ""),
                                      visible_code[grade_id])
        elif self_paced and grade_id in source.model_answers:
            lines += _model_answer_section(name, stories[grade_id],
                                           source.model_answers[grade_id])
    lines.append("</body></html>")
    return "\n".join(lines)


def text_report(source: SourceFacts, row: dict, answers: dict[str, str]) -> str:
    """What `llmf-grade check` prints for a learner's own notebook: one line per item with its
    score, and below an item that did not earn every point the same words as the page."""
    lines = []
    for grade_id, (score, points) in row["scores"].items():
        lines.append(f"{_score_text(score, points):>11}  {source.names.get(grade_id, grade_id)}")
        if score != points:
            lines.append(f"{'':>13}{item_story(source, grade_id, row, answers, True)}")
    result = row["result"]
    status = str(row["status"]).replace("_", " ")
    reason = f" ({row['reason']})" if row["reason"] else ""
    python = f"; run on Python {result.python_shown}" if result.python else ""
    lines.append(f"total: {result.score:g} / {result.max_score:g}; status: {status}{reason}"
                 f"{python}")
    return "\n".join(lines)


class FeedbackPages:
    """Feedback pages of one course: the gradebook and each source notebook are read once."""

    def __init__(self, course: Course):
        self.course = course
        self.grades = RecordedGrades(course)
        self._sources: dict[tuple[str, str, str], SourceFacts] = {}

    def source(self, student: str, assignment: str, notebook: str) -> SourceFacts:
        """The facts of the source the student was graded against (their variant's, with
        their own quiz lettering, when they have one)."""
        variants = self.grades.variants
        key = (student if variants.has(student) else "", assignment, notebook)
        if key not in self._sources:
            self._sources[key] = SourceFacts.of(variants.plan(*key), variants.source(*key))
        return self._sources[key]

    def html(self, student: str, assignment: str, notebook: str) -> str:
        """The feedback page of one notebook, as an HTML string."""
        key = (student, assignment, notebook)
        source = self.source(*key)
        submitted = read_submission(read_submitted(self.course.submission(*key)), source.plan)
        return feedback_page(source, self.grades.notebook_row(key), submitted.answers, student)

    def write(self, student: str, assignment: str, notebook: str) -> Path:
        """Write the page to <course>/feedback/<student>/<assignment>/<notebook>.html."""
        path = self.course.feedback(student, assignment, notebook)
        return atomic_write(path, self.html(student, assignment, notebook))
