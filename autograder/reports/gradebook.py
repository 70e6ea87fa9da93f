"""Keep nbgrader's gradebook in step with our grade records, so formgrader keeps working.

For each graded notebook the submission is created in the gradebook (if needed) and every grade
cell gets our automatic score. Written answers that await manual grading get no automatic score
and stay marked "needs manual grade", so the instructor grades them in formgrader; manual scores
already given are kept. `manual_grading` reads back what the instructor gave in formgrader:
scores and comments. Notebooks whose status is not plain "graded" are flagged for review. A
"missing" result removes any earlier submission, so no stale score survives. `forget_grades`
clears everything recorded of a notebook's grade when its submission changes (collect), so that
no score of the notebook it replaces is ever shown for it.
"""

from __future__ import annotations

import warnings

from autograder.course_folder import Course
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


def forget_grades(course: Course, student: str, assignment: str, notebook: str) -> list[str]:
    """Forget every grade recorded of one submitted notebook, before it is replaced: its result
    file, graded copy and feedback page are removed, and in the gradebook (if the notebook is
    there) every score, automatic or given by hand, and every comment is cleared, each cell
    marked as needing grading and the notebook flagged, until `grade` records its new result
    (formgrader then shows no score of the notebook replaced). Returns the cells that were
    scored or commented by hand, as `name (score)`, for the instructor to grade again."""
    for path in (course.result(student, assignment, notebook),
                 course.autograded(student, assignment, notebook),
                 course.feedback(student, assignment, notebook)):
        path.unlink(missing_ok=True)
    if not (course.root / "gradebook.db").exists():
        return []
    from nbgrader.api import MissingEntry

    with warnings.catch_warnings(), course.gradebook() as gradebook:
        warnings.simplefilter("ignore")  # SQLAlchemy 2.1 warns about nbgrader's session use
        try:
            submitted = gradebook.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            return []
        by_hand = {grade.name: f"{grade.name} ({grade.manual_score:g})"
                   for grade in submitted.grades if grade.manual_score is not None}
        for comment in submitted.comments:
            if (comment.manual_comment or "").strip():
                by_hand.setdefault(comment.name, f"{comment.name} (a comment)")
            comment.manual_comment = None
        for grade in submitted.grades:
            grade.auto_score = grade.manual_score = grade.extra_credit = None
            grade.needs_manual_grade = True
        submitted.flagged = True
        gradebook.db.commit()
    return [by_hand[name] for name in sorted(by_hand)]


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
