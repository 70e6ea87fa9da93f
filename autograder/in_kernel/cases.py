"""Hidden test cases: expressions whose values the grader compares with the reference solution.

In a source notebook, a test cell ends with a hidden block such as::

    ### BEGIN HIDDEN TESTS
    hidden_cases("make_pairs", [
        "make_pairs([3, 1, 4, 1, 5], 2)",
        "make_pairs(list(range(10)), 4)",
    ], forbid=["course_lib.data.random_windows"], rtol=1e-5, atol=1e-8)
    ### END HIDDEN TESTS

In an ordinary kernel (an instructor running the source notebook), `hidden_cases` evaluates each
expression in the notebook's namespace and raises AssertionError, naming the case, when a value
is not plain data.

Under the grader (environment variable GRADING_ENV set to "1", inside the sandbox) it never
raises: it sends each value to the grader as plain data (see autograder.protocol), and the
grader compares it with the value the instructor's solution gives, in its own process. The
grader reads `forbid`, `rtol` and `atol` from the source notebook itself, and enforces `forbid`
by grading against a course_lib without those functions (autograder.grader.course_lib_view).
Nothing this function reports can change a verdict, only the values themselves.
"""

from __future__ import annotations

import os
import sys

from autograder.protocol import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    GRADING_ENV,
    HIDDEN_MIME,
    NotPlainData,
    class_names,
    hidden_report,
    to_jsonable,
)


def _evaluate(expression: str, namespace: dict, grading: bool):
    """(value, outcome) for one case; outcome is {"value": plain data} or {"error": "why"}.

    Reading a value may run its own code (a subclass's or a metaclass's), which may raise
    anything: that case gives no value, and the other cases are still reported (an exception's
    name is read by protocol.class_names, which runs none of its class's code). So does an
    exception outside Exception's family (SystemExit: the answer called sys.exit()); only a
    KeyboardInterrupt, the grader's time-out, stops the cases. Outside the grader an exception
    propagates, so the instructor sees its traceback.
    """
    try:
        value = eval(expression, namespace)  # noqa: S307 - instructor-written test expression
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a wrong answer may raise anything
        if not grading:
            raise
        return None, {"error": f"raised {class_names(error)[0]}"}
    try:
        return value, {"value": to_jsonable(value)}
    except NotPlainData as error:
        return value, {"error": f"returned {error}, not plain data (numbers, strings, arrays)"}
    except KeyboardInterrupt:
        raise
    except BaseException:  # the value's own code raised while it was read
        if not grading:
            raise
        return value, {"error": "returned a value that could not be read as plain data"}


def hidden_cases(name: str, expressions, *, forbid=(), rtol: float = DEFAULT_RTOL,
                 atol: float = DEFAULT_ATOL):
    """Evaluate hidden test expressions in the caller's namespace.

    name: the exercise's name (used in messages); expressions: list of Python expressions (str);
    forbid: dotted names of course_lib functions the exercise asks the student to write, which
    the grader takes away; rtol/atol: the tolerances the grader uses for numbers (by default
    np.allclose's, which the visible checks use: protocol.DEFAULT_RTOL, DEFAULT_ATOL; an array of
    float32 is held to no less than what float32 allows: 64 units of its rounding, 7.6e-6
    relative and that fraction of the reference's largest magnitude, see grader.compare).
    Returns the list of values (None under the grader, which receives them as data instead).
    """
    if isinstance(expressions, str) or not all(isinstance(e, str) for e in expressions):
        raise TypeError(f"hidden_cases({name!r}): expressions must be a list of strings")
    namespace = sys._getframe(1).f_globals
    grading = os.environ.get(GRADING_ENV) == "1"
    results = [_evaluate(expression, namespace, grading) for expression in expressions]
    outcomes = [outcome for _, outcome in results]
    if grading:
        from IPython.display import publish_display_data

        publish_display_data({HIDDEN_MIME: hidden_report(name, outcomes)})
        return None
    for number, outcome in enumerate(outcomes, start=1):
        if "error" in outcome:
            raise AssertionError(f"{name}: hidden case {number} {outcome['error']}")
    return [value for value, _ in results]
