"""A named mistake gets its named message, and loses its points in the hidden tests too.

The visible check a typical wrong answer fails says what went wrong (check_named_message), and
the hidden cases reject it as well (check_hidden_cases_reject, run in this process by ChapterRun,
which runs a chapter's cells as the grader's kernel does). Beyond the named table, ChapterRun runs
an exercise's visible checks on the reference answer with its return values altered (altered:
floats scaled, integer arrays rolled), for property tests that no wrong value passes and that
every rejection is an AssertionError with a message; tests/test_selfchecks_agree.py holds the
visible checks and the hidden cases to one verdict on any answer.

A chapter's test module lists MESSAGES = {(solution grade_id, wrong answer's name): phrase}, the
wrong answers being those of its WRONG table, and its TestGrading gains one test per entry:

    @pytest.mark.parametrize("case", MESSAGES, ids=str)
    def test_named_mistake_gets_its_message(self, graded, case):
        check_named_message(graded, self.wrong, case, MESSAGES[case])

Each chapter also checks its tables with `check_table_is_complete(WRONG, MESSAGES, minimum=10)`,
and that each wrong answer loses its points in the hidden tests, in process (no kernel), with
`check_hidden_cases_reject(ChapterRun(source), keys[solution_id], WRONG, case)`: at least one
hidden case of the exercise gives the wrong answer a value the grader would not accept.
"""

from __future__ import annotations

import ast
import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np

from autograder.grader.compare import compare
from autograder.grader.plan import role, split_hidden, without_solution_markers
from autograder.protocol import DEFAULT_ATOL, DEFAULT_RTOL, as_graded
from course_lib import exercises
from course_lib.exercises import TimeLimitExceeded, time_limit

CELL_TIME_LIMIT = 20.0  # seconds, as the grader's limit for a cell (--cell-timeout)


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


@dataclass
class Verdicts:
    """What one run of an exercise's test cell gave: `visible` is None when its visible checks
    passed, else the exception they raised; `hidden` lists, for every hidden case, (the plain
    value or the exception raised, the call's tolerances {"rtol", "atol"})."""

    visible: BaseException | None
    hidden: list[tuple[object, dict]]


class ChapterRun:
    """A chapter's setup, answer and test cells, run in this process as the grader's kernel
    runs them: in notebook order, the setup cells (IPython's `%` lines left out) and every
    exercise's answer (the instructor's, but for the exercise under test), then the exercise's
    test cell, its visible checks and then its hidden block, in one namespace (Chapter 5's
    checks swap names in it). Every hidden value goes through the protocol's plain-data round
    trip, as the kernel's report does; a case that raises, or runs longer than
    course_lib.exercises.TIME_LIMIT, records the exception instead of a value. The grader
    compares values outside the kernel, so library functions the answer replaced are put back
    after the checks and after each case (course_lib.exercises.library_untouched).
    """

    def __init__(self, source):
        self.cells: list[tuple[str, str, str]] = []  # (kind, grade_id, code), in notebook order
        self.visible: dict[str, str] = {}
        self.hidden: dict[str, str] = {}
        for cell in source.cells:
            if cell.cell_type != "code":
                continue
            grade_id = role(cell).get("grade_id", "")
            if "setup" in cell.metadata.get("tags", []):
                lines = cell.source.splitlines()
                code = "\n".join(line for line in lines if not line.lstrip().startswith("%"))
                self.cells.append(("setup", grade_id, code))
            elif role(cell).get("solution") and grade_id.startswith("ex"):
                self.cells.append(("answer", grade_id, without_solution_markers(cell.source)))
            elif role(cell).get("grade"):
                self.visible[grade_id], self.hidden[grade_id] = split_hidden(cell.source)
                self.cells.append(("test", grade_id, ""))

    def run(self, solution_id: str, code: str, wrap=None) -> Verdicts:
        """The verdicts of exercise `solution_id` when its answer cell holds `code`; `wrap`, if
        given, is called with the namespace right after that cell (to wrap its functions)."""
        namespace, recorded = {}, []

        def hidden_cases(name, expressions, *, forbid=(), rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL):
            for expression in expressions:
                try:
                    with quiet(), time_limit(exercises.TIME_LIMIT):
                        value = as_graded(eval(expression, namespace))  # noqa: S307
                except BaseException as error:  # noqa: BLE001 - a wrong answer may raise anything
                    value = error
                with contextlib.suppress(AssertionError):
                    exercises.library_untouched()
                recorded.append((value, {"rtol": rtol, "atol": atol}))

        test_id = "test_" + solution_id
        for kind, grade_id, cell_code in self.cells:
            if kind == "test" and grade_id == test_id:
                visible = None
                try:
                    with quiet(), time_limit(CELL_TIME_LIMIT):
                        exec(self.visible[test_id], namespace)  # noqa: S102 - the checks
                except (Exception, TimeLimitExceeded) as error:  # noqa: BLE001 - the finding
                    visible = error
                with contextlib.suppress(AssertionError):
                    exercises.library_untouched()
                namespace["hidden_cases"] = hidden_cases
                exec(self.hidden[test_id], namespace)  # noqa: S102 - the hidden block
                return Verdicts(visible, recorded)
            if kind == "setup":
                exec(cell_code, namespace)  # noqa: S102 - the instructor's setup cell
            elif kind == "answer":
                exec(code if grade_id == solution_id else cell_code, namespace)  # noqa: S102
                if grade_id == solution_id and wrap is not None:
                    wrap(namespace)
        raise KeyError(f"no test cell {test_id}")

    def values(self, solution_id: str, code: str) -> list[tuple[object, dict]]:
        """[(plain value or the exception raised, the call's tolerances)] of every hidden case of
        the exercise `solution_id` when its answer cell holds `code`."""
        return self.run(solution_id, code).hidden

    def outcome(self, solution_id: str, code: str, alteration=None) -> str:
        """"passed", or the name of the exception the visible checks raised, when the answer cell
        holds `code` and, if given, `alteration = (function name, alter(value) -> value)` wraps
        one of its functions."""
        def wrap(namespace):
            name, alter = alteration
            original = namespace[name]
            namespace[name] = lambda *args, **kwargs: alter(original(*args, **kwargs))

        visible = self.run(solution_id, code, wrap if alteration else None).visible
        return "passed" if visible is None else type(visible).__name__


@contextlib.contextmanager
def quiet():
    """Checks run with their printing kept and numpy's warnings off (an overflow is a wrong
    answer's value)."""
    with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def hidden_verdict(expected: list, got: list) -> bool:
    """True if every hidden case gave a value the grader accepts (compared with the reference
    answer's values `expected`, each with its call's tolerances)."""
    assert len(got) == len(expected)
    return all(not isinstance(value, BaseException) and compare(value, reference, **tolerance)[0]
               for (value, _), (reference, tolerance) in zip(got, expected, strict=True))


def check_hidden_cases_reject(cases: ChapterRun, reference_code: str, wrong: dict,
                              case: tuple[str, str]) -> None:
    """The wrong answer `case` of the table `wrong` loses its points in the hidden tests as well:
    at least one hidden case raises or differs from the reference answer's value."""
    solution_id, name = case
    expected = cases.values(solution_id, reference_code)
    assert expected and not any(isinstance(value, BaseException) for value, _ in expected)
    got = cases.values(solution_id, wrong[solution_id][name])
    assert not hidden_verdict(expected, got), f"{name!r} passes every hidden case of {solution_id}"


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
