"""Judge a run against the references, in the grader's process: the verdict of every test cell.

A test cell scores its points only if its visible checks finished without an error and every
hidden case gave plain data equal (within tolerance) to the value the instructor's own solution
gives for the same expression, without calling a forbidden function. Written answers are left
for manual grading (0 if unanswered).

>>> result = judge(plan, submission, run, references)  # doctest: +SKIP
>>> result.scores["linear_test"]                       # doctest: +SKIP
(2.0, 2.0)
"""

from __future__ import annotations

from autograder.grader.compare import compare
from autograder.grader.plan import HiddenCall, Plan, PlanError, Step
from autograder.grader.runner import KernelRun
from autograder.grader.submission import Submission, normalise
from autograder.protocol import CaseError, Report, read_report
from autograder.records import GradeResult, Status


def reports_by_name(outcome) -> dict[str, Report]:
    """Well-formed hidden-cases reports of one hidden block, by case name (first one wins)."""
    found = {}
    for body in outcome.hidden if outcome is not None else []:
        try:
            report = read_report(body)
        except ValueError:
            continue
        found.setdefault(report.name, report)
    return found


def references_from_run(plan: Plan, run: KernelRun) -> dict:
    """Check the source's own run passed everything; {test grade_id: {case name: [values]}}."""
    references = {}
    for step in plan.steps:
        outcome = run.outcomes.get(step.grade_id)
        if outcome is None or outcome.status != "ok":
            detail = outcome.error if outcome else "not run"
            raise PlanError(f"{plan.name}: the source's {step.kind} cell {step.grade_id} "
                            f"fails when graded: {detail or outcome.status}")
        if step.kind != "test":
            continue
        hidden = run.hidden.get(step.grade_id)
        reports = reports_by_name(hidden)
        references[step.grade_id] = {}
        for call in step.hidden_calls:
            report = reports.get(call.name)
            broken = [c.why for c in report.cases if isinstance(c, CaseError)] if report else []
            if report is None or len(report.cases) != call.n_cases or broken or (
                report.forbidden_calls
            ):
                problem = broken or (report and report.forbidden_calls) or (
                    hidden.error if hidden else "the hidden block did not run")
                raise PlanError(f"{plan.name}: hidden_cases({call.name!r}) in {step.grade_id} "
                                f"does not work on the source's own solution: {problem}"[:400])
            references[step.grade_id][call.name] = list(report.cases)
    return references


def judge_test(step: Step, run: KernelRun, references: dict) -> tuple[bool, str]:
    """(passed, message) for one test cell."""
    visible = run.outcomes.get(step.grade_id)
    if visible is None or visible.status == "skipped":
        return False, "not run: " + (visible.error if visible else "an earlier cell crashed")
    if visible.status in ("timeout", "died"):
        verb = "timed out" if visible.status == "timeout" else "crashed the kernel"
        return False, f"the visible checks {verb}"
    if visible.status == "error":
        return False, f"a visible check failed: {visible.error}"[:500]
    hidden = run.hidden.get(step.grade_id)
    if step.hidden_calls and (hidden is None or hidden.status != "ok"):
        status = hidden.status if hidden else "not run"
        error = hidden.error.split(":")[0] if hidden and hidden.error else status
        return False, f"the hidden tests could not run ({error})"
    reports = reports_by_name(hidden)
    for call in step.hidden_calls:
        report = reports.get(call.name)
        if report is None:
            return False, f"{call.name}: the hidden tests did not report (were they blocked?)"
        forbidden = [n for n in call.forbid if n in report.forbidden_calls]
        if forbidden:
            return False, (f"{call.name}: your code calls {', '.join(forbidden)}; "
                           "this exercise asks you to implement it yourself")
        ok, why = judge_cases(call, report, references[step.grade_id][call.name])
        if not ok:
            return False, why
    return True, ""


def judge_cases(call: HiddenCall, report: Report, expected: list) -> tuple[bool, str]:
    """(all cases match, the first mismatch's message)."""
    if len(report.cases) != len(expected):
        return False, f"{call.name}: the hidden tests reported the wrong number of cases"
    for number, (value, reference) in enumerate(zip(report.cases, expected, strict=True), 1):
        where = f"{call.name}: hidden case {number} of {len(expected)}"
        if isinstance(value, CaseError):
            return False, f"{where} {value.why}"[:300]
        ok, why = compare(value, reference, rtol=call.rtol, atol=call.atol)
        if not ok:
            return False, f"{where}: {why}"
    return True, ""


def written_scores(plan: Plan, submission: Submission, scores: dict, messages: dict) -> bool:
    """Score unanswered written answers 0; return True if any awaits manual grading."""
    waiting = False
    for grade_id, (points, release_text) in plan.written.items():
        text = submission.written.get(grade_id, "")
        if normalise(text) in ("", normalise(release_text)):
            scores[grade_id] = (0.0, points)
            messages[grade_id] = "no answer written"
        else:
            scores[grade_id] = (None, points)
            messages[grade_id] = "awaiting manual grading"
            waiting = True
    return waiting


def judge(plan: Plan, submission: Submission, run: KernelRun, references: dict) -> GradeResult:
    """Combine a run, the submission's findings and the references into a GradeResult."""
    scores, messages, failed_checks = {}, {}, {}
    for step in plan.tests:
        passed, message = judge_test(step, run, references)
        scores[step.grade_id] = (step.points if passed else 0.0, step.points)
        if message:
            messages[step.grade_id] = message
        visible = run.outcomes.get(step.grade_id)
        if visible is not None and visible.status == "error":
            failed_checks[step.grade_id] = visible.error[:500]
    waiting = written_scores(plan, submission, scores, messages)
    findings = list(submission.tampering) + run.incidents
    if submission.tampering:
        status = Status.TAMPERED
    elif run.crashed:
        status = Status.CRASHED
    elif run.timed_out:
        status = Status.TIMED_OUT
    else:
        status = Status.NEEDS_MANUAL_GRADING if waiting else Status.GRADED
    return GradeResult(plan.name, status, "; ".join(findings), scores, messages, failed_checks,
                       submission.sha256, plan.digest)
