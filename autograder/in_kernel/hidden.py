"""Hidden test cases: expressions whose values the grader compares with the reference solution.

In a source notebook, a test cell ends with a hidden block such as::

    ### BEGIN HIDDEN TESTS
    hidden_cases("make_pairs", [
        "make_pairs([3, 1, 4, 1, 5], 2)",
        "make_pairs(list(range(10)), 4)",
    ], forbid=["course_lib.data.random_windows"], rtol=1e-6, atol=1e-8)
    ### END HIDDEN TESTS

In an ordinary kernel (an instructor running the source notebook), `hidden_cases` evaluates each
expression in the notebook's namespace and raises AssertionError, naming the case, when a value
is not plain data or when a `forbid`-den course_lib function was called.

Under the grader (environment variable LLMF_GRADING=1, set inside the sandbox) it never raises:
it sends each value to the grader as plain data (see autograder.protocol), and the grader compares
it with the value the instructor's solution gives, in its own process. Nothing this function
reports can change a verdict, only the values themselves.
"""

from __future__ import annotations

import importlib
import os
import sys

from autograder.protocol import GRADING_ENV, HIDDEN_MIME, NotPlainData, hidden_report, to_jsonable


def resolve(dotted: str):
    """The object a dotted name such as "course_lib.data.random_windows" refers to.

    >>> resolve("os.path.join").__name__
    'join'
    """
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            break
        return obj
    raise ValueError(f"forbid: cannot resolve {dotted!r}; expected a name like 'pkg.module.func'")


class CallWatch:
    """Context manager recording which of some functions were called while it was active.

    >>> import json
    >>> with CallWatch(["json.dumps"]) as watch:
    ...     _ = json.dumps(1)
    >>> watch.seen
    ['json.dumps']
    """

    def __init__(self, dotted_names):
        self.codes = {}
        for name in dotted_names:
            code = getattr(resolve(name), "__code__", None)
            if code is None:
                raise ValueError(f"forbid: {name!r} is not a Python function")
            self.codes[code] = name
        self.seen: list[str] = []

    def _profile(self, frame, event, arg):
        if event == "call" and frame.f_code in self.codes:
            name = self.codes[frame.f_code]
            if name not in self.seen:
                self.seen.append(name)

    def __enter__(self):
        if self.codes:
            self._previous = sys.getprofile()
            sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        if self.codes:
            sys.setprofile(self._previous)
        return False


def _evaluate(expression: str, namespace: dict, watch: CallWatch, grading: bool):
    """(value, outcome) for one case; outcome is {"value": plain data} or {"error": "why"}.

    Outside the grader an exception propagates, so the instructor sees its traceback.
    """
    try:
        with watch:
            value = eval(expression, namespace)  # noqa: S307 - instructor-written test expression
    except Exception as error:  # a wrong answer may raise anything
        if not grading:
            raise
        return None, {"error": f"raised {type(error).__name__}"}
    try:
        return value, {"value": to_jsonable(value)}
    except NotPlainData as error:
        return value, {"error": f"returned {error}, not plain data (numbers, strings, arrays)"}


def hidden_cases(name: str, expressions, *, forbid=(), rtol: float = 1e-6, atol: float = 1e-8):
    """Evaluate hidden test expressions in the caller's namespace.

    name: the exercise's name (used in messages); expressions: list of Python expressions (str);
    forbid: dotted names of course_lib functions the solution must not call; rtol/atol: the
    tolerances the grader uses for numbers (read by the grader from the source notebook).
    Returns the list of values (None under the grader, which receives them as data instead).
    """
    if isinstance(expressions, str) or not all(isinstance(e, str) for e in expressions):
        raise TypeError(f"hidden_cases({name!r}): expressions must be a list of strings")
    namespace = sys._getframe(1).f_globals
    watch = CallWatch(forbid)
    grading = os.environ.get(GRADING_ENV) == "1"
    results = [_evaluate(expression, namespace, watch, grading) for expression in expressions]
    outcomes = [outcome for _, outcome in results]
    if grading:
        _send_to_grader(name, outcomes, watch.seen)
        return None
    for number, outcome in enumerate(outcomes, start=1):
        if "error" in outcome:
            raise AssertionError(f"{name}: hidden case {number} {outcome['error']}")
    if watch.seen:
        called = ", ".join(watch.seen)
        raise AssertionError(f"{name}: the solution calls {called}, which is forbidden here")
    return [value for value, _ in results]


def _send_to_grader(name: str, outcomes: list, forbidden_calls: list) -> None:
    from IPython.display import publish_display_data

    publish_display_data({HIDDEN_MIME: hidden_report(name, outcomes, forbidden_calls)})
