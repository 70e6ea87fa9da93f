"""Keep nbgrader's gradebook in step with our grade records, so formgrader keeps working.

For each graded notebook the submission is created in the gradebook (if needed) and every grade
cell gets our automatic score. Written answers that await manual grading get no automatic score
and stay marked "needs manual grade", so the instructor grades them in formgrader; manual scores
already given are kept. `manual_grading` reads back what the instructor gave in formgrader:
scores and comments. Notebooks whose status is not plain "graded" are flagged for review. A
"missing" result removes any earlier submission, so no stale score survives. `forget_grades`
clears everything recorded of a notebook's grade when its submission changes (collect), so that
no score of the notebook it replaces is ever shown for it; a score given by hand stays only
where the answer it was given to is unchanged.
"""

from __future__ import annotations

import warnings

from autograder.course_folder import Course
from autograder.grader.plan import grade_id_of
from autograder.grader.submission import cell_text, read_submitted
from autograder.notebook_marks import cells_of
from autograder.records import GradeResult, Status


def record_in_gradebook(course: Course, student: str, assignment: str, notebook: str,
                        result: GradeResult) -> None:
    """Write one result into the gradebook in a single transaction."""
    from nbgrader.api import MissingEntry

    with warnings.catch_warnings(), course.gradebook() as gradebook:
        warnings.simplefilter("ignore")  # SQLAlchemy 2.1 warns about nbgrader's session use
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            raise RuntimeError(
                f"assignment {assignment!r} is not in the gradebook: run `llmf-grade release` first"
            ) from None
        if result.status == Status.MISSING:
            try:
                gradebook.remove_submission(assignment, student)
            except MissingEntry:
                pass
            return
        gradebook.update_or_create_student(student)
        try:
            gradebook.find_submission(assignment, student)
        except MissingEntry:
            gradebook.add_submission(assignment, student)
        submitted = gradebook.find_submission_notebook(notebook, assignment, student)
        for grade in submitted.grades:
            score, _points = result.scores.get(grade.name, (0.0, grade.max_score))
            grade.auto_score = score
            grade.needs_manual_grade = score is None and grade.manual_score is None
        submitted.flagged = result.flagged
        gradebook.db.commit()


def _is_utf8(text: str) -> bool:
    """True if `text` is valid UTF-8 (a file name that is not holds lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def answer_texts(raw: bytes) -> dict[str, str]:
    """{grade_id: the text of the last cell carrying it} of a notebook file's bytes, as the
    grader reads an answer ({} if they are not a notebook's)."""
    texts = {}
    for cell in cells_of(raw) or []:
        if isinstance(cell, dict) and grade_id_of(cell):
            texts[grade_id_of(cell)] = cell_text(cell.get("source"))
    return texts


def forget_grades(course: Course, student: str, assignment: str, notebook: str,
                  new: bytes = b"") -> list[str]:
    """Forget every grade recorded of one submitted notebook, before `new` (the bytes of the
    file replacing it) is graded: its result file, graded copy and feedback page are removed,
    and in the gradebook (if the notebook is there) every automatic score is cleared and the
    notebook flagged, until `grade` records its new result (formgrader then shows no score of
    the notebook replaced). A score or comment given by hand stays only on a cell whose text is
    the same in `new` as in the graded copy it was given on (the written answer the instructor
    read); every other is cleared, its cell marked as needing grading. Returns the cells whose
    scores or comments given by hand were cleared, as `name (score)`, to grade again."""
    graded = read_submitted(course.autograded(student, assignment, notebook))
    before, after = answer_texts(graded.data if graded else b""), answer_texts(new)
    same = {cell for cell, text in before.items() if after.get(cell) == text}
    for path in (course.result(student, assignment, notebook),
                 course.autograded(student, assignment, notebook),
                 course.feedback(student, assignment, notebook)):
        path.unlink(missing_ok=True)
    if not (course.root / "gradebook.db").exists() or not _is_utf8(student):
        return []  # no gradebook, or an id that is not valid UTF-8, which it cannot hold
    from nbgrader.api import MissingEntry

    with warnings.catch_warnings(), course.gradebook() as gradebook:
        warnings.simplefilter("ignore")  # SQLAlchemy 2.1 warns about nbgrader's session use
        try:
            submitted = gradebook.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            return []
        cleared = {}
        for comment in submitted.comments:
            if comment.name not in same:
                if (comment.manual_comment or "").strip():
                    cleared[comment.name] = f"{comment.name} (a comment)"
                comment.manual_comment = None
        for grade in submitted.grades:
            grade.auto_score = None
            if grade.name in same and grade.manual_score is not None:
                grade.needs_manual_grade = False
                continue
            if grade.manual_score is not None:
                cleared[grade.name] = f"{grade.name} ({grade.manual_score:g})"
            grade.manual_score = grade.extra_credit = None
            grade.needs_manual_grade = True
        submitted.flagged = True
        gradebook.db.commit()
    return [cleared[name] for name in sorted(cleared)]


def manual_grading(course: Course) -> dict[tuple, dict[str, tuple[float | None, str]]]:
    """{(student, assignment, notebook): {cell name: (manual score or None, comment)}}: the
    scores and comments given in formgrader, read in one pass over the gradebook ({} if there is
    no gradebook). Only cells with a manual score or a non-empty comment are listed."""
    if not (course.root / "gradebook.db").exists():
        return {}
    found: dict[tuple, dict[str, tuple[float | None, str]]] = {}
    with warnings.catch_warnings(), course.gradebook() as gradebook:
        warnings.simplefilter("ignore")
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                for submitted in submission.notebooks:
                    given = {g.name: (g.manual_score, "") for g in submitted.grades
                             if g.manual_score is not None}
                    for comment in submitted.comments:
                        text = (comment.manual_comment or "").strip()
                        if text:
                            given[comment.name] = (given.get(comment.name, (None, ""))[0], text)
                    if given:
                        key = (submission.student.id, assignment.name, submitted.name)
                        found[key] = given
    return found
