"""Fuzz: no malformed or hostile notebook stops a batch, costs the grader unbounded work, or
changes another's result.

Malformed notebooks are built from an honest submission of the fixture by random mutations
(random JSON types in metadata and cells, bad encodings, huge numbers, deep nesting, missing and
duplicated keys); malformed payloads are random JSON where the grader expects a hidden-cases
message; hostile notebooks carry what once hurt the grader itself (see the issue 21 part). The
fast properties run the grader's stages in this process (reading the submission, judging,
recording, the feedback page, the check report) on many examples; the batch property grades,
exports and gives feedback to a class through the real command line, with the sandbox, on fewer.
"""

from __future__ import annotations

import builtins
import codecs
import contextlib
import copy
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc
import types
import warnings
from pathlib import Path

import nbformat
import numpy as np
import psutil
import pytest
import synthetic
from grading_cli import FAST, SOURCE, llmf, released_course
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_client.session import Session
from plain_reports import plain

from autograder.cli import main
from autograder.course_folder import Course
from autograder.files import atomic_write
from autograder.grade_class import Recorder
from autograder.grader.compare import compare
from autograder.grader.execute import KernelRun
from autograder.grader.judge import (
    BUILTIN_EXCEPTIONS,
    MAX_MESSAGE_CHARS,
    fills_template,
    judge,
    visible_error,
)
from autograder.grader.kernel import Outcome, read_message
from autograder.grader.pipeline import Graded, reference_values
from autograder.grader.plan import Step, read_plan
from autograder.grader.sandbox import Limits
from autograder.grader.submission import (
    MAX_BYTES,
    Submitted,
    read_submission,
    read_submitted,
    submitted_digest,
)
from autograder.in_kernel import names
from autograder.in_kernel.messages import (
    MAX_CONTENT_BYTES,
    MAX_TEXT,
    bounded_content,
    json_size,
)
from autograder.protocol import decode, encode, hidden_report, to_jsonable
from autograder.records import Status, load_result
from autograder.reports.feedback import SourceFacts, feedback_page, text_report
from autograder.selfcheck import read_cells

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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=malformed_file() | st.just(json.dumps(HONEST).encode()))
def test_a_byte_order_mark_before_a_notebook_changes_nothing_read(tmp_path_factory, raw):
    """An editor may write a UTF-8 byte-order mark first (Notepad does): the honest notebook so
    saved was refused as "not JSON" and lost every point (`llmf-grade check` refused it too).
    Property: whatever the file, the grader and the check read it with a mark before it as they
    read it without (the same answers, written answers, added cells, or the same problem)."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    plain_read, marked_read = (read_submission(data, PLAN) for data in
                               (raw, codecs.BOM_UTF8 + raw))
    assert ((marked_read.problem, marked_read.answers, marked_read.written, marked_read.added)
            == (plain_read.problem, plain_read.answers, plain_read.written, plain_read.added))
    folder = tmp_path_factory.mktemp("marked")
    checked = []
    for name, data in (("plain.ipynb", raw), ("marked.ipynb", codecs.BOM_UTF8 + raw)):
        (folder / name).write_bytes(data)
        try:
            checked.append(read_cells(folder / name))
        except ValueError as refused:
            checked.append(str(refused).split(" ", 1)[1])  # the name aside, the same words
    assert checked[0] == checked[1]


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


# ---- issue 21: the trust boundary, whole -------------------------------------------------------
# The fast properties below run each stage that reads student-derived data (reading the file,
# judging what the kernel reported, the feedback page, the `check` report) in this process on
# hostile material, and hold each to a time and memory bound. Whatever they show in an assertion
# message goes through plain_reports.plain (ASCII, bounded).

SECOND = 1.0  # the bound on one stage for one hostile notebook, in CPU time (typical: ms)
SOURCE_FACTS = SourceFacts.read(SOURCE)
TEMPLATED = Step("test", "t", 'assert ok, f"expected {expected}, got {got} of {total}"')
# strings that once made a regex of the grader backtrack, or that no encoder takes
HOSTILE_TEXT = st.sampled_from([
    "expected , got  of " * 2_000 + "!", "expected " * 5_000, "linear should return shape " * 800,
    "\ud800", "x\udcff\udc00", "(" * 5_000, "[" * 5_000, "a" * 150_000, "\x00\x1b[31m",
]) | st.text(st.characters(exclude_characters="<>/&;=\"'"), max_size=30)  # no HTML markup:
# a random text that spells a page's own tags ("</body><") is not a leak


def measured(stage, *args):
    """(what stage(*args) returns, its CPU seconds, its peak of Python memory in MB). CPU time,
    not wall time: the bound is on the work, which a loaded machine does not change."""
    tracemalloc.start()
    started = time.process_time()
    try:
        value = stage(*args)
    finally:
        seconds = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return value, seconds, peak


def regex_fills(parts, message) -> bool:
    """The backtracking match judge.visible_error used to make (the oracle, on short text)."""
    pattern = "(?:.*?)".join(re.escape(part) for part in parts)
    return re.fullmatch(pattern, message, flags=re.DOTALL) is not None


@settings(max_examples=1000, deadline=None)
@given(parts=st.lists(st.text("ab, ", max_size=3), min_size=1, max_size=4),
       message=st.text("ab, ", max_size=12))
def test_template_matching_agrees_with_the_regex_it_replaced(parts, message):
    assert fills_template(tuple(parts), message) == regex_fills(parts, message), plain(
        (parts, message))


@settings(max_examples=50, deadline=None)
@given(message=HOSTILE_TEXT, repeats=st.integers(1, 20_000))
def test_a_visible_error_is_judged_in_linear_time(message, repeats):
    """The sample: a message shaped like an instructor's f-string message (1,600 repeats took
    21 s with the regex; 20,000 would take hours)."""
    error = "ValueError: " + (message * repeats)[:MAX_MESSAGE_CHARS]
    shown, seconds, _ = measured(visible_error, TEMPLATED, error)
    assert seconds < SECOND, plain((seconds, error[:100]))
    assert shown.startswith("ValueError") and "\ud800" not in shown


def invalid_outputs(count: int) -> bytes:
    """The honest notebook whose first code cell holds `count` outputs nbformat finds invalid."""
    notebook = copy.deepcopy(HONEST)
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [{"output_type": "bogus", "data": {"text/plain": [i]}, "n": [i, {}]}
                       for i in range(count)]
    return json.dumps(notebook).encode()


def test_a_notebook_of_60000_invalid_outputs_is_read_fast_and_graded():
    """The sample: 4.3 MB of invalid outputs cost nbformat's validation 70 s and 2.7 GB."""
    raw = invalid_outputs(60_000)
    submission, seconds, peak = measured(read_submission, raw, PLAN)
    assert submission.problem is None and "def linear" in submission.answers["linear_answer"]
    assert seconds < 5 * SECOND and peak < 300, (len(raw), seconds, peak)


def test_a_file_of_too_many_json_values_is_refused_before_parsing():
    raw = b"[" + b"{}," * (MAX_BYTES // 3 - 1) + b"{}]"  # 50 MB: 17 million empty objects
    submission, seconds, peak = measured(read_submission, raw, PLAN)
    assert submission.problem == (Status.CRASHED, "the file holds more than 2,000,000 JSON "
                                                  "values, far more than a notebook")
    assert seconds < 10 * SECOND and peak < 250, (seconds, peak)


@st.composite
def hostile_file(draw) -> bytes:
    """A notebook built to hurt the grader: hostile text in any field (lone surrogates, strings
    shaped for the grader's regexes, huge strings), invalid outputs by the thousand, JSON nested
    deeper than any parser's stack, invalid UTF-8; or a mutated notebook (malformed_file)."""
    notebook = copy.deepcopy(HONEST)
    cells = notebook["cells"]
    for _ in range(draw(st.integers(1, 4))):
        cell = cells[draw(st.integers(0, len(cells) - 1))]
        kind = draw(st.sampled_from(["source", "grade_id", "metadata", "outputs", "deep",
                                     "cell_type", "id"]))
        text = draw(HOSTILE_TEXT)
        if kind == "source":
            cell["source"] = draw(st.sampled_from([text, [text, text], f"answer_q1 = {text!r}"]))
        elif kind == "grade_id":
            cell["metadata"].setdefault("nbgrader", {})["grade_id"] = text
        elif kind == "metadata":
            cell["metadata"][text] = text
        elif kind == "outputs":
            cell["outputs"] = [{"output_type": text[:50], "text": [text[:50]]}] * draw(
                st.integers(1, 5_000))
        elif kind == "deep":
            cell["metadata"]["deep"] = "DEEP"
        else:
            cell[kind] = text
    raw = json.dumps(notebook, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    depth = draw(st.sampled_from([10, 1_000, 100_000]))
    raw = raw.replace(b'"DEEP"', b"[" * depth + b"]" * depth)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc3"])) + raw[at:]
    return raw


def hostile_run(references, text: str, where: Step) -> KernelRun:
    """What a hostile kernel reports: hostile text as a visible error (shaped like an instructor
    message or not) and as a hidden case's error, everything else right."""
    run = correct_run(references)
    run.outcomes[where.grade_id] = Outcome("error", error=f"AssertionError: {text}")
    run.hidden[where.grade_id] = Outcome("error", error=f"{text}: {text}", hidden=[
        {"name": call.name, "cases": [{"error": text}] * call.n_cases}
        for call in where.hidden_calls])
    return run


def every_stage(raw: bytes, references, text: str, where: Step):
    """Read, judge, write the feedback page and the `check` report of one hostile notebook."""
    submission = read_submission(raw, PLAN)
    result = judge(PLAN, submission, hostile_run(references, text, where), references)
    row = {"status": result.status, "reason": result.reason, "scores": result.scores,
           "result": result, "manual": {}}
    page = feedback_page(SOURCE_FACTS, row, submission.answers, "m\udcff")
    return result, page, text_report(SOURCE_FACTS, row, submission.answers)


@pytest.fixture(scope="module")
def figures():
    """The fuzz run's figures, printed when the module's tests are done (pytest -s): hostile
    notebooks through the in-process stages (worst CPU seconds and Python MB of one), and
    through the command line (worst wall seconds per notebook of a class's grade, export and
    feedback; the peak resident memory of the process running the command line, this test's,
    and of each grading worker process, sampled every 0.1 s)."""
    found = {"notebooks": 0, "worst seconds": 0.0, "worst MB": 0.0}
    graded = {"notebooks": 0, "worst seconds per notebook": 0.0,
              "command line's process peak MB": 0.0, "grading worker peak MB": 0.0}
    yield found, graded
    print(f"\nhostile notebooks through every in-process stage: {found}")
    print(f"hostile notebooks graded, exported and given feedback by the command line: {graded}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(raw=hostile_file() | malformed_file(), text=HOSTILE_TEXT,
       where=st.sampled_from(PLAN.tests))
def test_every_stage_is_total_and_bounded_on_hostile_notebooks(references, figures,
                                                               tmp_path_factory, raw, text,
                                                               where):
    (result, page, printed), seconds, peak = measured(every_stage, raw, references, text, where)
    figures = figures[0]
    figures["notebooks"] += 1
    figures["worst seconds"] = max(figures["worst seconds"], round(seconds, 3))
    figures["worst MB"] = max(figures["worst MB"], round(peak, 1))
    assert seconds < 2 * SECOND and peak < 400, plain((seconds, peak, raw[:200]))
    assert result.status in Status and result.max_score == sum(PLAN.max_points().values())
    path = atomic_write(tmp_path_factory.getbasetemp() / "page.html", page)
    path.read_bytes().decode("utf-8")  # what is written is valid UTF-8
    printed.encode("utf-8")  # and what `check` prints can be printed
    if len(text) >= 8:  # what the kernel said is shown nowhere
        assert text not in page and text not in printed, plain(text)


# Class 2: nothing the kernel reports is believed but values, and no message carries what the
# student's values could encode (hidden inputs the student's code saw, say).

SECRET = st.text("qxzjkvw", min_size=10, max_size=16)  # letters no page of the fixture spells


def value_carrying(secret: str, number: int):
    """Plain values (as the grader rebuilds them) that carry `secret` or `number` in their
    text, length, shape, keys or kind."""
    return st.sampled_from([
        secret, [secret], {secret: 1.0}, {"a": secret}, list(range(number)),
        np.zeros((number, 2)), np.zeros(tuple(int(d) + 2 for d in str(number))),
        [[1.0] * (number % 7 + 2)] * 3, True, None, 10**400, [secret] * 3,
    ])


@settings(max_examples=300, deadline=None)
@given(data=st.data(), secret=SECRET, number=st.integers(1_001, 9_999),
       where=st.sampled_from(PLAN.tests))
def test_no_page_or_check_report_shows_what_a_value_carries(references, data, secret, number,
                                                            where):
    run = correct_run(references)
    run.outcomes[where.grade_id] = Outcome(data.draw(st.sampled_from(["ok", "error"])),
                                           error=f"{secret}: {secret} {number}")
    run.hidden[where.grade_id] = Outcome(data.draw(st.sampled_from(["ok", "error"])),
                                         error=f"{secret}: {number}", hidden=[
        hidden_report(call.name, [
            data.draw(st.sampled_from([{"value": to_jsonable(data.draw(value_carrying(
                secret, number)))}, {"error": f"raised {secret}"}, {"error": str(number)}]))
            for _ in range(call.n_cases)])
        for call in where.hidden_calls])
    submission = read_submission(json.dumps(HONEST).encode(), PLAN)
    result = judge(PLAN, submission, run, references)
    row = {"status": result.status, "reason": result.reason, "scores": result.scores,
           "result": result, "manual": {}}
    shown = [feedback_page(SOURCE_FACTS, row, submission.answers, "ada"),
             text_report(SOURCE_FACTS, row, submission.answers), result.reason,
             *result.messages.values(), *result.failed_checks.values()]
    shape = str(tuple(int(d) + 2 for d in str(number)))
    for text in shown:
        for carried in (secret, str(number), shape, "a int", "a NoneType", "a bool", "a str",
                        "a dict", "got "):  # the type names compare once showed
            assert carried not in text, plain((carried, text[:300]))


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(["ForbiddenCall", "AssertionError", "KeyboardInterrupt"])
       | st.text(max_size=20), where=st.sampled_from(PLAN.tests))
def test_no_exception_name_excuses_a_failed_visible_check(references, name, where):
    """The sample: a student's own exception class named ForbiddenCall hid a failing visible
    check (3/3 instead of 0). Only the instructor's solution's own run excuses a check, and in
    such a cell a built-in exception still fails it (a name can cost points, never earn them)."""
    run = correct_run(references)
    run.outcomes[where.grade_id] = Outcome("error", error=f"{name}: a course_lib function")
    submission = read_submission(json.dumps(HONEST).encode(), PLAN)
    result = judge(PLAN, submission, run, references)
    assert result.scores[where.grade_id] == (0.0, where.points), plain(name)
    excused = judge(PLAN, submission, run, references, excused=frozenset({where.grade_id}))
    kept = 0.0 if name in BUILTIN_EXCEPTIONS else where.points
    assert excused.scores[where.grade_id] == (kept, where.points), plain(name)


# Class 5: a record matches the file it judged, refused files included.

@settings(max_examples=100, deadline=None)
@given(size=st.integers(0, 3_000), cap=st.sampled_from([1_000, 2_000]))
def test_the_digest_is_of_the_file_judged(tmp_path_factory, size, cap):
    """Up to the limit the digest is the file's sha256; beyond it, a file judged by its size,
    of the bytes read and the size: any change the verdict could rest on changes it."""
    path = tmp_path_factory.getbasetemp() / "submitted.ipynb"
    content = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path.write_bytes(content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("autograder.grader.submission.MAX_BYTES", cap)
        submitted = read_submitted(path)
        submission = read_submission(submitted, PLAN)
        assert submission.sha256 == submitted_digest(path) == Submitted.of(content).sha256
        path.write_bytes(content + b"y")  # one byte more
        assert submitted_digest(path) != submission.sha256
    assert len(submitted.data) == min(size, cap + 1)
    if size <= cap:
        assert submission.sha256 == hashlib.sha256(content).hexdigest()
    else:
        assert submission.problem[0] == Status.CRASHED and "larger than" in submission.problem[1]


# what a path in submitted/ may be, besides a notebook: each made at `path` beside `target`
ENTRIES = {
    "a link to a correct notebook": lambda path, target: path.symlink_to(target),
    "a link to a folder": lambda path, target: path.symlink_to(target.parent),
    "a dangling link": lambda path, target: path.symlink_to(target.with_name("gone")),
    "a link to /proc/kcore": lambda path, target: path.symlink_to("/proc/kcore"),
    "a FIFO nobody writes to": lambda path, target: os.mkfifo(path),
    "a folder": lambda path, target: path.mkdir(),
    "a sparse terabyte": lambda path, target: (path.touch(), os.truncate(path, 1 << 40)),
}


@pytest.mark.parametrize("entry", ENTRIES)
def test_whatever_the_submitted_path_is_it_is_read_within_the_limit_and_never_followed(
        tmp_path, entry):
    """The grader, export and feedback read a submission once each, with no time limit of their
    own: a FIFO waited on, a link followed to /proc/kcore or a sparse terabyte hashed to its
    end hung the class's run. A link is judged as a link (a classmate's notebook behind it
    earns nothing), and a file too large to grade by its first bytes and its size."""
    target = tmp_path / "classmate.ipynb"
    target.write_text(json.dumps(HONEST))
    path = tmp_path / "submitted.ipynb"
    ENTRIES[entry](path, target)
    submitted = read_submitted(path)
    submission = read_submission(submitted, PLAN)
    assert len(submitted.data) <= MAX_BYTES + 1
    assert submission.problem is not None and submission.problem[0] == Status.CRASHED
    assert submission.answers == {} and submission.sha256 == submitted_digest(path)
    assert ("a link" in submission.problem[1]) == ("link" in entry)


def test_a_class_with_a_link_and_a_fifo_in_submitted_is_graded_exported_and_given_feedback(
        tmp_path):
    """Through llmf-grade: bob's notebook is a link to ada's, cy's a FIFO. Neither stops or
    hangs grade, export or feedback; each is a crashed notebook saying what is there, and bob
    earns nothing of ada's work."""
    root = released_course(tmp_path / "course")
    folders = {student: root / "submitted" / student / "fx_basics" for student in ("ada", "bob",
                                                                                   "cy")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    shutil.copy(root / "release" / "fx_basics" / "fx_basics.ipynb", folders["ada"])
    (folders["bob"] / "fx_basics.ipynb").symlink_to(folders["ada"] / "fx_basics.ipynb")
    os.mkfifo(folders["cy"] / "fx_basics.ipynb")
    assert llmf(root, "grade", *FAST, "-j", "1") == 0
    assert llmf(root, "export", root / "grades.csv") == 0
    assert llmf(root, "feedback") == 0
    rows = {row["student"]: row for row in csv.DictReader((root / "grades.csv").open())}
    assert rows["ada"]["status"] == "graded"
    for student, kind in (("bob", "a link"), ("cy", "not a regular file")):
        assert rows[student]["status"] == "crashed" and kind in rows[student]["reason"], rows
        assert float(rows[student]["score"]) == 0


# Class 6: Run All semantics for copies of an answer cell.

def answer_copy(code: str, cell_id: str) -> dict:
    """A copy of the linear answer cell (JupyterLab's copy gets a cell id of its own)."""
    cell = copy.deepcopy(next(c for c in HONEST["cells"]
                              if c["metadata"].get("nbgrader", {}).get("grade_id")
                              == "linear_answer"))
    return cell | {"source": code, "id": cell_id}


@settings(max_examples=200, deadline=None)
@given(codes=st.lists(st.sampled_from(["def linear(x, w, b):\n    return 0\n",
                                       "def linear(x, w, b):\n    return x @ w + b\n",
                                       "raise NotImplementedError()", "linear = None"]),
                      min_size=1, max_size=4))
def test_the_last_copy_of_an_answer_cell_is_the_answer(codes):
    notebook = copy.deepcopy(HONEST)
    cells = notebook["cells"]
    at = next(i for i, c in enumerate(cells)
              if c["metadata"].get("nbgrader", {}).get("grade_id") == "linear_answer")
    cells[at:at + 1] = [answer_copy(code, f"copy-{n}") for n, code in enumerate(codes)]
    submission = read_submission(json.dumps(notebook).encode(), PLAN)
    assert submission.answers["linear_answer"] == codes[-1]
    earlier = [code for code in codes[:-1] if code.strip() not in PLAN.release_code]
    assert [code for _, code in submission.added] == earlier  # they run where they stand
    assert bool(submission.to_review) == (len(codes) > 1) and not submission.tampering


def test_a_copy_of_a_locked_cell_cannot_hide_an_edit_of_another():
    notebook = copy.deepcopy(HONEST)
    cells = notebook["cells"]
    at = next(i for i, c in enumerate(cells)
              if c["metadata"].get("nbgrader", {}).get("grade_id") == "linear_test")
    edited = copy.deepcopy(cells[at]) | {"source": "assert True", "id": "edited"}
    for placed in ([cells[at], edited], [edited, cells[at]], [cells[at], cells[at]]):
        trial = copy.deepcopy(notebook)
        trial["cells"][at:at + 1] = copy.deepcopy(placed)
        found = read_submission(json.dumps(trial).encode(), PLAN).tampering
        assert found == ([] if placed[0] is placed[1] else ["locked cell linear_test was edited"])


# Issue 23, item 1: nothing a test generates breaks the test runner's reporting between processes.

PROBE = '''import warnings

def test_fails_with_generated_text():
    warnings.warn("a warning with a lone surrogate \\ud800")
    print("captured output \\udcff")
    assert False, "an assertion message \\ud800"

def test_passes():
    pass
'''


def test_generated_text_cannot_break_the_reporting_between_xdist_workers(tmp_path):
    """Without tests/plain_reports.py this run stops with xdist's INTERNALERROR."""
    (tmp_path / "test_probe.py").write_text(PROBE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "plain_reports", "-p",
         "no:cacheprovider", "-q", "test_probe.py"], cwd=tmp_path, capture_output=True,
        text=True, errors="backslashreplace", timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    assert done.returncode == 1, plain(done.stdout[-2000:] + done.stderr[-2000:])
    assert "INTERNALERROR" not in done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout and "\\ud800" in done.stdout


# The class-wide property: hostile notebooks, through the real command line and sandbox.

KERNEL_ATTACKS = st.sampled_from([
    "raise ValueError('linear should return shape ' * 20_000)",  # shaped for a template
    "raise AssertionError('did you forget to add the bias?' + '\\ud800' * 1000)",
    "raise type('ForbiddenCall', (Exception,), {})('not available while grading')",
    "print('\\udcff' * 100)\nimport sys\nsys.stderr.write('\\ud800')",
    "raise ValueError('x' * 50_000_000)",  # a message over ZeroMQ's limit
])


@st.composite
def hostile_submission(draw) -> bytes:
    """A hostile file, or the honest notebook with an attack on the kernel's reports."""
    if draw(st.booleans()):
        return draw(hostile_file() | malformed_file())
    notebook = copy.deepcopy(HONEST)
    cell = draw(st.sampled_from([c for c in notebook["cells"]
                                 if c["metadata"].get("nbgrader", {}).get("solution")
                                 and c["cell_type"] == "code"]))
    cell["source"] = "".join(cell["source"]) + "\n" + draw(KERNEL_ATTACKS)
    return json.dumps(notebook).encode()


@contextlib.contextmanager
def peak_memory(found: dict):
    """Sample, every 0.1 s while the block runs, the resident memory of this process (the command
    line runs in it) and of its grading workers (its child processes; the sandboxed kernels are
    theirs), keeping the peaks in `found`."""
    me, stop = psutil.Process(), threading.Event()

    def sample():
        while not stop.is_set():
            found["command line's process peak MB"] = max(
                found["command line's process peak MB"], round(me.memory_info().rss / 2**20, 1))
            for worker in me.children():
                try:
                    found["grading worker peak MB"] = max(
                        found["grading worker peak MB"],
                        round(worker.memory_info().rss / 2**20, 1))
                except psutil.Error:
                    continue
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()


BATCH_EXAMPLES = 6
PER_NOTEBOOK = 90  # seconds: the notebook timeout (60) and a kernel's start under load


@settings(max_examples=BATCH_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(files=st.lists(hostile_submission(), min_size=2, max_size=2))
def test_a_class_with_hostile_notebooks_is_graded_exported_and_given_feedback(graded_class,
                                                                              figures, files):
    """The run ends; every student is graded, exported and given feedback, in a time
    proportional to the class; the honest student's result does not change."""
    course = Course(graded_class)
    ada_before = course.result("ada", "fx_basics", "fx_basics").read_bytes()
    # the last id is not valid UTF-8, as a file name from an LMS's download may be
    students = ["ada"] + [f"m{index}" for index in range(len(files) - 1)] + ["m\udcff"]
    for student, raw in zip(students[1:], files, strict=True):
        path = course.submission(student, "fx_basics", "fx_basics")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
    started = time.monotonic()
    graded = figures[1]
    exported = graded_class / "grades.csv"
    with peak_memory(graded):
        code = main(["--course", str(graded_class), "grade", "--cell-timeout", "5",
                     "--notebook-timeout", "60", *(f"--student={s}" for s in students)])
        assert code in (0, 2)  # 2: some notebook met a grader error (it is recorded "crashed")
        assert main(["--course", str(graded_class), "export", str(exported)]) == 0
        assert main(["--course", str(graded_class), "feedback"]) == 0
    seconds = time.monotonic() - started
    assert seconds < PER_NOTEBOOK * len(students)
    graded["notebooks"] += len(files)
    graded["worst seconds per notebook"] = max(graded["worst seconds per notebook"],
                                               round(seconds / len(students), 1))
    assert course.result("ada", "fx_basics", "fx_basics").read_bytes() == ada_before
    rows = {row["student"]: row for row in csv.DictReader(exported.open(encoding="utf-8"))}
    rows["m\udcff"] = rows.pop("m\\udcff")  # written escaped, valid UTF-8
    for student in students:
        result = load_result(course.result(student, "fx_basics", "fx_basics"))
        assert result.status in Status and result.max_score == sum(PLAN.max_points().values())
        assert rows[student]["status"] == result.status  # current: not "ungraded"
        course.feedback(student, "fx_basics", "fx_basics").read_text(encoding="utf-8")


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 2_000), scale=st.floats(1e-3, 1e3))
def test_a_float32_answer_is_judged_at_float32_precision(seed, n, scale):
    """Class 6: a log-sum-exp computed in float32 passes a float64 tolerance (rtol 1e-9) as far
    as float32 allows, and a value 1e-4 off still fails."""
    logits = np.random.default_rng(seed).normal(size=(3, n)) * scale
    shift = logits.max(axis=-1, keepdims=True)
    reference = (np.log(np.exp(logits - shift).sum(-1)) + shift[:, 0]).astype(np.float64)
    low = logits.astype(np.float32)
    low_shift = low.max(axis=-1, keepdims=True)
    value = np.log(np.exp(low - low_shift).sum(-1)) + low_shift[:, 0]
    assert value.dtype == np.float32
    assert compare(value, reference, rtol=1e-9, atol=0.0) == (True, ""), plain(
        (value - reference) / reference)
    wrong = value * np.float32(1 + 1e-4) + np.float32(1e-4)
    assert compare(wrong, reference, rtol=1e-9, atol=0.0)[0] is False


# Issue 21, a reviewer's round: kernel messages that cannot be read, the interpreter's state the
# grader's cells rely on, cells whose metadata or type is not what the source says.

SESSION = Session(key=b"the connection's key")
FORGED_BODIES = st.sampled_from([b"[" * 100_000 + b"]" * 100_000, b"9" * 6_000, b"{", b"\xff",
                                 b'{"a": ' + b"1" * 5_000 + b"}", b"null", b"[]", b'"text"'])


@st.composite
def kernel_frames(draw) -> list[bytes]:
    """What a kernel whose student holds the key and the socket can send: frames of any bytes,
    or a message signed with the key whose parts are any JSON or none at all."""
    if draw(st.booleans()):
        return draw(st.lists(st.binary(max_size=40) | FORGED_BODIES, max_size=7))
    parts = [draw(FORGED_BODIES | st.builds(lambda value: json.dumps(value).encode(),
                                            json_values))
             for _ in range(4)]
    signature = SESSION.sign(parts) if draw(st.booleans()) else draw(st.binary(max_size=64))
    return [b"identity", b"<IDS|MSG>", signature, *parts]


@settings(max_examples=500, deadline=None)
@given(frames=kernel_frames())
def test_a_kernel_message_that_cannot_be_read_is_dropped_never_raised(frames):
    message, seconds, _ = measured(read_message, SESSION, frames)
    assert seconds < SECOND
    assert message is None or (isinstance(message["parent_header"], dict)
                               and isinstance(message["msg_type"], str)
                               and isinstance(message["content"], dict))


def test_a_message_the_kernel_really_sends_is_read():
    sent = SESSION.msg("stream", {"name": "stdout", "text": "4\n"}, parent=SESSION.msg("x"))
    frames = SESSION.serialize(sent, ident=b"kernel")
    assert read_message(SESSION, frames)["content"] == {"name": "stdout", "text": "4\n"}


def _observed_state(namespace: dict) -> tuple:
    """What the grader's cells would find: the names, modules, built-ins and settings that
    STATE_GAMES change."""
    return ("abs" in namespace, "float" in namespace, sys.modules.get("json"),
            "llmf_blocked" in sys.modules, builtins.divmod, sys.getrecursionlimit(), os.getcwd(),
            list(warnings.filters), np.geterr(), sys.displayhook)


# what a student's cell can leave behind that would make the grader's own checks fail
STATE_GAMES = {
    "shadows built-ins": lambda ns: ns.update(abs=3, float="x"),
    "replaces a module": lambda ns: sys.modules.__setitem__("json", types.ModuleType("json")),
    "blocks a module": lambda ns: sys.modules.__setitem__("llmf_blocked", None),
    "patches a built-in": lambda ns: setattr(builtins, "divmod", None),
    "lowers the recursion limit": lambda ns: sys.setrecursionlimit(200),
    "changes folder": lambda ns: os.chdir("/"),
    "turns warnings into errors": lambda ns: warnings.simplefilter("error"),
    "makes numpy raise": lambda ns: np.seterr(all="raise"),
    "replaces the display hook": lambda ns: setattr(sys, "displayhook", None),
}


@settings(max_examples=200, deadline=None)
@given(games=st.permutations(sorted(STATE_GAMES)), count=st.integers(0, len(STATE_GAMES)))
def test_the_grader_s_cells_find_the_interpreter_as_the_setup_left_it(tmp_path_factory, games,
                                                                     count):
    folder = tmp_path_factory.getbasetemp()
    namespace = {"np": np}
    with pytest.MonkeyPatch.context() as patch:  # the real state, whatever the mechanism does
        for module, name in [(names, "_state"), (names, "_kept")]:
            patch.setattr(module, name, {})
        patch.setattr(sys, "displayhook", sys.displayhook)
        patch.setattr(builtins, "divmod", divmod)
        patch.setattr(warnings, "filters", list(warnings.filters))
        patch.chdir(folder)
        patch.setitem(sys.modules, "json", sys.modules["json"])
        limit, errors = sys.getrecursionlimit(), np.geterr()
        try:
            names._capture()
            before = _observed_state(namespace)
            for game in games[:count]:
                STATE_GAMES[game](namespace)
            names._put_back_state(namespace, ["abs", "float"])
            assert _observed_state(namespace) == before, games[:count]
        finally:
            sys.modules.pop("llmf_blocked", None)
            sys.setrecursionlimit(limit)
            np.seterr(**errors)


INSTRUCTOR_IDS = {step.grade_id for step in PLAN.steps} | set(PLAN.written) | set(PLAN.locked)


@settings(max_examples=300, deadline=None)
@given(claim=json_values.filter(lambda value: not isinstance(value, str)
                               or value not in INSTRUCTOR_IDS),
       extra=st.dictionaries(st.sampled_from(NBGRADER_KEYS[1:]), json_values, max_size=4),
       at=st.integers(0, len(HONEST["cells"])))
def test_a_code_cell_whose_metadata_names_no_cell_of_the_source_is_the_student_s(claim, extra,
                                                                                 at):
    """Run All runs every code cell: metadata naming no cell of the source (forged, or copied
    from another notebook) does not keep the student's own code from running."""
    notebook = copy.deepcopy(HONEST)
    own = {"cell_type": "code", "source": "def helper_of_mine():\n    return 1\n", "outputs": [],
           "execution_count": None, "metadata": {"nbgrader": {**extra, "grade_id": claim}}}
    notebook["cells"].insert(at, own)
    submission = read_submission(json.dumps(notebook).encode(), PLAN)
    assert own["source"] in [code for _, code in submission.added], plain(claim)
    assert not submission.tampering


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(["code", "markdown", "raw"]) | json_values,
       which=st.sampled_from(sorted(PLAN.answer_ids)))
def test_an_answer_cell_of_a_type_that_does_not_run_is_not_answered_and_flagged(kind, which):
    notebook = copy.deepcopy(HONEST)
    cell = next(c for c in notebook["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == which)
    cell["cell_type"] = kind
    submission = read_submission(json.dumps(notebook).encode(), PLAN)
    assert (which in submission.answers) == (kind == "code")
    flagged = [note for note in submission.to_review if which in note]
    assert bool(flagged) == (kind != "code"), plain((kind, submission.to_review))


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 3 * MAX_TEXT), min_size=1, max_size=4),
       char=st.sampled_from(['x', '"', "\x00", "é", "\ud800"]), printed=st.booleans())
def test_no_message_the_kernel_sends_is_larger_than_the_grader_reads(sizes, char, printed):
    """Printed text, a value's text form, a hidden-cases report or an image of any size: once
    bounded, the message's JSON is below the grader's limit (8 MB), and what was small is
    unchanged."""
    data = {f"kind/{n}": char * size if n % 2 else {"cases": [char * size]}
            for n, size in enumerate(sizes)}
    content = {"name": "stdout", "text": char * sizes[0]} if printed else {"data": data}
    bounded = bounded_content(content)
    assert json_size(bounded) <= MAX_CONTENT_BYTES < Limits().max_message_kb * 1024
    if json_size(content) <= MAX_CONTENT_BYTES and max(sizes) <= MAX_TEXT:
        assert bounded == content  # what fits is sent as it is


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=st.sampled_from([(3,), (2, 3), (1, 4)]),
       form=st.sampled_from(["matrix", "masked", "object", "memmap-like view"]))
def test_numbers_in_a_numpy_subclass_or_object_array_are_read_as_those_numbers(seed, shape,
                                                                               form):
    """A reviewer's case: a careful grader takes a matrix, a masked array with nothing masked or
    an array of Python numbers for the numbers they hold (only the numbers cross over)."""
    numbers = np.random.default_rng(seed).normal(size=shape)
    value = {"matrix": lambda: np.asmatrix(numbers.reshape(shape[0], -1)),
             "masked": lambda: np.ma.masked_array(numbers),
             "object": lambda: numbers.astype(object),
             "memmap-like view": lambda: numbers.view(type("Mine", (np.ndarray,), {}))}[form]()
    read = decode(encode(value))
    expected = numbers.reshape(shape[0], -1) if form == "matrix" else numbers
    assert compare(read, expected, rtol=0, atol=0) == (True, ""), plain(form)


@pytest.fixture(scope="module")
def similarity_course(tmp_path_factory) -> Path:
    """A course of the fixture's source and nothing handed in yet."""
    root = tmp_path_factory.mktemp("similarity")
    shutil.copytree(SOURCE.parent, root / "source" / "fx_basics")
    return root


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(files=st.lists(hostile_submission(), min_size=2, max_size=3))
def test_a_class_with_hostile_notebooks_gets_its_similarity_report(similarity_course, files):
    """Per stage, the similarity report: whatever the files handed in (hostile or malformed,
    under ids holding markup, a bidi override or bytes that are not UTF-8), `llmf-grade
    similarity` ends, writes its page and tables, and shows nothing a student wrote raw."""
    course = Course(similarity_course)
    shutil.rmtree(similarity_course / "submitted", ignore_errors=True)
    students = ["ada", "m<script>x", "m\u202ey", "m\udcff"][:len(files) + 1]
    for student, raw in zip(students, [json.dumps(HONEST).encode(), *files], strict=True):
        path = course.submission(student, "fx_basics", "fx_basics")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
    assert main(["--course", str(similarity_course), "similarity", "fx_basics"]) == 0
    page = (similarity_course / "similarity" / "fx_basics.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "\u202e" not in page
    for table in ("fx_basics.csv", "fx_basics.groups.csv"):
        (similarity_course / "similarity" / table).read_text(encoding="utf-8")
