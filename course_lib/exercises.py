"""What the chapters' self-checks share: calling a learner's function, with its errors explained.

A self-check calls the learner's function through `call`. If the function raises, the learner
gets an AssertionError that says what the error usually means in this exercise, instead of
numpy's bare message (which is printed above it). The check itself states the meanings, one per
exception type, as literal text: the grader shows a failed check's message on the feedback page
only when it is the check's own text. An exception the check does not explain gets a general
meaning. NotImplementedError (the exercise is not solved yet) passes unchanged.

>>> call(lambda tokens: tokens[5], [1, 2, 3],
...      explain={"IndexError": "read past the end of the tokens: an off-by-one in the range?"})
Traceback (most recent call last):
    ...
AssertionError: read past the end of the tokens: an off-by-one in the range?
"""

from __future__ import annotations

# What an exception raised in an exercise usually means, when the check says nothing about it.
GENERAL_MEANINGS = {
    "IndexError": "an index ran past the end of a list or array: check the range of your loop "
                  "and the positions you read (an off-by-one?)",
    "ValueError": "an array has a shape or value the operation cannot take: print the shapes",
    "TypeError": "a value has the wrong type: a list where an array is needed (np.asarray), "
                 "or None from a function that forgot to return its result?",
    "ZeroDivisionError": "a division by zero: which total can be 0 here?",
    "KeyError": "a dictionary has no entry for this key",
}


def call(function, *args, explain: dict[str, str] | None = None, **kwargs):
    """function(*args, **kwargs). If it raises, print the error and raise an AssertionError with
    the meaning `explain` gives for the exception's type (a name of it or of a base class, such
    as "IndexError" or "TypeError"; the first that applies), else a general meaning."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as error:  # a learner's code may raise anything
        name = getattr(function, "__name__", "your function")
        print(f"{name} raised {type(error).__name__}: {error}")
        raise AssertionError(meaning(error, explain or {})) from None


def meaning(error: Exception, explain: dict[str, str]) -> str:
    """The first meaning in `explain`, then in GENERAL_MEANINGS, that names the type of `error`
    or one of its base classes."""
    names = {cls.__name__ for cls in type(error).__mro__}
    for table in (explain, GENERAL_MEANINGS):
        for name, text in table.items():
            if name in names:
                return text
    return f"your code raised {type(error).__name__}: read its message above"
