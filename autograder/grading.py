"""Grade one submitted notebook against its source notebook: the `grade_notebook` API.

    result = grade_notebook("submitted/ada/ch1/ch1.ipynb", "source/ch1/ch1.ipynb")
    result.status     # graded | needs_manual_grading | missing | crashed | timed_out | tampered
    result.reason     # why, in words ("" when simply graded)
    result.scores     # {grade_id: (score or None if awaiting manual grading, max_points)}
    result.messages   # {grade_id: what went wrong, without hidden inputs}

The student's answers run in a sandboxed kernel (see autograder.runner). The verdict of every
test cell is computed here, in the grader's process: the visible checks must finish without an
error, and every hidden case must give plain data equal (within tolerance) to the value the
instructor's own solution gives for the same expression, without calling a forbidden function.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.compare import compare
from autograder.payload import from_jsonable
from autograder.plan import Plan, PlanError, Step, read_plan
from autograder.runner import RunRecord, run_plan
from autograder.sandbox import Limits
from autograder.submission import Submission, normalise, read_submission

STATUSES = ("graded", "needs_manual_grading", "missing", "crashed", "timed_out", "tampered")
_REFERENCE_CACHE: dict[tuple[str, Limits], dict] = {}


@dataclass
class GradeResult:
    """The grade of one notebook; `to_dict`/`from_dict` give its JSON form."""

    notebook: str
    status: str
    reason: str
    scores: dict[str, tuple[float | None, float]]
    messages: dict[str, str] = field(default_factory=dict)
    failed_checks: dict[str, str] = field(default_factory=dict)  # grade_id -> visible error
    submission_sha256: str = ""
    source_sha256: str = ""

    @property
    def score(self) -> float:
        """Total points awarded so far (manual answers not yet graded count as 0)."""
        return sum(score or 0.0 for score, _ in self.scores.values())

    @property
    def max_score(self) -> float:
        return sum(points for _, points in self.scores.values())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GradeResult:
        data = dict(data)
        data["scores"] = {k: (s, p) for k, (s, p) in data["scores"].items()}
        return cls(**data)


def source_files(source_path: Path) -> tuple[Path, ...]:
    """Files shipped next to a source notebook (data the students also receive)."""
    return tuple(
        path for path in sorted(source_path.parent.iterdir())
        if path.is_file() and path.suffix != ".ipynb" and not path.name.startswith(".")
    )


def reference_values(plan: Plan, source_path: Path, limits: Limits) -> dict:
    """Hidden-case values of the instructor's solutions: {test grade_id: {case name: [values]}}.

    Cached per source notebook content. Raises PlanError if the source fails its own tests.
    """
    key = (plan.digest, limits)
    if key not in _REFERENCE_CACHE:
        run = run_plan(plan, None, limits, source_files(source_path))
        _REFERENCE_CACHE[key] = references_from_run(plan, run)
    return _REFERENCE_CACHE[key]


def references_from_run(plan: Plan, run: RunRecord) -> dict:
    """Check the source's own run passed everything and collect its hidden values."""
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
        messages = _messages_by_name(hidden)
        references[step.grade_id] = {}
        for call in step.hidden_calls:
            message = messages.get(call.name)
            cases = message.get("cases", []) if message else []
            broken = [c.get("error") for c in cases if "error" in c]
            if message is None or len(cases) != call.n_cases or broken or message.get(
                "forbidden_calls"
            ):
                problem = message or (hidden.error if hidden else "the hidden block did not run")
                raise PlanError(f"{plan.name}: hidden_cases({call.name!r}) in {step.grade_id} "
                                f"does not work on the source's own solution: {problem}"[:400])
            references[step.grade_id][call.name] = [from_jsonable(c["value"]) for c in cases]
    return references


def _messages_by_name(outcome) -> dict[str, dict]:
    """Hidden-case messages of one hidden block, by case name (first one wins)."""
    found = {}
    for message in outcome.hidden if outcome is not None else []:
        if isinstance(message, dict) and isinstance(message.get("name"), str):
            found.setdefault(message["name"], message)
    return found


def judge_test(step: Step, run: RunRecord, references: dict) -> tuple[bool, str]:
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
    messages = _messages_by_name(hidden)
    for call in step.hidden_calls:
        message = messages.get(call.name)
        if message is None:
            return False, f"{call.name}: the hidden tests did not report (were they blocked?)"
        forbidden = [n for n in call.forbid if n in (message.get("forbidden_calls") or [])]
        if forbidden:
            return False, (f"{call.name}: your code calls {', '.join(forbidden)}; "
                           "this exercise asks you to implement it yourself")
        ok, why = _judge_cases(call, message.get("cases"), references[step.grade_id][call.name])
        if not ok:
            return False, why
    return True, ""


def _judge_cases(call, cases, expected: list) -> tuple[bool, str]:
    if not isinstance(cases, list) or len(cases) != len(expected):
        return False, f"{call.name}: the hidden tests reported the wrong number of cases"
    for number, (case, reference) in enumerate(zip(cases, expected, strict=True), start=1):
        where = f"{call.name}: hidden case {number} of {len(expected)}"
        if not isinstance(case, dict) or "value" not in case:
            error = case.get("error") if isinstance(case, dict) else None
            return False, f"{where} {error if isinstance(error, str) else 'failed'}"[:300]
        try:
            value = from_jsonable(case["value"])
        except (ValueError, TypeError):
            return False, f"{where}: the answer could not be read as plain data"
        ok, why = compare(value, reference, rtol=call.rtol, atol=call.atol)
        if not ok:
            return False, f"{where}: {why}"
    return True, ""


def _written_scores(plan: Plan, submission: Submission, scores: dict, messages: dict) -> bool:
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


def zero_result(plan: Plan, status: str, reason: str, sha256: str = "") -> GradeResult:
    """A result that awards nothing (missing, unreadable or ungradable submissions)."""
    scores = {grade_id: (0.0, points) for grade_id, points in plan.max_points().items()}
    return GradeResult(plan.name, status, reason, scores, {}, {}, sha256, plan.digest)


def grade_submission(plan: Plan, submission: Submission, run: RunRecord, references: dict):
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
    waiting = _written_scores(plan, submission, scores, messages)
    findings = list(submission.tampering) + run.incidents
    if submission.tampering:
        status = "tampered"
    elif run.crashed:
        status = "crashed"
    elif run.timed_out:
        status = "timed_out"
    else:
        status = "needs_manual_grading" if waiting else "graded"
    return GradeResult(plan.name, status, "; ".join(findings), scores, messages, failed_checks,
                       submission.sha256, plan.digest)


def grade_notebook(
    submission_path: str | Path,
    source_path: str | Path,
    *,
    references: dict | None = None,
    **limits,
) -> GradeResult:
    """Grade a submitted notebook in the sandbox against the source notebook.

    limits: Limits fields (cell_timeout, notebook_timeout, memory_mb, max_processes, ...).
    references: precomputed `reference_values` (computed and cached when None).
    Raises PlanError when the source notebook itself is broken; any other failure gives a
    "crashed" result that awards nothing.
    """
    source_path = Path(source_path)
    plan = read_plan(source_path)
    limit_set = Limits(**limits)
    if references is None:
        references = reference_values(plan, source_path, limit_set)
    submission = read_submission(submission_path, plan)
    if submission.problem is not None:
        status, reason = submission.problem
        return zero_result(plan, status, reason, submission.sha256)
    try:
        run = run_plan(plan, submission.answers, limit_set, source_files(source_path))
    except Exception as error:  # the grader itself failed: never keep a partial score
        reason = f"grader error: {type(error).__name__}: {error}"[:300]
        return zero_result(plan, "crashed", reason, submission.sha256)
    return grade_submission(plan, submission, run, references)


def save_result(result: GradeResult, path: Path) -> None:
    """Write a result as JSON atomically (a reader sees the old file or the new, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(result.to_dict(), indent=1))
    temporary.replace(path)


def load_result(path: Path) -> GradeResult:
    return GradeResult.from_dict(json.loads(path.read_text()))
