"""Grade one notebook: the stages, in the order they run, each in its own module.

    1. read the plan            grader.plan.read_plan (once per source notebook per run)
    2. read the submission      grader.submission.read_submission (parsed once; finds tampering)
    3. start the sandboxed kernel and run setup, answers, tests
                                grader.execute.run_plan (grader.kernel in grader.sandbox), on
                                the Python the notebook was saved with, or the nearest
                                (grader.pythons)
    4. carry out the values     in the kernel, autograder.in_kernel.cases sends them as
                                autograder.protocol messages; grader.kernel reads them
    5. judge against the references
                                grader.judge.judge (references: `reference_values`, step 3
                                run once on the source's own solutions)
    6. record                   autograder.grade_class.Recorder.record (the caller's process)

`grade(task)` does stages 2 to 5 for one notebook. It is a pure function of its Task (a plan,
the submitted file, the references, the limits) and returns a Graded, so any executor (the
local process pool of autograder.local_pool, or another) can run it. It never raises: a failure in
any stage is that notebook's "crashed" status, with a reason naming the grader error.

>>> graded = grade(Task(read_plan(source), submitted_bytes, references, Limits()))  # doctest: +SKIP
>>> graded.result.status                                                            # doctest: +SKIP
<Status.GRADED: 'graded'>
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from autograder.grader.execute import run_plan, stopped_by_forbidden
from autograder.grader.judge import judge, needs_a_forbidden_function, references_from_run
from autograder.grader.plan import Plan, read_plan
from autograder.grader.pythons import available, choose
from autograder.grader.sandbox import Limits
from autograder.grader.submission import Submission, Submitted, read_submission, read_submitted
from autograder.records import GradeResult, Status, grader_error

_REFERENCE_CACHE: dict[tuple[str, Limits], References] = {}


@dataclass(frozen=True)
class Task:
    """Everything needed to grade one notebook (picklable: it travels to a worker)."""

    plan: Plan
    submitted: Submitted | None  # the submitted file as read; None if nothing was submitted
    references: References  # reference_values(plan, limits)
    limits: Limits


@dataclass(frozen=True)
class Graded:
    """What grading one notebook gives: its result, and the submission as it was read (the
    answers the graded copy for formgrader shows)."""

    result: GradeResult
    submission: Submission


def grade(task: Task) -> Graded:
    """Stages 2-5 for one notebook; any failure becomes a "crashed" result that awards nothing."""
    plan = task.plan
    submission, stage = Submission(), "reading the submission"
    try:
        submission = read_submission(task.submitted, plan)
        if submission.problem is not None:
            status, reason = submission.problem
            return Graded(zero_result(plan, status, reason, submission.sha256), submission)
        stage = "running the notebook"
        python, note = choose(submission.saved_on, available())
        run = run_plan(plan, submission.answers, task.limits, submission.added,
                       task.references.apart, python)
        stage = "judging the results"
        result = judge(plan, submission, run, task.references.values, task.references.excused)
        return Graded(replace(result, python=python.name, python_note=note), submission)
    except Exception as error:  # the grader failed on this notebook: never keep a partial score
        digest = task.submitted.sha256 if task.submitted is not None else ""
        return crashed(plan, grader_error(error, stage), digest)


def crashed(plan: Plan, reason: str, sha256: str = "") -> Graded:
    """The Graded of a notebook the grader could not grade (inside `grade` or around it, in an
    executor): status crashed, no points, `reason`."""
    return Graded(zero_result(plan, Status.CRASHED, reason, sha256), Submission())


def zero_result(plan: Plan, status: Status, reason: str, sha256: str = "") -> GradeResult:
    """A result of `plan`'s notebook that awards nothing."""
    return GradeResult.zero(plan.name, plan.max_points(), status, reason, sha256, plan.digest)


@dataclass(frozen=True)
class References:
    """What the instructor's solutions give: `values` {test grade_id: {case name: [values]}},
    the test cells graded `apart` (see grader.execute.run_plan), and the test cells whose
    visible checks are `excused`: on the instructor's own solution they stop on a function
    taken away, so their hidden values alone decide (see grader.judge.judge_test)."""

    values: dict
    apart: frozenset[str] = frozenset()
    excused: frozenset[str] = frozenset()


def reference_values(plan: Plan, limits: Limits) -> References:
    """The references of a plan, cached per source notebook content.

    A test cell whose hidden cases need, on the instructor's own solution, a function another
    exercise forbids (a setup helper calling it, say) is graded apart. Raises PlanError if the
    source still fails its own tests.
    """
    key = (plan.digest, limits)
    if key not in _REFERENCE_CACHE:
        run = run_plan(plan, None, limits)
        apart = frozenset(step.grade_id for step in plan.tests
                          if needs_a_forbidden_function(run.hidden.get(step.grade_id)))
        if apart:
            run = run_plan(plan, None, limits, apart=apart)
        values = references_from_run(plan, run)  # every step ran, or PlanError
        excused = frozenset(step.grade_id for step in plan.tests
                            if stopped_by_forbidden(run.outcomes[step.grade_id]))
        _REFERENCE_CACHE[key] = References(values, apart, excused)
    return _REFERENCE_CACHE[key]


def grade_notebook(
    submission_path: str | Path,
    source_path: str | Path,
    *,
    references: dict | None = None,
    limits: Limits | None = None,
) -> GradeResult:
    """Grade a submitted notebook file in the sandbox against the source notebook file.

    references: precomputed `reference_values` (computed and cached when None).
    Raises PlanError when the source notebook itself is broken; any other failure gives a
    "crashed" result that awards nothing.
    """
    plan = read_plan(source_path)
    limits = limits or Limits()
    if references is None:
        references = reference_values(plan, limits)
    return grade(Task(plan, read_submitted(submission_path), references, limits)).result

