"""Judge a run against the references, in the grader's process: the verdict of every test cell.

A test cell scores its points only if its visible checks finished without an error and every
hidden case gave plain data equal (within tolerance) to the value the instructor's own solution
gives for the same expression (a forbidden course_lib function is not there to call: see
autograder.grader.course_lib_view). Written answers are left for manual grading (0 if unanswered).

>>> result = judge(plan, submission, run, references)  # doctest: +SKIP
>>> result.scores["linear_test"]                       # doctest: +SKIP
(2.0, 2.0)
"""

from __future__ import annotations

import ast
import builtins
import re

from autograder.grader.compare import compare
from autograder.grader.execute import FORBIDDEN_CALL, KernelRun, stopped_by_forbidden
from autograder.grader.plan import HiddenCall, Plan, PlanError, Step
from autograder.grader.submission import Submission, normalise
from autograder.protocol import CaseError, Report, read_report
from autograder.records import GradeResult, Status

FIELD = "…"  # stands for a value the student's code formatted into a message
BUILTIN_EXCEPTIONS = frozenset(
    name for name, obj in vars(builtins).items()
    if isinstance(obj, type) and issubclass(obj, BaseException))


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


def needs_a_forbidden_function(outcome) -> bool:
    """True if a hidden block's cases stopped on a course_lib function taken away."""
    return any(isinstance(case, CaseError) and case.why == f"raised {FORBIDDEN_CALL}"
               for report in reports_by_name(outcome).values() for case in report.cases)


def references_from_run(plan: Plan, run: KernelRun) -> dict:
    """Check the source's own run passed everything; {test grade_id: {case name: [values]}}."""
    references = {}
    for step in plan.steps:
        outcome = run.outcomes.get(step.grade_id)
        if outcome is None or outcome.status != "ok" and not (
            step.kind == "test" and stopped_by_forbidden(outcome)
        ):
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
            if report is None or len(report.cases) != call.n_cases or broken:
                problem = broken or (hidden.error if hidden else "the hidden block did not run")
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
    if visible.status == "error" and not stopped_by_forbidden(visible):
        return False, f"a visible check failed: {visible_error(step, visible.error)}"
    hidden = run.hidden.get(step.grade_id)
    if step.hidden_calls and (hidden is None or hidden.status != "ok"):
        status = hidden.status if hidden else "not run"
        error = exception_name(hidden.error) if hidden and hidden.error else status
        return False, f"the hidden tests could not run ({error})"
    reports = reports_by_name(hidden)
    for call in step.hidden_calls:
        report = reports.get(call.name)
        if report is None:
            return False, f"{call.name}: the hidden tests did not report (were they blocked?)"
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
            return False, f"{where} {case_error_message(call, value)}"
        ok, why = compare(value, reference, rtol=call.rtol, atol=call.atol)
        if not ok:
            return False, f"{where}: {why}"
    return True, ""


def exception_name(error: str) -> str:
    """The name of the exception in a kernel's "Name: message" if it is a built-in one."""
    name = error.split(":")[0]
    return name if name in BUILTIN_EXCEPTIONS else "an exception"


def message_templates(code: str) -> list[tuple[str, ...]]:
    """The texts the instructor's visible checks can raise with: every string literal of the
    code, each an f-string's literal parts (a tuple of n + 1 parts around n fields)."""
    templates = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            templates.append((node.value,))
        elif isinstance(node, ast.JoinedStr):
            parts, current = [], ""
            for value in node.values:
                if isinstance(value, ast.Constant):
                    current += str(value.value)
                else:
                    parts.append(current)
                    current = ""
            templates.append((*parts, current))
    return templates


def visible_error(step: Step, error: str) -> str:
    """What a failed visible check shows: the exception's name (if built in) and the
    instructor's message with each formatted field as "…". The student's code could put hidden
    material in any text it makes (a field's value, its own exception's message), so only text
    found in the instructor's code is shown; the student runs the same checks in the notebook
    and sees the values there."""
    name, _, message = error.partition(": ")
    if name == FORBIDDEN_CALL:
        return (f"{name}: a course_lib function this exercise asks you to write is not available "
                "while grading")
    if name not in BUILTIN_EXCEPTIONS:
        return "an exception raised by your code"
    if not message:
        return name
    for parts in message_templates(step.code):
        pattern = "(?:.*?)".join(re.escape(part) for part in parts)
        if re.fullmatch(pattern, message, flags=re.DOTALL):
            return f"{name}: {FIELD.join(parts)}"
    return f"{name} (run the checks in your notebook to see its message)"


def case_error_message(call: HiddenCall, error: CaseError) -> str:
    """The grader's words for a hidden case that gave no value. The kernel's report only picks
    among them (a built-in exception's name at most), so no text the student's code makes,
    which could carry hidden material, reaches a message."""
    if error.why == f"raised {FORBIDDEN_CALL}":
        return (f"calls {' or '.join(call.forbid)}, which this exercise asks you to write "
                "yourself (it is not available while grading)")
    if error.why.startswith("raised "):
        name = error.why.removeprefix("raised ")
        return f"raised {name}" if name in BUILTIN_EXCEPTIONS else "raised an exception"
    if error.why.startswith("returned "):
        return "returned something that is not plain data (numbers, strings, arrays)"
    return "gave no value"


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
            if grade_id in submission.in_code_cells:
                messages[grade_id] += " (the answer was typed into a code cell)"
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
        if visible is not None and visible.status == "error" and not stopped_by_forbidden(visible):
            failed_checks[step.grade_id] = visible_error(step, visible.error)
    waiting = written_scores(plan, submission, scores, messages)
    review = [f"the written answer {grade_id} was typed into a code cell"
              for grade_id in submission.in_code_cells if scores[grade_id][0] is None]
    findings = list(submission.tampering) + run.incidents + review
    if submission.tampering:
        status = Status.TAMPERED
    elif run.crashed:
        status = Status.CRASHED
    elif run.timed_out:
        status = Status.TIMED_OUT
    else:
        status = Status.NEEDS_MANUAL_GRADING if waiting else Status.GRADED
    return GradeResult(plan.name, status, "; ".join(findings), scores, messages, failed_checks,
                       submission.sha256, plan.digest, review)
