"""A named mistake gets its named message, and loses its points in the hidden tests too.

The visible check a typical wrong answer fails says what went wrong (check_named_message), and
the hidden cases reject it as well (check_hidden_cases_reject, run in this process). Beyond the
named table, VisibleChecks runs an exercise's visible checks on the reference answer with its
return values altered (altered: floats scaled, integer arrays rolled), for property tests that no
wrong value passes and that every rejection is an AssertionError with a message.

A chapter's test module lists MESSAGES = {(solution grade_id, wrong answer's name): phrase}, the
wrong answers being those of its WRONG table, and its TestGrading gains one test per entry:

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])

Each chapter also checks its tables with `check_table_is_complete(WRONG, MESSAGES, minimum=10)`,
and that each wrong answer loses its points in the hidden tests, in process (no kernel), with
`check_hidden_cases_reject(HiddenCases(source), keys[solution_id], WRONG, case)`: at least one
hidden case of the exercise gives the wrong answer a value the grader would not accept.
"""

from __future__ import annotations

import ast
import contextlib
import io
import warnings

import numpy as np

from autograder.grader.compare import compare
from autograder.grader.plan import role, split_hidden
from autograder.protocol import decode, encode


def check_named_message(graded: dict, wrong: dict, case: tuple[str, str], phrase: str) -> None:
    """The graded submission carrying wrong answer `case` failed its exercise's visible check with
    a message containing `phrase`."""
    solution_id, name = case
    result, mutated = graded[list(wrong[solution_id]).index(name)]
    assert mutated[solution_id] == name
    failure = result.failed_checks.get("test_" + solution_id, "")
    assert "AssertionError" in failure and phrase in failure, (
        f"{name!r} should fail with a message containing {phrase!r}; the learner saw: {failure!r} "
        f"(the notebook's status: {result.status}, {result.reason!r})"
    )


class HiddenCases:
    """A chapter's hidden cases, run in this process on any answer: what the grader compares.

    The kernel the grader starts runs the source's setup cells, then an answer cell, then its
    exercise's test cell (the visible checks, which may define helpers the cases use, and the
    hidden block); here the same code runs in a namespace of its own
    (the setup cells once, IPython's `%` lines left out), and every value goes through the
    protocol's plain-data round trip, as the kernel's report does. A case that raises records
    the exception instead of a value.
    """

    def __init__(self, source):
        self.setup: dict = {}
        self.visible: dict[str, str] = {}
        self.hidden: dict[str, str] = {}
        for cell in source.cells:
            if cell.cell_type != "code":
                continue
            if "setup" in cell.metadata.get("tags", []):
                code = "\n".join(line for line in cell.source.splitlines()
                                 if not line.lstrip().startswith("%"))
                exec(code, self.setup)  # noqa: S102 - the instructor's setup cell
            elif role(cell).get("grade"):
                grade_id = role(cell)["grade_id"]
                self.visible[grade_id], self.hidden[grade_id] = split_hidden(cell.source)

    def values(self, solution_id: str, code: str) -> list[tuple[object, dict]]:
        """[(plain value or the exception raised, the call's tolerances)] of every hidden case of
        the exercise `solution_id` when its answer cell holds `code`."""
        namespace, recorded = dict(self.setup), []

        def hidden_cases(name, expressions, *, forbid=(), rtol=1e-6, atol=1e-8):
            for expression in expressions:
                try:
                    with np.errstate(all="ignore"), warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # an overflow is a wrong answer's value
                        value = decode(encode(eval(expression, namespace)))  # noqa: S307
                except Exception as error:  # noqa: BLE001 - a wrong answer may raise anything
                    value = error
                recorded.append((value, {"rtol": rtol, "atol": atol}))

        exec(code, namespace)  # noqa: S102 - a reference answer or a table's wrong answer
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
            exec(self.visible["test_" + solution_id], namespace)  # noqa: S102 - they may define
        namespace["hidden_cases"] = hidden_cases  # helpers the cases use; a failure stops nothing
        exec(self.hidden["test_" + solution_id], namespace)  # noqa: S102 - the hidden block
        return recorded


def check_hidden_cases_reject(cases: HiddenCases, reference_code: str, wrong: dict,
                              case: tuple[str, str]) -> None:
    """The wrong answer `case` of the table `wrong` loses its points in the hidden tests as well:
    at least one hidden case raises or differs from the reference answer's value."""
    solution_id, name = case
    expected = cases.values(solution_id, reference_code)
    assert expected and not any(isinstance(value, Exception) for value, _ in expected)
    got = cases.values(solution_id, wrong[solution_id][name])
    assert len(got) == len(expected)
    rejected = [isinstance(value, Exception) or not compare(value, reference, **tolerance)[0]
                for (value, _), (reference, tolerance) in zip(got, expected, strict=True)]
    assert any(rejected), f"{name!r} passes every hidden case of {solution_id}"


def check_table_is_complete(wrong: dict, messages: dict, minimum: int = 10) -> None:
    """Every exercise lists at least `minimum` typical wrong answers, and every one of them has the
    phrase its visible check must name."""
    short = {solution_id: len(wrongs) for solution_id, wrongs in wrong.items()
             if len(wrongs) < minimum}
    assert not short, f"exercises with fewer than {minimum} typical wrong answers: {short}"
    cases = {(solution_id, name) for solution_id, wrongs in wrong.items() for name in wrongs}
    assert set(messages) == cases, (
        f"wrong answers without a message: {sorted(cases - set(messages))}; "
        f"messages without a wrong answer: {sorted(set(messages) - cases)}"
    )


def defined_functions(code: str) -> list[str]:
    """The names of the functions an answer cell defines, in order."""
    return [node.name for node in ast.parse(code).body if isinstance(node, ast.FunctionDef)]


def altered(value, factor: float, position: int):
    """A wrong version of an answer's return value: every float scaled by `factor` (a float array
    or a Python float), an integer array rolled by one place; in a tuple, only item `position`
    (modulo its length) is altered. Types and shapes stay as they were."""
    if isinstance(value, tuple):
        index = position % len(value)
        return (*value[:index], altered(value[index], factor, position), *value[index + 1:])
    if isinstance(value, np.ndarray) and value.dtype.kind in "iub":
        varied = value.size > 1 and len(np.unique(value)) > 1
        return np.roll(value, 1) if varied else value + 1
    if isinstance(value, np.ndarray):
        return value * factor + (0.5 if not np.any(value) else 0.0)
    if isinstance(value, float):
        return value * factor + (0.5 if value == 0 else 0.0)
    raise TypeError(f"no alteration for {type(value).__name__}")


class VisibleChecks:
    """An exercise's visible checks, run in this process (after the setup cells of HiddenCases)."""

    def __init__(self, source, cases: HiddenCases):
        self.cases = cases
        self.visible = {role(cell)["grade_id"]: split_hidden(cell.source)[0]
                        for cell in source.cells if role(cell).get("grade")
                        and cell.cell_type == "code"}

    def outcome(self, solution_id: str, code: str, alteration=None) -> str:
        """"passed", or the name of the exception the visible checks raised, when the answer cell
        holds `code` and, if given, `alteration = (function name, alter(value) -> value)` wraps
        one of its functions."""
        namespace = dict(self.cases.setup)
        exec(code, namespace)  # noqa: S102 - a reference answer or a wrong one
        if alteration is not None:
            name, alter = alteration
            original = namespace[name]
            namespace[name] = lambda *args, **kwargs: alter(original(*args, **kwargs))
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(self.visible["test_" + solution_id], namespace)  # noqa: S102
        except Exception as error:  # noqa: BLE001 - which exception is the finding
            return type(error).__name__
        return "passed"
