"""`llmf-grade check`: a self-paced learner grades their own notebook.

The notebook is matched to its source by name (notebooks/ch3_pretraining_objective.ipynb is
graded against source/ch3_pretraining_objective/ch3_pretraining_objective.ipynb) and graded by
the same grader a class gets, hidden tests included, in the same sandbox. The report lists each
item's score under the chapter's name for it and, for an item that lost points, what happened
in the same plain words as the page (autograder.reports.wording); the HTML feedback page a class
gets, with the model answers and rubrics of the written answers added, is written next to the
notebook, as <notebook>.feedback.html.

>>> result, page = check_notebook("notebooks/ch2_autoregression.ipynb", Course())  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from autograder.course_folder import Course
from autograder.files import atomic_write
from autograder.grader.pipeline import grade_notebook
from autograder.grader.sandbox import Limits
from autograder.grader.submission import read_submission, read_submitted
from autograder.records import GradeResult
from autograder.reports.feedback import SourceFacts, feedback_page, text_report


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


def check_notebook(notebook: str | Path, course: Course,
                   limits: Limits | None = None) -> tuple[GradeResult, Path, str]:
    """Grade a learner's notebook; return its result, the feedback page written, the report."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook {notebook}")
    source_path = source_for(course, notebook)
    source = SourceFacts.read(source_path)
    result = grade_notebook(notebook, source_path, limits=limits)
    answers = read_submission(read_submitted(notebook), source.plan).answers
    row = {"status": result.status, "reason": result.reason, "scores": result.scores,
           "result": result, "manual": {}}
    page = atomic_write(feedback_path(notebook),
                        feedback_page(source, row, answers, "you", self_paced=True))
    return result, page, text_report(source, row, answers)
