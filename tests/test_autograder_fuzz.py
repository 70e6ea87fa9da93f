"""Fuzz: no malformed notebook or hidden-cases payload stops a batch or changes another's result.

Malformed notebooks are built from an honest submission of the fixture by random mutations
(random JSON types in metadata and cells, bad encodings, huge numbers, deep nesting, missing and
duplicated keys); malformed payloads are random JSON where the grader expects a hidden-cases
message. The fast properties run the grader's stages in this process (reading the submission,
judging, recording) on many examples; the batch property grades a class through the real
command line, with the sandbox, on fewer.
"""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
import synthetic
from grading_cli import SOURCE, released_course
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.cli import main
from autograder.course_folder import Course
from autograder.grade_class import Recorder
from autograder.grader.execute import KernelRun
from autograder.grader.judge import judge
from autograder.grader.kernel import Outcome
from autograder.grader.pipeline import Graded, reference_values
from autograder.grader.plan import read_plan
from autograder.grader.sandbox import Limits
from autograder.grader.submission import read_submission
from autograder.protocol import hidden_report, to_jsonable
from autograder.records import Status, load_result

PLAN = read_plan(SOURCE)
LIMITS = Limits(cell_timeout=5, notebook_timeout=60)
HONEST = json.loads(nbformat.writes(synthetic.student_notebook(SOURCE,
                                                               synthetic.correct_answers(SOURCE))))

huge_numbers = st.sampled_from([10**400, -(10**400), 2**63, 1e308, float("inf"), float("nan")])
texts = st.text(max_size=12) | st.sampled_from(["\ud800", "x\udcff", "é" * 3])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | huge_numbers | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
CELL_KEYS = ("cell_type", "metadata", "source", "outputs", "execution_count")
NBGRADER_KEYS = ("grade_id", "grade", "solution", "locked", "points", "schema_version")


@st.composite
def mutated_notebook(draw) -> dict:
    """The honest notebook as JSON, with a few random structural mutations."""
    notebook = copy.deepcopy(HONEST)
    cells = notebook["cells"]
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(cells) - 1))
        cell = cells[index]
        kind = draw(st.sampled_from(["nbgrader_field", "nbgrader", "metadata", "cell_key",
                                     "delete_key", "duplicate", "cells", "top"]))
        if not isinstance(cell, dict) and kind not in ("cells", "top"):
            continue
        if kind == "nbgrader_field" and isinstance(cell.get("metadata"), dict):
            meta = cell["metadata"].setdefault("nbgrader", {})
            if isinstance(meta, dict):
                meta[draw(st.sampled_from(NBGRADER_KEYS))] = draw(json_values)
        elif kind == "nbgrader" and isinstance(cell.get("metadata"), dict):
            cell["metadata"]["nbgrader"] = draw(json_values)
        elif kind == "metadata":
            cell["metadata"] = draw(json_values)
        elif kind == "cell_key":
            cell[draw(st.sampled_from(CELL_KEYS))] = draw(json_values)
        elif kind == "delete_key":
            cell.pop(draw(st.sampled_from(CELL_KEYS)), None)
        elif kind == "duplicate":
            cells.insert(index, copy.deepcopy(cell))
        elif kind == "cells":
            cells[index] = draw(json_values)
        else:
            notebook[draw(st.sampled_from(["cells", "metadata", "nbformat"]))] = draw(json_values)
            break  # the notebook's own structure is gone: nothing left to mutate
    return notebook


@st.composite
def malformed_file(draw) -> bytes:
    """Bytes of a malformed submission: a mutated notebook in some encoding, or garbage."""
    text = json.dumps(draw(mutated_notebook()))
    how = draw(st.sampled_from(["utf-8", "utf-16", "duplicate_keys", "truncated", "garbage",
                                "latin-1"]))
    if how == "utf-16":
        return text.encode("utf-16")
    if how == "duplicate_keys":
        return text.replace('"cell_type": "code"', '"cell_type": "code", "cell_type": 7').encode()
    if how == "truncated":
        return text.encode()[: draw(st.integers(0, len(text)))]
    if how == "garbage":
        return draw(st.binary(max_size=200))
    if how == "latin-1":
        return (text[:-1] + ', "x": "\xe9\xff"}').encode("latin-1", "replace")
    return text.encode()


@pytest.fixture(scope="module")
def references():
    return reference_values(PLAN, LIMITS).values


def correct_run(references) -> KernelRun:
    """What the kernel reports for the honest notebook: every cell ok, every value right."""
    run = KernelRun()
    for step in PLAN.steps:
        run.outcomes[step.grade_id] = Outcome("ok")
        if step.kind == "test":
            reports = [hidden_report(name, [{"value": to_jsonable(v)} for v in values])
                       for name, values in references[step.grade_id].items()]
            run.hidden[step.grade_id] = Outcome("ok", hidden=reports)
    return run


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=malformed_file())
def test_reading_a_malformed_file_never_raises(raw):
    submission = read_submission(raw, PLAN)
    assert submission.problem is None or submission.problem[0] in (Status.MISSING, Status.CRASHED)
    for text in [*submission.answers.values(), *submission.written.values()]:
        text.encode("utf-8")  # what reaches the kernel and the graded copy is valid text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.lists(json_values, max_size=3), where=st.sampled_from(PLAN.tests))
def test_a_malformed_payload_costs_only_its_own_test(references, payload, where):
    run = correct_run(references)
    run.hidden[where.grade_id] = Outcome("ok", hidden=payload)
    submission = read_submission(json.dumps(HONEST).encode(), PLAN)
    result = judge(PLAN, submission, run, references)
    assert result.status == Status.NEEDS_MANUAL_GRADING
    for step in PLAN.tests:
        if step.grade_id != where.grade_id:
            assert result.scores[step.grade_id] == (step.points, step.points)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=malformed_file())
def test_recording_a_malformed_submission_never_raises(recording_course, raw):
    course, recorder = recording_course
    submission = read_submission(raw, PLAN)
    result = judge(PLAN, submission, KernelRun(), {})
    recorder.record(("mallory", "fx_basics", "fx_basics"), Graded(result, submission))
    assert load_result(course.result("mallory", "fx_basics", "fx_basics")).status in Status


@pytest.fixture(scope="module")
def recording_course(tmp_path_factory):
    root = released_course(tmp_path_factory.mktemp("recording"))
    course = Course(root)
    return course, Recorder(course)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """A released course where ada's honest notebook is already graded."""
    root = released_course(tmp_path_factory.mktemp("class"))
    ada = Course(root).submission("ada", "fx_basics", "fx_basics")
    ada.parent.mkdir(parents=True)
    ada.write_text(json.dumps(HONEST))
    assert main(["--course", str(root), "grade", "--cell-timeout", "5",
                 "--notebook-timeout", "60"]) == 0
    return root


BATCH_EXAMPLES = 6


@settings(max_examples=BATCH_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(files=st.lists(malformed_file(), min_size=2, max_size=2))
def test_a_batch_always_completes_and_other_results_stay(graded_class, files):
    course = Course(graded_class)
    ada_before = course.result("ada", "fx_basics", "fx_basics").read_bytes()
    for index, raw in enumerate(files):
        path = course.submission(f"m{index}", "fx_basics", "fx_basics")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
    code = main(["--course", str(graded_class), "grade", "--cell-timeout", "5",
                 "--notebook-timeout", "60", "--student", "ada", "--student", "m0",
                 "--student", "m1"])
    assert code in (0, 2)  # 2: some notebook met a grader error (it is recorded "crashed")
    assert course.result("ada", "fx_basics", "fx_basics").read_bytes() == ada_before
    for index in range(len(files)):
        result = load_result(course.result(f"m{index}", "fx_basics", "fx_basics"))
        assert result.status in Status and result.max_score == sum(PLAN.max_points().values())
