"""Judge a run against the references, in the grader's process: the verdict of every test cell.

A test cell scores its points only if its visible checks finished without an error and every
hidden case gave plain data equal (within tolerance) to the value the instructor's own solution
gives for the same expression (a forbidden course_lib function is not there to call: see
autograder.grader.course_lib_view). Written answers are left for manual grading (0 if unanswered).

Nothing the kernel reports is believed but values: not an exception's name (a student's own
class can be called anything), not why a hidden case gave no value. Whether a visible check may
stop early is the instructor's solution's fact (`excused`: its own checks stop on a function
taken away), and every message is the grader's words, the reference's facts, or the
instructor's text of a visible check (see visible_error).

>>> result = judge(plan, submission, run, references)  # doctest: +SKIP
>>> result.scores["linear_test"]                       # doctest: +SKIP
(2.0, 2.0)
"""

from __future__ import annotations

import ast
import builtins
import string

from autograder.grader import syntax
from autograder.grader.compare import compare
from autograder.grader.execute import FORBIDDEN_CALL, KernelRun, stopped_by_forbidden
from autograder.grader.plan import HiddenCall, Plan, PlanError, Step
from autograder.grader.submission import Submission, normalise
from autograder.protocol import CaseError, Report, read_report
from autograder.records import GradeResult, Status
from course_lib.exercises import MESSAGES as CALL_MESSAGES

# the grader's words for a hidden case that gave no value: the kernel's account of why (an
# exception, which could be of any name, or a value that is not plain data) is not believed
NO_VALUE = ("gave no value: it raised an exception, or returned something that is not plain "
            "data (numbers, strings, lists, numpy arrays)")
FIELD = "…"  # stands for a value the student's code formatted into a message
MAX_MESSAGE_CHARS = 100_000  # a longer exception message is matched to no template
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
    """True if a hidden block's cases stopped on a course_lib function taken away (read from
    the instructor's own run: only the instructor's code ran in that kernel)."""
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


def judge_test(step: Step, run: KernelRun, references: dict, excused: frozenset[str],
               uses_forbidden: str) -> tuple[bool, str]:
    """(passed, message) for one test cell. excused: test cells whose visible checks stop on a
    function taken away even on the instructor's solution (their hidden values alone decide);
    uses_forbidden: the grader's note when the student's code names a function this test
    forbids ("" if it does not)."""
    visible = run.outcomes.get(step.grade_id)
    if visible is None or visible.status == "skipped":
        return False, "not run: " + (visible.error if visible else "an earlier cell crashed")
    if visible.status in ("timeout", "died"):
        verb = "timed out" if visible.status == "timeout" else "crashed the kernel"
        return False, f"the visible checks {verb}"
    if visible_failed(step, visible, excused):
        return False, (f"a visible check failed: {visible_error(step, visible.error)}"
                       + uses_forbidden)
    hidden = run.hidden.get(step.grade_id)
    if step.hidden_calls and (hidden is None or hidden.status != "ok"):
        why = {"timeout": "the hidden tests timed out", "died": "the kernel died in the hidden "
               "tests", "error": "an exception stopped the hidden tests"}
        return False, why.get(hidden.status if hidden else "",
                              "the hidden tests did not run") + uses_forbidden
    reports = reports_by_name(hidden)
    for call in step.hidden_calls:
        report = reports.get(call.name)
        if report is None:
            return False, f"{call.name}: the hidden tests did not report (were they blocked?)"
        ok, why = judge_cases(call, report, references[step.grade_id][call.name])
        if not ok:
            return False, why + uses_forbidden
    return True, ""


def visible_failed(step: Step, visible, excused: frozenset[str]) -> bool:
    """True if a test cell's visible checks failed: any error, except in an `excused` cell
    (whose checks stop on a function taken away even on the instructor's solution) an error of
    no built-in exception's name, which the hidden values judge instead. A built-in name is
    believed only this way round: it can cost the student the cell, never excuse it."""
    if visible is None or visible.status != "error":
        return False
    return step.grade_id not in excused or visible.error.partition(":")[0] in BUILTIN_EXCEPTIONS


def judge_cases(call: HiddenCall, report: Report, expected: list) -> tuple[bool, str]:
    """(all cases match, the first mismatch's message)."""
    if len(report.cases) != len(expected):
        return False, f"{call.name}: the hidden tests reported the wrong number of cases"
    for number, (value, reference) in enumerate(zip(report.cases, expected, strict=True), 1):
        where = f"{call.name}: hidden case {number} of {len(expected)}"
        if isinstance(value, CaseError):
            return False, f"{where} {NO_VALUE}"
        ok, why = compare(value, reference, rtol=call.rtol, atol=call.atol)
        if not ok:
            return False, f"{where}: {why}"
    return True, ""


def forbidden_note(step: Step, code: str) -> str:
    """The grader's note when the student's code (answers and added cells, `code`) names a
    course_lib function that `step` forbids: read from the submission, not from the kernel."""
    named = [name for call in step.hidden_calls for name in call.forbid
             if name.rsplit(".", 1)[-1] in code]
    if not named:
        return ""
    return (f" (your code uses {' or '.join(named)}, which this exercise asks you to write "
            "yourself: it is not available while grading)")


def shared_templates() -> list[tuple[str, ...]]:
    """The messages every visible check can fail with through course_lib.exercises.call (the
    course's own text, not the student's), each as its literal parts around its fields."""
    templates = []
    for text in CALL_MESSAGES:
        parts, current = [], ""
        for literal, field, _, _ in string.Formatter().parse(text):
            current += literal
            if field is not None:
                parts.append(current)
                current = ""
        templates.append((*parts, current))
    return templates


def message_templates(code: str) -> list[tuple[str, ...]]:
    """The texts the instructor's visible checks can raise with: every string literal of the
    code, each an f-string's literal parts (a tuple of n + 1 parts around n fields), and the
    messages of course_lib.exercises.call (shared_templates)."""
    templates = shared_templates()
    for node in ast.walk(syntax.parse(code)):
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
    if name not in BUILTIN_EXCEPTIONS:
        return "an exception raised by your code"
    if not message:
        return name
    if len(message) <= MAX_MESSAGE_CHARS:
        for parts in message_templates(step.code):
            if fills_template(parts, message):
                return f"{name}: {FIELD.join(parts)}"
    return f"{name} (run the checks in your notebook to see its message)"


def fills_template(parts: tuple[str, ...], message: str) -> bool:
    """True if `message` is parts[0] + any text + parts[1] + ... + any text + parts[-1].

    No regular expression: the first and last parts must open and close the message, and each
    part between is found at its leftmost place after the one before (the leftmost place leaves
    the most room for the rest, so this finds a match whenever there is one). Each search is
    one pass of str.find, so the cost is linear in the message for each part, whatever the
    student's code put in it (a backtracking pattern took cubic time).

    >>> fills_template(("got ", " rows, expected ", ""), "got 3 rows, expected 4")
    True
    >>> fills_template(("sum to 1",), "sums to 1")
    False
    """
    if len(parts) == 1:
        return message == parts[0]
    first, *middle, last = parts
    if len(first) + len(last) > len(message) or not (
        message.startswith(first) and message.endswith(last)
    ):
        return False
    start, end = len(first), len(message) - len(last)
    for part in middle:
        found = message.find(part, start, end)
        if found < 0:
            return False
        start = found + len(part)
    return True


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


def judge(plan: Plan, submission: Submission, run: KernelRun, references: dict,
          excused: frozenset[str] = frozenset()) -> GradeResult:
    """Combine a run, the submission's findings and the references into a GradeResult.
    excused: see judge_test (pipeline.References.excused)."""
    scores, messages, failed_checks = {}, {}, {}
    code = "\n".join([*submission.answers.values(), *(code for _, code in submission.added)])
    for step in plan.tests:
        passed, message = judge_test(step, run, references, excused, forbidden_note(step, code))
        scores[step.grade_id] = (step.points if passed else 0.0, step.points)
        if message:
            messages[step.grade_id] = message
        visible = run.outcomes.get(step.grade_id)
        if visible_failed(step, visible, excused):
            failed_checks[step.grade_id] = visible_error(step, visible.error)
    waiting = written_scores(plan, submission, scores, messages)
    review = [f"the written answer {grade_id} was typed into a code cell"
              for grade_id in submission.in_code_cells if scores[grade_id][0] is None]
    review += submission.to_review
    findings = ([submission.variant_problem] if submission.variant_problem else []) + list(
        submission.tampering) + run.incidents + review
    if submission.tampering:
        status = Status.TAMPERED
    elif submission.variant_problem:
        status = Status.WRONG_VARIANT
    elif run.crashed:
        status = Status.CRASHED
    elif run.timed_out:
        status = Status.TIMED_OUT
    else:
        status = Status.NEEDS_MANUAL_GRADING if waiting else Status.GRADED
    return GradeResult(plan.name, status, "; ".join(findings), scores, messages, failed_checks,
                       submission.sha256, plan.digest, review)
