"""Which of a course's notebooks a notebook comes from, recognised by its cells, never its name.

A notebook's marks are its cells' grade_ids and their non-empty texts (normalised). The source
notebook sharing the most marks with it, at least MIN_SHARED_CELLS of them, is the one it comes
from: a JupyterLab copy, a renamed file, a student's variant (its grade_ids are the source's) are
all recognised, and a notebook of another chapter handed in under this one's name is told apart.

>>> notebooks = CourseNotebooks(Course())  # doctest: +SKIP
>>> notebooks.recognise(cells)  # doctest: +SKIP
('ch2_autoregression', 'ch2_autoregression')
"""

from __future__ import annotations

import json

from autograder.course_folder import Course
from autograder.grader.plan import grade_id_of, normalise
from autograder.grader.submission import MAX_BYTES, MAX_JSON_VALUES, cell_text, json_values

MIN_SHARED_CELLS = 3


def cell_marks(cells: list) -> set[str]:
    """What identifies a notebook's cells: their grade_ids and their (non-empty) texts."""
    marks = set()
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        grade_id = grade_id_of(cell)
        if grade_id:
            marks.add(f"grade_id:{grade_id}")
        text = normalise(cell_text(cell.get("source")))
        if text:
            marks.add(f"text:{text}")
    return marks


def cells_of(raw: bytes) -> list | None:
    """The cells of a notebook file's bytes, read within the grader's bounds (MAX_BYTES,
    MAX_JSON_VALUES), or None if they are not a notebook's."""
    if len(raw) > MAX_BYTES or json_values(raw) > MAX_JSON_VALUES:
        return None
    try:
        content = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    cells = content.get("cells") if isinstance(content, dict) else None
    return cells if isinstance(cells, list) else None


class CourseNotebooks:
    """The marks of every source notebook of a course, read once."""

    def __init__(self, course: Course):
        self.marks = {(assignment, notebook): cell_marks(json.loads(
                          course.source(assignment, notebook).read_text())["cells"])
                      for assignment in course.assignments()
                      for notebook in course.notebooks(assignment)}

    def shared(self, cells: list) -> dict[tuple[str, str], int]:
        """{(assignment, notebook): how many marks `cells` share with its source}."""
        marks = cell_marks(cells)
        return {key: len(marks & source) for key, source in self.marks.items()}

    def recognise(self, cells: list, named: tuple[str, str] | None = None
                  ) -> tuple[str, str] | None:
        """The (assignment, notebook) whose source shares the most marks with `cells`, at least
        MIN_SHARED_CELLS (`named`, the one its name says, where it shares as many), or None."""
        shared = self.shared(cells)
        if not shared:
            return None
        best = max(shared, key=lambda key: (shared[key], key == named))
        return best if shared[best] >= MIN_SHARED_CELLS else None
