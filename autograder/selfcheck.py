"""`llmf-grade check`: a self-paced learner grades their own notebook.

The notebook is matched to its source by name (notebooks/ch3_pretraining_objective.ipynb is
graded against source/ch3_pretraining_objective/ch3_pretraining_objective.ipynb) and graded by
the same grader a class gets, hidden tests included, in the same sandbox. The report lists each
item's score under the chapter's name for it and the grader's message for each item that lost
points (never hidden inputs); the same HTML feedback page a class gets is written next to the
notebook, as <notebook>.feedback.html.

>>> result, page = check_notebook("notebooks/ch2_autoregression.ipynb", Course())  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.feedback import feedback_page, quiz_choice_text, write_page
from autograder.grading import GradeResult, grade_notebook
from autograder.item_names import item_names
from autograder.plan import read_plan
from autograder.quiz_keys import read_quiz_keys
from autograder.submission import read_submission


def source_for(course: Course, notebook: Path) -> Path:
    """The source notebook a learner's notebook comes from (matched by file name)."""
    for assignment in course.assignments():
        if notebook.stem in course.notebooks(assignment):
            return course.source(assignment, notebook.stem)
    known = [name for a in course.assignments() for name in course.notebooks(a)]
    raise ValueError(f"{notebook.name} is not a chapter notebook of {course.root}; expected "
                     f"one of {[name + '.ipynb' for name in known]}")


def feedback_path(notebook: Path) -> Path:
    return notebook.with_name(f"{notebook.stem}.feedback.html")


def check_notebook(notebook: str | Path, course: Course, **limits) -> tuple[GradeResult, Path]:
    """Grade a learner's notebook; return its result and the feedback page written."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook {notebook}")
    source = source_for(course, notebook)
    result = grade_notebook(notebook, source, **limits)
    row = {"status": result.status, "reason": result.reason, "scores": result.scores}
    page = feedback_page(source, row, result, notebook, student="you")
    return result, write_page(page, feedback_path(notebook))


def report(result: GradeResult, source: Path, notebook: Path) -> str:
    """The text `llmf-grade check` prints: one line per item, then the total. A quiz that lost
    its point says what the notebook chose (the right answer is in the feedback page)."""
    source_notebook = nbformat.read(source, as_version=4)
    names = item_names(source_notebook)
    quizzes = read_quiz_keys(source_notebook)
    answers = read_submission(notebook, read_plan(source)).answers
    lines = []
    for grade_id, (score, points) in result.scores.items():
        shown = "pending" if score is None else f"{score:g}"
        lines.append(f"{shown:>7} / {points:g}  {names.get(grade_id, grade_id)}")
        if score == points:
            continue
        if grade_id in quizzes:
            key = quizzes[grade_id]
            code = answers.get(key.answer_id, "")
            lines.append(f"{'':>13}your answer: {quiz_choice_text(key, code)}")
        elif result.messages.get(grade_id):
            lines.append(f"{'':>13}{result.messages[grade_id]}")
    status = result.status.replace("_", " ")
    reason = f" ({result.reason})" if result.reason else ""
    lines.append(f"total: {result.score:g} / {result.max_score:g}; status: {status}{reason}")
    return "\n".join(lines)
