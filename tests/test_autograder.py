"""Unit tests of the autograder's parts: payloads, comparison, plans, submissions, hidden_cases."""

from __future__ import annotations

import collections
import doctest
import importlib
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
import synthetic

import course_lib
from autograder.grader.compare import compare
from autograder.grader.course_lib_view import course_lib_view
from autograder.grader.judge import visible_error
from autograder.grader.kernel import SandboxedKernel
from autograder.grader.plan import PlanError, Step, parse_hidden_calls, read_plan, split_hidden
from autograder.grader.sandbox import Limits
from autograder.grader.submission import read_submission, read_submitted
from autograder.hidden import hidden_cases
from autograder.in_kernel import ForbiddenCall
from autograder.protocol import NotPlainData, decode, encode
from course_lib.quiz import as_choice

FIXTURE = Path(__file__).parent / "fixtures" / "course" / "source" / "fx_basics" / "fx_basics.ipynb"


class AlwaysEqual(float):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, float("nan"), "text", [1, [2.0, "x"]], (1, 2), {"a": [1, None]},
    np.float32(1.5), np.arange(6, dtype=np.int16).reshape(2, 3), np.array([True, False]),
])
def test_payload_round_trip(value):
    back = decode(encode(value))
    ok, why = compare(back, decode(encode(value)), rtol=0, atol=0)
    assert ok, why
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)


@pytest.mark.parametrize("value", [AlwaysEqual(1.0), object(), np.array(["a"]),
                                   np.array([object()], dtype=object), {1: 2}, lambda: 1,
                                   np.ma.masked_array([1.0, 2.0], mask=[True, False]),
                                   np.array([1j]), np.zeros(2, dtype="f8,i4")])
def test_payload_refuses_anything_but_plain_data(value):
    with pytest.raises(NotPlainData):
        encode(value)


def test_compare_rules():
    assert compare(1.0 + 1e-9, 1.0, rtol=1e-6, atol=1e-8)[0]
    assert not compare(3, 4, rtol=1, atol=1)[0]  # integers are exact
    assert not compare(True, 1, rtol=0, atol=0)[0]
    assert compare([1.0, 2.0], np.array([1.0, 2.0]), rtol=0, atol=0)[0]
    ok, why = compare(np.zeros((3, 2)), np.zeros((4, 2)), rtol=0, atol=0)
    assert not ok and "shape" in why
    assert not compare({"a": 1}, {"b": 1}, rtol=0, atol=0)[0]


def test_hidden_cases_in_a_plain_kernel():
    namespace = {"AlwaysEqual": AlwaysEqual, "hidden_cases": hidden_cases, "np": np}
    exec("def square(x):\n    return np.asarray(x) ** 2\n"
         "values = hidden_cases('square', ['square([1, 2])', \"'done'\"])", namespace)
    values = namespace["values"]
    assert np.array_equal(values[0], [1, 4]) and values[1] == "done"
    with pytest.raises(AssertionError, match="cheat: hidden case 1 returned"):
        exec("hidden_cases('cheat', ['AlwaysEqual(2.0)'])", namespace)


def test_plan_reads_roles_and_hidden_calls():
    plan = read_plan(FIXTURE)
    assert [s.kind for s in plan.steps] == ["setup", "answer", "test", "answer", "test",
                                            "answer", "test"]
    (call,) = plan.tests[0].hidden_calls
    assert (call.name, call.n_cases, call.forbid) == ("linear", 2,
                                                      ("course_lib.transformer.linear_forward",))
    assert plan.max_points() == {"linear_test": 2, "softmax_test": 2, "q1_test": 1,
                                 "explain_answer": 2}
    assert "demo" not in {s.grade_id for s in plan.steps}  # demo cells are never run


def test_plan_rejects_non_literal_hidden_calls():
    with pytest.raises(PlanError, match="literal"):
        parse_hidden_calls("hidden_cases(NAME, ['f(1)'])", "cell")
    visible, hidden = split_hidden("a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS")
    assert (visible, hidden) == ("a = 1", "b = 2")


def test_submission_reading_finds_tampering_and_bad_files(tmp_path):
    plan = read_plan(FIXTURE)
    notebook = synthetic.student_notebook(FIXTURE, synthetic.correct_answers(FIXTURE))
    edited = synthetic.with_cell_source(synthetic.without_cell(notebook, "q1_test"),
                                        "intro", "# my notes")
    nbformat.write(edited, str(tmp_path / "edited.ipynb"))
    found = read_submission(read_submitted(tmp_path / "edited.ipynb"), plan)
    assert found.tampering == ["locked cell intro was edited", "locked cell q1_test was deleted"]
    assert "def linear" in found.answers["linear_answer"]
    (tmp_path / "bad.ipynb").write_text("[1, 2")
    assert read_submission(read_submitted(tmp_path / "bad.ipynb"), plan).problem[0] == "crashed"
    assert read_submission(read_submitted(tmp_path / "none.ipynb"), plan).problem[0] == "missing"


def test_a_stopped_kernel_reports_died_rather_than_breaking_the_grader():
    kernel = SandboxedKernel(Limits(cell_timeout=5, notebook_timeout=30), ())
    kernel.start()
    assert kernel.execute("1 + 1", timeout=5).status == "ok"
    kernel.stop()  # what a timed-out cell that ignores interrupts leads to
    assert kernel.execute("1 + 1", timeout=5).status == "died"


def _modules_loaded_by(*modules: str) -> set[str]:
    """The autograder modules a fresh interpreter loads when it imports `modules`."""
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(' '.join(m for m in sys.modules if m.startswith('autograder')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_kernels_side_imports_only_the_protocol():
    loaded = _modules_loaded_by("autograder.hidden", "autograder.in_kernel.boot")
    assert loaded <= {"autograder", "autograder.hidden", "autograder.protocol",
                      "autograder.in_kernel", "autograder.in_kernel.boot",
                      "autograder.in_kernel.cases"}, loaded


def test_reporting_never_imports_the_pool_or_the_kernel():
    loaded = _modules_loaded_by("autograder.reports.export", "autograder.reports.feedback",
                                "autograder.reports.gradebook")
    machinery = {"autograder.local_pool", "autograder.grade_class", "autograder.grader.kernel",
                 "autograder.grader.execute", "autograder.grader.sandbox"}
    assert not loaded & machinery, loaded & machinery


def test_the_course_view_has_no_code_for_forbidden_functions():
    view = course_lib_view(frozenset({"course_lib.transformer.linear_forward",
                                  "course_lib.ngram.NGramModel.fit"}))
    real = (Path(course_lib.__file__).parent / "transformer.py").read_text()
    module = (view / "transformer.py").read_text()
    body = real[real.index("def linear_forward"):].split("\ndef ")[0]
    assert "x @ w" not in module.split("def linear_forward")[1].split("\ndef ")[0]
    assert "_ForbiddenCall(" in module and len(body) > 50
    loaded = types.ModuleType("course_lib.transformer_view")  # its relative imports: course_lib
    loaded.__package__ = "course_lib"
    sys.modules[loaded.__name__] = loaded  # dataclasses look their module up
    try:
        exec(compile(module, "transformer.py", "exec"), loaded.__dict__)
    finally:
        del sys.modules[loaded.__name__]
    with pytest.raises(ForbiddenCall, match="linear_forward is not available while grading"):
        loaded.linear_forward(np.ones((1, 2)), np.ones((2, 2)), np.zeros(2))
    fast = (view / "fast.py").read_text()  # the fast twins go with what they compute
    for name in ("linear_forward", "_normalize_forward", "cross_entropy_and_grad"):
        assert "x @ w" not in fast and fast.split(f"def {name}(")[1].split("\ndef ")[0].count(
            "_ForbiddenCall(") == 1, name
    assert (view / "weights").is_dir() and not any((view / "weights").iterdir())
    with pytest.raises(PlanError, match="no module"):
        course_lib_view(frozenset({"course_lib.nowhere.f"}))


def test_added_cells_and_written_answers_in_code_cells_are_found():
    notebook = synthetic.student_notebook(FIXTURE, synthetic.correct_answers(FIXTURE),
                                          written=False)
    notebook = synthetic.with_added_cell(notebook, "linear_answer", "_helper = 1")
    notebook = synthetic.with_added_cell(notebook, "explain_answer", "It is shift invariant.")
    found = read_submission(nbformat.writes(notebook).encode(), read_plan(FIXTURE))
    assert found.added == [("linear_answer", "_helper = 1")]
    assert found.written["explain_answer"] == "It is shift invariant."
    assert found.in_code_cells == ["explain_answer"]


@pytest.mark.parametrize(("value", "reference", "ok"), [
    (np.array([True, False]), np.array([1, 0]), True),
    ([True, False, True], [1, 0, 1], True),
    (np.array([True, False]), np.array([0, 1]), False),
    (np.array([True, False]), np.array([2, 0]), False),
    (1, True, False),
    (True, 1, False),
    (10**400, 1.5, False),
])
def test_compare_reads_answers_as_a_careful_grader(value, reference, ok):
    assert compare(value, reference, rtol=1e-6, atol=1e-8)[0] is ok


def test_named_tuples_travel_as_tuples_and_choices_are_read_generously():
    pair = collections.namedtuple("Pair", "inputs targets")
    assert decode(encode(pair([1], [2]))) == ([1], [2])
    assert [as_choice(v) for v in (" b ", "c", True, "false", "AB", 3)] == [
        "B", "C", "True", "False", "AB", 3]


def test_a_failed_check_shows_only_the_instructors_words():
    step = read_plan(FIXTURE).tests[0]
    secret = "linear(np.eye(3), 2 * np.eye(3), np.zeros(3))"
    assert visible_error(step, "AssertionError: linear should return shape (N, C_out)") == (
        "AssertionError: linear should return shape (N, C_out)")
    for error in (f"ValueError: {secret}", f"{secret}: boom", f"AssertionError: {secret}",
                  f"AssertionError: linear should return shape (N, C_out) {secret}"):
        assert secret not in visible_error(step, error)
    templated = Step("test", "t", 'assert ok, f"expected {expected}, got {got}"')
    assert visible_error(templated, f"AssertionError: expected 1, got {secret}") == (
        "AssertionError: expected …, got …")


@pytest.mark.parametrize("name", ["grader.judge", "grader.execute", "grader.plan", "grader.compare",
                                  "protocol"])
def test_the_graders_docstring_examples(name):
    module = importlib.import_module(f"autograder.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0, (name, result)


def test_the_graders_parser_serves_threads_one_at_a_time():
    """Dask workers grade in threads; the grader's parses never run at once (grader.syntax), so
    CPython 3.11's shared AST recursion depth (issue 106905) cannot crash a student's notebook."""
    import threading

    from autograder.grader import syntax

    nested = "x = " + "(" * 80 + "1" + ")" * 80 + "\n"
    errors: list[BaseException] = []

    def parse_many():
        try:
            for _ in range(200):
                syntax.parse(nested * 5)
                syntax.check_syntax(nested, "<cell>")
        except BaseException as error:  # noqa: BLE001 - any error is the finding
            errors.append(error)

    threads = [threading.Thread(target=parse_many) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:1]


def test_a_parse_upset_by_another_threads_ast_is_done_again(monkeypatch):
    """CPython 3.11.7's shared AST recursion depth can fail one parse (another thread, such as
    the traceback module's, was building an AST): grader.syntax parses again; other errors and
    a mismatch on every attempt still raise."""
    import ast as ast_module

    from autograder.grader import syntax

    real, calls = ast_module.parse, []

    def upset_once(source):
        calls.append(source)
        if len(calls) == 1:
            raise SystemError(f"{syntax.MISMATCH} (before=57, after=68)")
        return real(source)

    monkeypatch.setattr(syntax.ast, "parse", upset_once)
    assert type(syntax.parse("x = 1").body[0]).__name__ == "Assign" and len(calls) == 2

    def always_upset(source):
        raise SystemError(syntax.MISMATCH)

    monkeypatch.setattr(syntax.ast, "parse", always_upset)
    with pytest.raises(SystemError):
        syntax.parse("x = 1")
