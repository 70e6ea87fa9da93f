"""Grade a whole class: every student's submission of every assignment in a course folder.

Each source notebook's plan is read once per run. Each finished grade is recorded at once, in
this order: the graded notebook (for formgrader), the result file (JSON, written atomically),
then the gradebook (one transaction). Killing the grader therefore loses nothing already
recorded, and a re-run skips submissions whose result is current (same submitted file, same
source; pass force=True to grade everything again); a gradebook that missed an update is
brought back in step by `sync_gradebook`.
"""

from __future__ import annotations

import copy
from collections import Counter

import nbformat

from autograder.class_variants import ClassVariants
from autograder.course_folder import Course
from autograder.files import atomic_write
from autograder.grader.pipeline import Graded, zero_result
from autograder.grader.plan import read_plan, role
from autograder.grader.sandbox import Limits
from autograder.grader.submission import Submission, read_submitted, submitted_digest
from autograder.local_pool import Job, grade_many
from autograder.records import (
    GradeResult,
    Status,
    grader_error,
    is_current,
    read_result,
    save_result,
)
from autograder.reports.gradebook import forget_grades, record_in_gradebook


def graded_copy(source_notebook, submission: Submission):
    """What was graded, for formgrader: the source notebook with the student's answers in it."""
    notebook = copy.deepcopy(source_notebook)
    for cell in notebook.cells:
        grade_id = role(cell).get("grade_id")
        if grade_id in submission.answers:
            cell.source = submission.answers[grade_id]
        elif grade_id in submission.written:
            cell.source = submission.written[grade_id]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


class Recorder:
    """Records results of one course; each student's source is their variant's, if any."""

    def __init__(self, course: Course, variants: ClassVariants | None = None):
        self.course = course
        self.variants = variants or ClassVariants(course)

    def record(self, key: tuple, graded: Graded) -> GradeResult:
        """Record one result: graded notebook, result file, gradebook (in that order).

        Never raises for a notebook's content: if recording fails, the notebook is recorded
        "crashed" with the grader error as its reason (returned), its graded copy removed. That
        record is the result file's alone when the gradebook is what failed (export and feedback
        read the result files), and the next run grades the notebook again (`is_recorded`).
        """
        try:
            self._write(key, graded)
            return graded.result
        except Exception as error:
            plan_points = {g: (0.0, p) for g, (_, p) in graded.result.scores.items()}
            failed = GradeResult(graded.result.notebook, Status.CRASHED,
                                 grader_error(error, "recording the result"), plan_points,
                                 submission_sha256=graded.result.submission_sha256,
                                 source_sha256=graded.result.source_sha256)
            self.course.autograded(*key).unlink(missing_ok=True)
            save_result(failed, self.course.result(*key))
            try:
                record_in_gradebook(self.course, *key, failed)
            except Exception:  # the gradebook itself fails: the result file says it all
                pass
            return failed

    def _write(self, key: tuple, graded: Graded) -> None:
        student, assignment, notebook = key
        if graded.submission.problem is None and graded.submission.sha256:
            copy_ = graded_copy(self.variants.source(*key), graded.submission)
            atomic_write(self.course.autograded(*key), nbformat.writes(copy_))
        save_result(graded.result, self.course.result(*key))
        try:
            record_in_gradebook(self.course, student, assignment, notebook, graded.result)
        except UnicodeError:  # a student id that is not valid UTF-8 (from a file name): the
            pass  # gradebook cannot store it; export and feedback read the result file


class Tally(Counter):
    """How many notebooks a run recorded with each status (a Counter), `grader_failures`: how
    many of the crashed ones were the grader's own failures, and `without_variant`: the
    students of a class with per-student variants who have none (not graded)."""

    grader_failures: int = 0
    without_variant: tuple[str, ...] = ()


class GradingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped `grade_course`; `statuses` counts what was recorded before it."""

    def __init__(self, statuses: Tally):
        super().__init__(f"interrupted after recording {statuses.total()} result(s)")
        self.statuses = statuses


def is_recorded(course: Course, key: tuple, source_digest: str) -> bool:
    """True if the recorded result was computed from the current submission and source (the
    student's source: their variant's when they have one) and is a verdict on the notebook: a
    result that records the grader's own failure is graded again (its cause, a locked
    gradebook or an assignment released since, may be gone)."""
    result = read_result(course.result(*key))
    return (result is not None and not result.grader_failed
            and is_current(result, submitted_digest(course.submission(*key)), source_digest))


def grade_course(
    course: Course,
    assignments: list[str] | None = None,
    students: list[str] | None = None,
    *,
    limits: Limits | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
    scheduler: str | None = None,
    allow_unsandboxed: bool = False,
) -> Tally:
    """Grade every (student, assignment, notebook); return the Tally of statuses.

    scheduler: None grades on this machine's process pool (`workers` processes); a Dask
    scheduler address or `local:N` grades on that cluster (autograder.cluster), whose workers
    refuse to grade without bubblewrap unless `allow_unsandboxed`.
    """
    assignments = assignments or course.assignments()
    students = students or course.students()
    variants = ClassVariants(course)
    recorder = Recorder(course, variants)
    statuses = Tally()
    if variants.enabled:  # a student without a variant has nothing to be graded against
        statuses.without_variant = tuple(s for s in students if not variants.has(s))
        students = [student for student in students if variants.has(student)]
    jobs = []
    for assignment in assignments:
        for notebook in course.notebooks(assignment):
            shared = None if variants.enabled else read_plan(course.source(assignment, notebook))
            for student in students:
                key = (student, assignment, notebook)
                digest = shared.digest if shared else variants.source_digest(*key)
                if not force and is_recorded(course, key, digest):
                    statuses["unchanged"] += 1
                    continue
                plan = shared or variants.plan(*key)
                submission_path = course.submission(*key)
                if not submission_path.exists():
                    result = zero_result(plan, Status.MISSING, "no notebook was submitted")
                    recorder.record(key, Graded(result, Submission()))
                    statuses[result.status] += 1
                    continue
                jobs.append(Job(key, plan, submission_path))

    def on_result(job: Job, graded: Graded) -> None:
        result = recorder.record(job.key, graded)
        statuses[result.status] += 1
        statuses.grader_failures += result.grader_failed

    try:
        if scheduler:
            from autograder.cluster import grade_on_cluster

            grade_on_cluster(jobs, scheduler=scheduler, limits=limits, on_result=on_result,
                             allow_unsandboxed=allow_unsandboxed, progress=progress)
        else:
            grade_many(jobs, limits=limits, workers=workers, on_result=on_result,
                       progress=progress)
    except KeyboardInterrupt as interrupt:  # every result recorded so far stays recorded
        raise GradingInterrupted(statuses) from interrupt
    return statuses


def forget_changed(course: Course) -> list[tuple[tuple, list[str]]]:
    """Forget the grades of every notebook of the course's students whose submitted file
    changed since its result was recorded, by whatever means (nbgrader's own collect, a file
    copied by hand): `reports.gradebook.forget_grades`, so that no score of the notebook it
    replaced is shown for it. Returns each such (student, assignment, notebook) with the cells
    scored or commented by hand that were cleared."""
    students, forgotten = set(course.students()), []
    for path in sorted((course.root / "autograded").glob("*/*/*.result.json")):
        key = (path.parent.parent.name, path.parent.name, path.name.removesuffix(".result.json"))
        if key[0] not in students:
            continue
        result, now = read_result(path), read_submitted(course.submission(*key))
        if result is not None and result.submission_sha256 != (now.sha256 if now else ""):
            forgotten.append((key, forget_grades(course, *key, new=now.data if now else b"")))
    return forgotten


def sync_gradebook(course: Course) -> list[tuple[tuple, list[str]]]:
    """Forget the grades of the notebooks changed since graded (`forget_changed`, returned),
    then push the result files of the course's students (`Course.students`) into the gradebook
    again (one the gradebook refuses, for a student id that is not valid UTF-8, say, stays out
    of it: export and feedback read the result files).

    A result file left in autograded/ by an id that is no student's now (refused, spelled two
    ways, or removed from the gradebook once its files were moved to the student's own folder)
    is never pushed: that would enter the id in the gradebook again, and a removed spelling
    would leave the student's other spelling out of every report."""
    forgotten = forget_changed(course)
    students = set(course.students())
    for path in sorted((course.root / "autograded").glob("*/*/*.result.json")):
        student, assignment = path.parent.parent.name, path.parent.name
        if student not in students:
            continue
        notebook = path.name.removesuffix(".result.json")
        result = read_result(path)
        if result is None:  # an unreadable one counts as not graded (see export)
            continue
        try:
            record_in_gradebook(course, student, assignment, notebook, result)
        except UnicodeError:  # a student id the gradebook cannot store
            continue
    return forgotten
