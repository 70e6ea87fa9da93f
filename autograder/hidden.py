"""Hidden test cases: expressions whose values the grader compares with the reference solution.

In a source notebook, a test cell ends with a hidden block such as::

    ### BEGIN HIDDEN TESTS
    hidden_cases("make_pairs", ["make_pairs([3, 1, 4, 1, 5], 2)"])
    ### END HIDDEN TESTS

Inside an ordinary kernel, `hidden_cases` only evaluates the expressions and checks that each
gives plain data. The secure grader evaluates the same expressions in a sandbox, carries the
values out as data, and compares them with the values the instructor's solutions give.
"""

from __future__ import annotations

import sys

import numpy as np

PLAIN_SCALARS = (bool, int, float, str, type(None))


def is_plain_data(value) -> bool:
    """True if `value` is built only from plain scalars, lists, tuples, dicts and numeric arrays.

    Subclasses (for example a float whose `__eq__` always returns True) are not plain data.

    >>> is_plain_data([1, 2.5, "a", None, {"k": (True,)}])
    True
    """
    kind = type(value)
    if kind in PLAIN_SCALARS or kind in (np.bool_, np.int32, np.int64, np.float32, np.float64):
        return True
    if kind in (list, tuple):
        return all(is_plain_data(item) for item in value)
    if kind is dict:
        return all(type(k) is str and is_plain_data(v) for k, v in value.items())
    if kind is np.ndarray:
        return value.dtype.kind in "biuf"
    return False


def hidden_cases(name: str, expressions, *, forbid=(), rtol: float = 1e-6, atol: float = 1e-8):
    """Evaluate each expression in the caller's namespace and check it gives plain data.

    name: the exercise's name (shown in messages); expressions: list of Python expressions (str);
    forbid: dotted names of course_lib functions the solution must not delegate to (enforced by
    the grader); rtol/atol: tolerances the grader uses when comparing numbers.
    Returns the list of values.
    """
    namespace = sys._getframe(1).f_globals
    values = []
    for expression in expressions:
        value = eval(expression, namespace)  # noqa: S307 - instructor-written test expressions
        if not is_plain_data(value):
            raise AssertionError(
                f"{name}: a hidden case returned a {type(value).__name__}; "
                "expected plain numbers, strings, lists or numpy arrays"
            )
        values.append(value)
    return values
