"""`llmf-grade check`: a self-paced learner grades their own notebook.

The notebook is matched to its chapter by its content, not its file name (a JupyterLab copy
`ch2_autoregression-Copy1.ipynb` or a renamed file is still chapter 2): the chapter whose source
shares most of its cells, by grade_id or by text, at least MIN_SHARED_CELLS of them
(`notebook_marks`). It is then
graded by the same grader a class gets, hidden tests included, in the same sandbox. A file that
is not a notebook, or no chapter's, is refused with a one-line error saying what to give instead.
The report lists each item's score under the chapter's name for it and, for an item that lost
points, what happened in the same plain words as the page (autograder.reports.wording); the HTML
feedback page a class gets, with the model answers and rubrics of the written answers added, is
written next to the notebook, as <notebook>.feedback.html.

>>> result, page = check_notebook("notebooks/ch2_autoregression.ipynb", Course())  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder.course_folder import Course
from autograder.files import atomic_write, printable
from autograder.grader.pipeline import grade_notebook
from autograder.grader.sandbox import Limits
from autograder.grader.submission import (
    MAX_BYTES,
    MAX_JSON_VALUES,
    json_values,
    notebook_bytes,
    read_submission,
    read_submitted,
)
from autograder.notebook_marks import CourseNotebooks
from autograder.records import GradeResult
from autograder.reports.feedback import SourceFacts, feedback_page, text_report

# the file a learner checks: their own copy, which `make course` made in work/
EXAMPLE = "work/ch1_base_models.ipynb"


def no_notebook(path: Path) -> str:
    """Why `path` names no notebook file, and what to give instead (one line)."""
    shown = printable(str(path))
    if path.is_dir():
        return f"{shown} is a folder: give one chapter notebook in it, e.g. {EXAMPLE}"
    if path.suffix != ".ipynb" and path.with_name(path.name + ".ipynb").is_file():
        return f"no notebook {shown}: did you mean {printable(str(path))}.ipynb?"
    return (f"no notebook {shown}: give the .ipynb file of a chapter you saved in JupyterLab, "
            f"e.g. {EXAMPLE}")


def read_cells(notebook: Path) -> list:
    """The cells of a notebook file (at most MAX_BYTES of it read, at most MAX_JSON_VALUES
    values parsed, as the grader reads it; a link of the learner's followed); ValueError, in
    one line saying what to give instead, for a file that is not a notebook."""
    submitted = read_submitted(Path(notebook).resolve())
    if submitted is None:
        raise FileNotFoundError(no_notebook(Path(notebook)))
    name, raw = printable(notebook.name), notebook_bytes(submitted.data)
    if len(raw) > MAX_BYTES:
        raise ValueError(f"{name} is larger than {MAX_BYTES >> 20} MB: clear its outputs in "
                         "JupyterLab (Edit > Clear Outputs of All Cells), save it and check again")
    if json_values(raw) > MAX_JSON_VALUES:  # parsed, 11 MB of them took 300 MB, 50 MB 1.3 GB
        raise ValueError(f"{name} holds more than {MAX_JSON_VALUES:,} JSON values, far more than "
                         "a notebook: clear its outputs in JupyterLab (Edit > Clear Outputs of "
                         "All Cells), save it and check again")
    try:
        content = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(f"{name} is not a notebook (its text is not a notebook's JSON): give the "
                         f".ipynb file of a chapter you saved in JupyterLab, e.g. {EXAMPLE}"
                         ) from None
    cells = content.get("cells") if isinstance(content, dict) else None
    if not isinstance(cells, list):
        raise ValueError(f"{name} is not a notebook (it has no list of cells): give the .ipynb "
                         f"file of a chapter you saved in JupyterLab, e.g. {EXAMPLE}")
    return cells


def source_for(course: Course, notebook: Path) -> Path:
    """The source notebook a learner's notebook comes from, recognised by its cells
    (`notebook_marks.CourseNotebooks`: the one of the file's name where two share as many)."""
    notebooks = CourseNotebooks(course)
    named = next((key for key in notebooks.marks if key[1] == notebook.stem), None)
    found = notebooks.recognise(read_cells(notebook), named)
    if found is None:
        raise ValueError(f"{printable(notebook.name)} is not a chapter notebook of this course "
                         f"(it shares too few cells with any of "
                         f"{', '.join(name for _, name in notebooks.marks)}): give your copy of "
                         "a chapter from notebooks/")
    return course.source(*found)


def feedback_path(notebook: Path) -> Path:
    return notebook.with_name(f"{notebook.stem}.feedback.html")


def check_notebook(notebook: str | Path, course: Course,
                   limits: Limits | None = None) -> tuple[GradeResult, Path, str]:
    """Grade a learner's notebook; return its result, the feedback page written, the report."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(no_notebook(notebook))
    source_path = source_for(course, notebook)
    source = SourceFacts.read(source_path)
    own_file = notebook.resolve()  # a link of the learner's is followed: the file is theirs
    result = grade_notebook(own_file, source_path, limits=limits)
    answers = read_submission(read_submitted(own_file), source.plan).answers
    row = {"status": result.status, "reason": result.reason, "scores": result.scores,
           "result": result, "manual": {}}
    page = atomic_write(feedback_path(notebook),
                        feedback_page(source, row, answers, "you", self_paced=True))
    return result, page, text_report(source, row, answers)
