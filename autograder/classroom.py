"""Grade a whole class: every student's submission of every assignment in a course folder.

Each finished grade is recorded at once, in this order: the graded notebook (for formgrader),
the grade record (JSON, written atomically), then the gradebook (one transaction). Killing the
grader therefore loses nothing already recorded, and a re-run skips submissions whose record
matches the current submission and source (pass force=True to grade everything again); a
gradebook that missed an update is brought back in step by `sync_gradebook`.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import nbformat

from autograder.batch import Job, grade_many
from autograder.course import Course
from autograder.gradebook import record_in_gradebook
from autograder.grading import GradeResult, load_result, save_result, zero_result
from autograder.plan import read_plan, role
from autograder.sandbox import Limits
from autograder.submission import load_notebook, read_submission


def graded_copy(source: Path, submission: Path):
    """What was graded, for formgrader: the source notebook with the student's answers in it."""
    plan = read_plan(source)
    answers = read_submission(submission, plan)
    notebook = copy.deepcopy(nbformat.read(str(source), as_version=4))
    for cell in notebook.cells:
        grade_id = role(cell).get("grade_id")
        if grade_id in answers.answers:
            cell.source = answers.answers[grade_id]
        elif grade_id in answers.written:
            cell.source = answers.written[grade_id]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def record(course: Course, key: tuple, result: GradeResult) -> None:
    """Record one result: graded notebook, grade record, gradebook (in that order)."""
    student, assignment, notebook = key
    submission = course.submission(*key)
    if load_notebook(submission)[0] is not None:
        graded = graded_copy(course.source(assignment, notebook), submission)
        target = course.autograded(*key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        nbformat.write(graded, str(temporary))
        temporary.replace(target)
    save_result(result, course.result(*key))
    record_in_gradebook(course, student, assignment, notebook, result)


def is_current(course: Course, key: tuple) -> bool:
    """True if the recorded grade was computed from the current submission and source."""
    path = course.result(*key)
    if not path.exists():
        return False
    result = load_result(path)
    plan_digest = read_plan(course.source(*key[1:])).digest
    _, _, digest = load_notebook(course.submission(*key))
    return result.submission_sha256 == digest and result.source_sha256 == plan_digest


def grade_course(
    course: Course,
    assignments: list[str] | None = None,
    students: list[str] | None = None,
    *,
    limits: Limits | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> Counter:
    """Grade every (student, assignment, notebook); return a Counter of statuses."""
    assignments = assignments or course.assignments()
    students = students or course.students()
    statuses: Counter = Counter()
    jobs = []
    for assignment in assignments:
        for notebook in course.notebooks(assignment):
            for student in students:
                key = (student, assignment, notebook)
                if not force and is_current(course, key):
                    statuses["unchanged"] += 1
                    continue
                submission = course.submission(*key)
                if not submission.exists():
                    plan = read_plan(course.source(assignment, notebook))
                    record(course, key, zero_result(plan, "missing", "no notebook was submitted"))
                    statuses["missing"] += 1
                    continue
                jobs.append(Job(key, submission, course.source(assignment, notebook)))

    def on_result(job: Job, result: GradeResult) -> None:
        record(course, job.key, result)
        statuses[result.status] += 1

    grade_many(jobs, limits=limits, workers=workers, on_result=on_result, progress=progress)
    return statuses


def sync_gradebook(course: Course) -> int:
    """Push every grade record into the gradebook again; return how many were pushed."""
    count = 0
    for path in sorted((course.root / "autograded").glob("*/*/*.result.json")):
        student, assignment = path.parent.parent.name, path.parent.name
        notebook = path.name.removesuffix(".result.json")
        record_in_gradebook(course, student, assignment, notebook, load_result(path))
        count += 1
    return count
