"""What the chapters' self-checks share: calling a learner's function the way the grader does.

A self-check calls the learner's function through `call`, which

- returns the function's value as the grader reads it (autograder.protocol.as_graded): fresh
  numpy arrays and Python numbers (a numpy scalar is the number it holds), so a check judges
  exactly what the grader compares, and an object that is not plain data (an ndarray subclass,
  a masked array, an array of objects, a float whose `==` always says yes) fails the check
  with a message saying what to return instead (the grader reads the numbers of some of these,
  but a hidden case may check the type, so the check asks for the plain form), a lazy iterable
  (protocol.LazyData: a generator from `yield` or (x for x in ...), map, zip, filter, any
  iterator, or a range, a dict's view, a set) fails naming it and asking for a list (LAZY,
  NOT_A_CONTAINER; the grader refuses it too), and numbers in
  a narrow numpy type (uint8, int16, float16, any unsigned one: protocol.narrow), which hold a
  check's small numbers and wrap round or round the grader's larger ones, fail saying which
  numbers the type holds and what to return instead, and a value beyond the protocol's bounds
  (protocol.TooLarge: an int of thousands of digits; more items than the grader reads, or, in a
  value the check may show as it is rather than as an array of floats, more than MAX_SHOWN),
  which a check's message that shows it would run to megabytes, fails saying so. Reading the
  value may run the learner's code (a class's own `__class__`, a metaclass's attributes) or
  cost far more than its size (an array broadcast to terabytes, a list of aliased halves): it
  is read within the time limit too, and a value that cannot be read fails the same way;
- runs the function (and reads its value) with the process-wide settings the checks and the
  rest of the notebook rely on put back after it (course_lib.kernel_state: numpy's error
  handling and print options, the working directory, the standard streams, the warnings
  filters, the recursion limit, the random streams...), and with exit() and quit() raising
  SystemExit rather than shutting the learner's kernel down once the cell ends;
- stops a function that runs longer than TIME_LIMIT seconds (an endless loop, a `sleep`, even
  one inside a bare `except:` that catches the limit's exception: course_lib.time_limits), and
  shows at most MAX_OUTPUT characters of what it prints (the grader keeps as many per cell);
- turns an error the function raises (SystemExit too: exit() ends no check; a KeyboardInterrupt,
  the learner stopping the cell, stops it) into an AssertionError that says what it usually
  means in this exercise, instead of numpy's bare message (which is printed above it, cut to
  MAX_PRINTED characters); Python's "unhashable type" TypeError (a list or array as a dict
  key, or given to a function under @functools.lru_cache) gets UNHASHABLE, before the check's
  meaning of a TypeError. The check states the meanings, one per exception type, as literal
  text: the grader shows a failed check's message on the feedback page only when it is the
  check's own text or one of MESSAGES, this module's. An exception the check does not explain
  gets a general meaning. NotImplementedError (the exercise is not solved yet) passes unchanged;
- fails a function that reads, as a global, a name the running check cell binds for its
  example (course_lib.cell_globals): it would see the check's example instead of its
  argument, and the grader's own inputs would go unread; or whose own cell binds that name
  too (a helper or constant the check cell replaced), saying so;
- notices a numpy, course_lib or built-in function replaced by the learner's code (checks use
  them), puts it back and fails, so no check passes because its tools were changed;
- with `floats=True`, gives the check a float64 array, or fails saying what to return, so that
  no check raises numpy's own error on a value of an odd shape or type;
- with `ids=True` (an exercise that returns token ids), fails a value holding anything but
  ints and integer arrays, saying what: a float or a bool equals an int in a check's `==`, but
  a tokenizer raises its own error on it (a check that decodes the ids), and True is no id;
- fails when the function changed the data it was given (an array, list or dict argument, at
  any depth): a check's expected values may share that data, and the grader's inputs are its
  own, so a function that works in place could pass a check that the grader fails;
- fails when the function changed the value it returned at the call before (a list or array it
  keeps between calls and fills again, a module-level cache): each check reads a value when it
  is returned, but a hidden case that holds two results at once, [f(a), f(b)], sees the last
  one twice.

`passed(what)` prints a check's last line, which says what a self-check cannot see: the grader
runs the function on inputs of its own, and without course_lib's version of the exercise.

>>> call(lambda tokens: tokens[5], [1, 2, 3],
...      explain={"IndexError": "read past the end of the tokens: an off-by-one in the range?"})
Traceback (most recent call last):
    ...
AssertionError: read past the end of the tokens: an off-by-one in the range?
>>> type(call(lambda: np.float32(0.5)))
<class 'float'>
"""

from __future__ import annotations

import contextlib
import sys
from types import FunctionType, ModuleType

import numpy as np

from autograder.protocol import (
    MAX_ITEMS,
    MAX_SHOWN,
    LazyData,
    NarrowNumbers,
    NotPlainData,
    TooLarge,
    as_graded,
    class_names,
)
from course_lib.cell_globals import borrowed_global
from course_lib.kernel_state import kept_as_found
from course_lib.time_limits import TimeLimitExceeded, time_limit

TIME_LIMIT = 10.0  # seconds one call of a learner's function may run (the grader's cell: 20 s)
MAX_PRINTED = 1_000  # characters of an error's own message printed above the check's
MAX_OUTPUT = 20_000  # characters a learner's function prints (stdout and stderr) shown, per call

# What an exception raised in an exercise usually means, when the check says nothing about it.
GENERAL_MEANINGS = {
    "IndexError": "an index ran past the end of a list or array: check the range of your loop "
                  "and the positions you read (an off-by-one?)",
    "ValueError": "an array has a shape or value the operation cannot take: print the shapes",
    "TypeError": "a value has the wrong type: a list where an array is needed (np.asarray), "
                 "or None from a function that forgot to return its result?",
    "ZeroDivisionError": "a division by zero: which total can be 0 here?",
    "KeyError": "a dictionary has no entry for this key",
    "RecursionError": "your function calls itself without end: which call should stop the "
                      "recursion?",
    "MemoryError": "your code ran out of memory: does it build an array far larger than its "
                   "input (an outer product, a table of every pair)?",
    "SystemExit": "your function called exit() or sys.exit(), which ends a program: a function "
                  "hands back its result with `return`",
    "InputRequested": "your function asked for input (input(), or a debugger such as "
                      "pdb.set_trace(), which reads its commands with it), which a check cannot "
                      "give: a function gets its values as arguments. Debug it in a cell of its "
                      "own, outside the check",
}
NOT_PLAIN = ("your function's value holds {kind}, which is not plain data: return plain "
             "values, numbers, lists, tuples and numpy arrays of numbers (np.asarray(...) turns "
             "an array-like into a plain numpy array)")
NOT_NUMBERS = ("your function returned {kind}, not an array of numbers: return a numpy array "
               "of numbers, of the shape the exercise states")
NO_VALUE = "your function returned None: does it end with `return` and its result?"
TOO_SLOW = (f"your function ran for more than {TIME_LIMIT:g} s on a small input and was "
            "stopped: an endless loop (a while loop whose condition never changes?)")
REPLACED = ("your code replaced {names}: the checks use numpy's, course_lib's and Python's own "
            "functions, so they were put back. Leave the libraries' names alone")
UNEXPLAINED = "your code raised {kind}: read its message above"
CHANGED_INPUT = ("your function changed its {argument} argument, the caller's data, in place: "
                 "work on a copy (x = x.copy(), or z - z.max() rather than z -= z.max())")
NARROW = ("your function's value has numbers of type {type}, which {holds}: numpy wraps round "
          "(or rounds) what does not fit without a word, so code right on these small examples "
          "goes wrong on larger ones. Keep integers in int64 and reals in float64 "
          "(np.asarray(x, dtype=np.int64), dtype=np.float64)")
NOT_IDS = ("your function returned {kind} among its token ids: a token id is an int, so convert "
           "each with int(...) (3.0 and True compare equal to the ids 3 and 1, but a tokenizer "
           "refuses them)")
TOO_LARGE = ("your function's value holds {kind}, far more than this exercise's answer: a loop "
             "that goes on appending? Return the value the exercise states")
REUSED = ("your function changed the value it had returned before when it ran again: it hands "
          "out a list or array that it keeps between calls and fills again (a module-level "
          "cache?), so a caller that holds two of its results sees the last one twice. Build a "
          "new list or array on each call")
READS_CHECK_GLOBAL = ("your function reads the global name `{name}`, which this check cell sets "
                      "for its own example: the grader calls your function with inputs of its "
                      "own, where `{name}` is not what it was given. Use the function's "
                      "parameters (is one of them spelt differently from the name the body "
                      "uses?)")
REPLACED_BY_CHECK = ("this check cell sets `{name}` for its own example, which replaces the "
                     "`{name}` your code defines and uses: give yours another name (and run "
                     "its cell again)")
LAZY = ("your function's value holds {kind}, an iterator: it hands out its items one at a time, "
        "and only once (`yield` where `return` was meant, a generator expression (x for x in "
        "...), map(...), zip(...), filter(...)), so it holds no data the grader can read. Return "
        "the items themselves: a list (list(...) of it) or a numpy array (np.asarray(list(...)))")
NOT_A_CONTAINER = ("your function's value holds {kind}, an iterable but not a list, tuple, dict "
                   "or numpy array, which are what the grader reads (a range, a dict's .keys(), "
                   ".values() or .items(), a set): return list(...) of it (sorted(...) of a "
                   "set), or np.asarray(...) of numbers")
UNHASHABLE = ("your code used {kind} where Python needs a value it can hash, which a list, dict "
              "or array is not (it can change): as a dict key, an item of a set, or an argument "
              "of a function cached with @functools.lru_cache or @functools.cache (the cache "
              "keys on its arguments, and the checks pass arrays and lists). Remove the cache "
              "decorator, or key on tuple(...) of the values")
# what NOT_PLAIN names when reading the value ran the learner's code, which raised or did not end,
# or found more data than can be read within the time limit
UNREADABLE = ("an object that cannot be read as data (its class's own code raised or never "
              "returned, or it holds far more data than it seems to)")
# Every message `call` can fail with, each a str.format template: the grader shows a failed
# check's message only when it is the check's own text or one of these (its fields as "…").
MESSAGES = (*GENERAL_MEANINGS.values(), NOT_PLAIN, NOT_NUMBERS, NO_VALUE, TOO_SLOW, REPLACED,
            UNEXPLAINED, CHANGED_INPUT, NARROW, REUSED, NOT_IDS, TOO_LARGE, READS_CHECK_GLOBAL,
            REPLACED_BY_CHECK, LAZY, NOT_A_CONTAINER, UNHASHABLE)


def call(function, *args, explain: dict[str, str] | None = None, floats: bool = False,
         ids: bool = False, in_place: str | None = None, **kwargs):
    """function(*args, **kwargs), read as the grader reads it (see the module's docstring); with
    `floats`, as a float64 numpy array (a check that computes with the value), or an
    AssertionError if it is not an array or list of numbers; with `ids`, an AssertionError if
    it holds anything but ints and integer arrays (NOT_IDS). If the function raises, print the
    error and raise an AssertionError with the meaning `explain` gives for the exception's type
    (a name of it or of a base class, such as "IndexError" or "TypeError"; the first that
    applies), else a general meaning. If the function changed the data it was given, raise an
    AssertionError with `in_place` (what that means in this exercise), else CHANGED_INPUT; if
    it changed the value the call before returned, REUSED."""
    name = _name_of(function)
    library_untouched()
    borrowed = borrowed_global(function, sys._getframe(1))
    if borrowed is not None:
        message = REPLACED_BY_CHECK if borrowed.replaces_learner_s else READS_CHECK_GLOBAL
        raise AssertionError(message.format(name=borrowed.name))
    given = {**dict(enumerate(args)), **kwargs}  # position or keyword -> argument
    before = {where: _data_copy(argument) for where, argument in given.items()}
    earlier = _RETURNED[-1] if _RETURNED else None
    earlier_copy = _data_copy(earlier)  # as it is now: only this run of the function may change it
    try:
        with kept_as_found(), bounded_output(MAX_OUTPUT), time_limit(TIME_LIMIT):
            value = function(*args, **kwargs)
    except NotImplementedError:
        raise
    except TimeLimitExceeded:
        raise AssertionError(TOO_SLOW) from None
    except KeyboardInterrupt:  # the learner stopping the cell (or the grader's time-out)
        raise
    except BaseException as error:  # a learner's code may raise anything, exit() too
        print(f"{name} raised {_describe(error)}")
        raise AssertionError(meaning(error, explain or {})) from None
    finally:
        library_untouched()
    for where, argument in given.items():
        if not _still(before[where], argument):
            which = f"{where + 1}{_ORDINAL_ENDINGS.get(where + 1, 'th')}" \
                if isinstance(where, int) else f"`{where}`"  # fmt: skip
            raise AssertionError(in_place or CHANGED_INPUT.format(argument=which))
    if not _still(earlier_copy, earlier):
        raise AssertionError(REUSED)
    returned = value
    try:
        with kept_as_found(), time_limit(TIME_LIMIT):
            # a value the check turns into an array (floats) may be as large as the grader reads
            # (numpy shows a large one summarised); one it may show as it is: MAX_SHOWN items
            value = as_graded(value, exact=True, items=MAX_ITEMS if floats else MAX_SHOWN)
    except NarrowNumbers as error:
        raise AssertionError(NARROW.format(type=error.dtype, holds=_holds(error.dtype))) from None
    except TooLarge as error:  # its message names the bound
        raise AssertionError(TOO_LARGE.format(kind=error)) from None
    except LazyData as error:  # its message names the type
        raise AssertionError((LAZY if error.iterator else NOT_A_CONTAINER).format(kind=error)) \
            from None
    except NotPlainData as error:  # its message names the part that is not plain data
        raise AssertionError(NOT_PLAIN.format(kind=error)) from None
    except (Exception, TimeLimitExceeded):  # its own code raised, or it is too large to read
        raise AssertionError(NOT_PLAIN.format(kind=UNREADABLE)) from None
    _RETURNED[:] = [returned]  # plain data, read within the time limit: copied at the next call
    return as_floats(value) if floats else as_ids(value) if ids else value


def as_floats(value):
    """A plain value as a float64 numpy array; an AssertionError saying what to return instead
    if it is not an array (or list) of numbers: None among them (numpy would read it as NaN),
    or an int too large for a float, is not."""
    if value is None:
        raise AssertionError(NO_VALUE)
    if _holds_none(value):
        raise AssertionError(NOT_NUMBERS.format(kind="None among its numbers"))
    try:
        return np.asarray(value, dtype=np.float64)
    except OverflowError:
        raise AssertionError(NOT_NUMBERS.format(kind="a number too large for a float")) from None
    except (TypeError, ValueError):
        raise AssertionError(NOT_NUMBERS.format(kind=_kind_of(value))) from None


def as_ids(value):
    """A plain value of token ids, as it is; an AssertionError saying what to return instead if
    it holds anything but ints and integer arrays (in lists, tuples and dicts)."""
    if value is None:
        raise AssertionError(NO_VALUE)
    kind = _not_an_id(value)
    if kind:
        raise AssertionError(NOT_IDS.format(kind=kind))
    return value


_ORDINAL_ENDINGS = {1: "st", 2: "nd", 3: "rd"}
_NOT_COMPARED = object()  # an argument that is not data (a model, a tokenizer, a function)
_RETURNED: list = []  # the learner's own object that call last read as a value (at most one)


def _data_copy(argument):
    """A copy of the data an argument holds, to compare after the call: numpy arrays of
    numbers, bools or text, the lists, tuples and dicts that hold them, and Python's immutable
    values; _NOT_COMPARED for anything else (a model, a tokenizer, a function: its own code
    decides what a change is)."""
    if type(argument) is np.ndarray:
        return argument.copy() if argument.dtype.kind in "biufcSU" else _NOT_COMPARED
    if type(argument) in (list, tuple):
        return type(argument)(_data_copy(item) for item in argument)
    if type(argument) is dict:
        return {key: _data_copy(item) for key, item in argument.items()}
    if type(argument) in (int, float, complex, str, bytes, bool, type(None)) or \
            isinstance(argument, np.generic):  # fmt: skip
        return argument
    return _NOT_COMPARED


def _unchanged(copy, argument) -> bool:
    """True if `argument` still holds what `_data_copy` copied (NaN equal to NaN). Types are
    compared first, so only numpy's and Python's own code runs, never the learner's."""
    if copy is _NOT_COMPARED:
        return True
    if type(argument) is not type(copy):
        return False
    if type(copy) is np.ndarray:
        return argument.shape == copy.shape and argument.dtype == copy.dtype and \
            np.array_equal(argument, copy, equal_nan=copy.dtype.kind in "fc")  # fmt: skip
    if type(copy) in (list, tuple):
        return len(argument) == len(copy) and all(map(_unchanged, copy, argument))
    if type(copy) is dict:
        return argument.keys() == copy.keys() and all(_unchanged(copy[k], argument[k])
                                                      for k in copy)  # fmt: skip
    return bool(argument == copy or (argument != argument and copy != copy))  # NaN


def _still(copy, data) -> bool:
    """True if `data` still holds what `_data_copy` copied; False too when comparing raised (a
    dict key the learner's code put in, whose own == raised)."""
    try:
        return _unchanged(copy, data)
    except Exception:  # noqa: BLE001 - a learner's key may raise anything
        return False


def _not_an_id(value) -> str | None:
    """What in a plain value is no token id ("a float", "an array of float64"), or None when it
    holds only ints and integer arrays (in lists, tuples and dicts)."""
    if type(value) in (list, tuple):
        return next(filter(None, map(_not_an_id, value)), None)
    if type(value) is dict:
        return _not_an_id(list(value.values()))
    if type(value) is np.ndarray:
        return None if value.dtype.kind == "i" else f"an array of {value.dtype}"
    return None if type(value) is int else "None" if value is None else _kind_of(value)


def _holds_none(value) -> bool:
    """True if a plain value is None or a list or tuple holding None at any depth."""
    return value is None or type(value) in (list, tuple) and any(map(_holds_none, value))


def passed(what: str) -> None:
    """Print the last line of a check that passed: `what` ("Exercise 1.1") and what a self-check
    cannot see."""
    print(f"{what}: all visible checks passed. The grader also runs your code on inputs of its "
          "own, and without course_lib's version of the exercise: code right only on these "
          "examples, or calling course_lib's version, loses the points.")


def meaning(error: Exception, explain: dict[str, str]) -> str:
    """The first meaning in `explain`, then in GENERAL_MEANINGS, that names the type of `error`
    or one of its base classes; UNHASHABLE, before them, for Python's own TypeError on a value
    that cannot be hashed (a list or array as a dict key, or as the argument of a cached
    function: a check's meaning of TypeError is about another mistake)."""
    unhashable = _unhashable(error)
    if unhashable:
        return UNHASHABLE.format(kind=unhashable)
    names = set(class_names(error))
    for table in (explain, GENERAL_MEANINGS):
        for name, text in table.items():
            if name in names:
                return text
    return UNEXPLAINED.format(kind=class_names(error)[0])


class _Budget:
    """How many characters may still be shown, and how many were written in all."""

    def __init__(self, limit: int):
        self.limit, self.written = limit, 0


class _BoundedStream:
    """A stream that passes on what is written to it while its budget lasts (a budget the
    standard output and the standard error share) and counts the rest."""

    def __init__(self, stream, budget: _Budget):
        self.stream, self.budget = stream, budget

    def write(self, text) -> int:
        text = str(text)
        room = self.budget.limit - self.budget.written
        if room > 0:
            self.stream.write(text[:room])
        self.budget.written += len(text)
        return len(text)

    def __getattr__(self, name):  # flush, encoding, isatty, ...: the stream's own
        return getattr(self.stream, name)


@contextlib.contextmanager
def bounded_output(limit: int):
    """Inside the block, what is printed, to the standard output and the standard error (an
    error's or a warning's text) together, shows up to `limit` characters; then one line says
    how many more there were."""
    budget = _Budget(limit)
    try:
        with contextlib.redirect_stdout(_BoundedStream(sys.stdout, budget)), \
                contextlib.redirect_stderr(_BoundedStream(sys.stderr, budget)):  # fmt: skip
            yield
    finally:
        if budget.written > limit:
            print(f"… ({budget.written - limit:,} more characters of output not shown)")


# The modules whose functions the checks use, as they were when first seen (at the setup
# cells' import of this module, or at the first check after a module was imported); of the
# built-ins, not those a notebook's kernel itself rebinds for each cell (input and the like).
WATCHED_MODULES = ("numpy", "course_lib", "builtins")
KERNEL_REBINDS = frozenset({"input", "breakpoint", "help", "exit", "quit"})
_ORIGINALS: dict[str, dict] = {}
_MISSING = object()


def library_untouched() -> None:
    """Fail, after putting them back, if the functions of numpy, course_lib or Python's
    built-ins were replaced since first seen (a name bound to another object, or removed)."""
    replaced = []
    for module_name, module in list(sys.modules.items()):
        if type(module) is not ModuleType or module_name.partition(".")[0] not in WATCHED_MODULES:
            continue  # None, or whatever else a learner's code put there, holds no library
        original = _ORIGINALS.setdefault(module_name, dict(vars(module)))
        current = vars(module)
        for attribute, value in original.items():
            if (current.get(attribute, _MISSING) is not value and callable(value)
                    and attribute not in KERNEL_REBINDS):
                setattr(module, attribute, value)
                replaced.append(f"{module_name}.{attribute}")
    if replaced:
        shown = ", ".join(replaced[:3]) + (f" and {len(replaced) - 3} more"
                                           if len(replaced) > 3 else "")
        raise AssertionError(REPLACED.format(names=shown))



def _name_of(function) -> str:
    """A function's name; "your function" for any other callable (reading its name could run
    the learner's code)."""
    return function.__name__ if type(function) is FunctionType else "your function"


def _holds(dtype: np.dtype) -> str:
    """What a narrow numpy number type holds, in words: its range, or its digits."""
    if dtype.kind == "f":
        return f"keeps only {np.finfo(dtype).precision} significant digits (the checks compare 5)"
    info = np.iinfo(dtype)
    unsigned = " (none below 0: 0 - 1 wraps round to the largest)" if dtype.kind == "u" else ""
    return f"holds only the integers {info.min:,} .. {info.max:,}{unsigned}"


def _unhashable(error: BaseException) -> str | None:
    """"a numpy.ndarray" when `error` is Python's TypeError "unhashable type: 'numpy.ndarray'"
    (hashing a list, dict, set or array); None otherwise. Only the built-in TypeError's message
    is read: reading a learner's exception's message could run their code."""
    if type(error) is not TypeError or len(error.args) != 1 or type(error.args[0]) is not str:
        return None
    prefix, _, kind = error.args[0].partition(": ")
    return f"a {kind.strip(chr(39))}" if prefix == "unhashable type" and kind else None


def _kind_of(value) -> str:
    """A learner-readable name of what a value is, e.g. "a MaskedArray"."""
    return f"a {type(value).__name__}"


def _describe(error: BaseException) -> str:
    """"Name: message" of an exception, its message cut to MAX_PRINTED characters (reading it
    runs the learner's code, which may fail: then the name alone)."""
    try:
        with time_limit(1.0):
            message = str(error)
    except BaseException:  # noqa: BLE001 - a learner's __str__ may raise anything
        message = "(its message could not be read)"
    if len(message) > MAX_PRINTED:
        message = f"{message[:MAX_PRINTED]}… ({len(message) - MAX_PRINTED:,} more characters)"
    return f"{class_names(error)[0]}: {message}"


library_untouched()  # the modules as the setup cells imported them
