"""The protocol between the student's kernel and the grader: the one module both sides import.

- GRADING_ENV: the environment variable set to "1" inside the sandbox; `hidden_cases` then sends
  its values to the grader instead of checking them itself.
- HIDDEN_MIME: the MIME type of the display message that carries one `hidden_cases` report.
- The report: `{"name": str, "cases": [{"value": plain data} or {"error": str}, ...]}` (built by
  `hidden_report`, validated by `read_report`).
- Plain data as JSON: None, bool, int, float, str, lists and (named) tuples, dicts with string keys,
  numpy scalars of booleans, numbers and text (each the Python value it holds, a longdouble's
  rounded to a float), numpy arrays of booleans or numbers of any shape and memory layout (a
  0-d array stays 0-d; an array of a numpy subclass, a matrix
  or a masked array with nothing masked, as its numbers; an array of Python objects as the list
  of its items, each plain data). Anything else (including other subclasses, such as a float
  whose `__eq__` always returns True) is refused. Decoding builds fresh built-in
  objects and numpy arrays from the JSON, so nothing a student defines can reach the grader: a
  numpy scalar arrives as the Python number it holds, a named tuple as a plain tuple.
- `as_graded(value)`: a value as the grader reads it, in the kernel's own process (the
  self-checks of course_lib.exercises check exactly what the grader will compare, `exact`: they
  ask for the plain forms themselves, not the subclasses and object arrays read generously, and
  numbers in the numpy types the exercises compute with, not in a narrow type, NarrowNumbers).
- Bounds, far above any answer's size (TooLarge): an int of at most MAX_INT_DIGITS digits (JSON
  text carries no more, nor does Python's str by default), at most MAX_NUMBERS numbers in the
  arrays of one value, at most MAX_ITEMS items in its lists, tuples and dicts and arrays
  (a self-check reading a value it may show in its message as it is asks for MAX_SHOWN: numpy
  shows an array of more than 1,000 numbers summarised, a list in full). Each is counted
  before the part is read, so a value costs at most its bound's reading (about a second),
  however large it is or seems.

>>> decode(encode([1, 2.5, "a", None]))
[1, 2.5, 'a', None]
>>> decode(encode(np.arange(3)))
array([0, 1, 2])
>>> decode(encode((np.float32(0.5), [1])))
(0.5, [1])
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

import numpy as np

GRADING_ENV = "LLMF_GRADING"
HIDDEN_MIME = "application/vnd.llmf.hidden-cases+json"
ARRAY_KINDS = "biuf"  # bool, signed int, unsigned int, float
SCALAR_KINDS = ARRAY_KINDS + "U"  # and numpy's scalar of text, np.str_
# The tolerances of a hidden case unless its call gives others: np.allclose's own, which the
# visible checks use, so that the checks and the grader accept the same rounding.
DEFAULT_RTOL, DEFAULT_ATOL = 1e-5, 1e-8
MAX_DEPTH = 32
MAX_INT_DIGITS = 4_000  # digits of an int (Python's str and JSON's text refuse more than 4,300)
MAX_NUMBERS = 500_000  # numbers in the arrays of one value (4 MB of float64, 5.3 MB as JSON)
MAX_ITEMS = 100_000  # items in the lists, tuples and dicts of one value, and arrays (a second)
MAX_SHOWN = 1_000  # the same, for a value a self-check's message may show as it is
_INT_BOUND = 10**MAX_INT_DIGITS


class NotPlainData(TypeError):
    """Raised when a value is not plain data (the message names the offending type)."""


class NarrowNumbers(NotPlainData):
    """Raised, when reading `exact`ly, for numpy numbers of a narrow type (`narrow`): integers
    of fewer than 32 bits or unsigned, floats of fewer than 32 bits. Such a type holds a small
    example's numbers but wraps round (or rounds) larger ones without a word, so an answer in it
    can pass a self-check and fail the grader's larger inputs. `dtype` is the type."""

    def __init__(self, dtype: np.dtype):
        super().__init__(f"numbers of the narrow type {dtype}")
        self.dtype = dtype


class LazyData(NotPlainData):
    """Raised for an iterable that is not a container the grader reads (`lazy`): an iterator,
    which hands out its items on demand and only once (a generator, map, zip, filter, a list's
    iterator, a class with __next__), or another iterable (a range, a dict's view, a set).
    `iterator` says which; the message names the type."""

    def __init__(self, kind: type, iterator: bool):
        module = type.__dict__["__module__"].__get__(kind)
        name = type.__dict__["__qualname__"].__get__(kind)
        super().__init__(f"a {name}" if module == "builtins" else f"a {module}.{name}")
        self.iterator = iterator


class TooLarge(NotPlainData):
    """Raised for a value beyond the protocol's bounds (see the module's docstring): a number
    of more digits, or more numbers or items, than any answer of the course holds. Such a value
    would cost the kernel its memory or time to read and send, and a self-check's message that
    shows it would run to megabytes. The message says which bound."""


class _Budget:
    """What one reading of a value may still take: items of lists, tuples and dicts, and
    numbers of arrays; `take` raises TooLarge once either is spent."""

    def __init__(self, items: int):
        self.limit = items
        self.items, self.numbers = items, MAX_NUMBERS

    def take(self, items: int = 0, numbers: int = 0) -> None:
        self.items -= items
        self.numbers -= numbers
        if self.items < 0:
            raise TooLarge(f"more than {self.limit:,} items in its lists, tuples, dicts and "
                           "arrays")
        if self.numbers < 0:
            raise TooLarge(f"more than {MAX_NUMBERS:,} numbers in its arrays")


def narrow(dtype: np.dtype) -> bool:
    """True for a numpy number type narrower than the exercises' numbers need: an unsigned
    integer (no token id or count needs one, and 0 - 1 wraps round to its largest value), an
    integer of fewer than 32 bits (int8, int16: a vocabulary's ids do not fit), a float of fewer
    than 32 bits (float16: 3 significant digits, where the checks compare 5)."""
    return dtype.kind == "u" or dtype.kind in "if" and dtype.itemsize < 4


def _exact_numpy_scalar(value) -> bool:
    return (
        isinstance(value, np.generic)
        and np.dtype(type(value)).type is type(value)
        and np.dtype(type(value)).kind in SCALAR_KINDS
    )


def to_jsonable(value, depth: int = 0, exact: bool = False, budget: _Budget | None = None):
    """Turn plain data into JSON-compatible structures; raise NotPlainData otherwise, TooLarge
    beyond the bounds (`budget`: what this reading may still take, a new one of MAX_ITEMS items
    at the top). `exact` refuses what the grader reads generously (an array of a numpy
    subclass, a masked array with nothing masked, an array of Python objects) as well, and
    numbers of a narrow numpy type (NarrowNumbers)."""
    if depth > MAX_DEPTH:
        raise NotPlainData(f"data nested deeper than {MAX_DEPTH} levels")
    if budget is None:
        budget = _Budget(MAX_ITEMS)
    kind = type(value)
    if kind is int and not -_INT_BOUND < value < _INT_BOUND:
        raise TooLarge(f"an int of more than {MAX_INT_DIGITS:,} digits")
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if _exact_numpy_scalar(value):  # the Python value it holds; a longdouble holds none
        if exact and narrow(np.dtype(kind)):
            raise NarrowNumbers(np.dtype(kind))
        item = value.item()
        return to_jsonable(float(item) if type(item) is kind else item, depth + 1, exact, budget)
    if kind is list:
        budget.take(items=len(value))
        return [to_jsonable(item, depth + 1, exact, budget) for item in value]
    if kind is tuple or isinstance(value, tuple) and hasattr(kind, "_fields"):  # a named tuple:
        budget.take(items=tuple.__len__(value))
        items = tuple.__iter__(value)  # its items, read by tuple's own iterator
        return {"__tuple__": [to_jsonable(item, depth + 1, exact, budget) for item in items]}
    if kind is dict:
        budget.take(items=len(value))
        if not all(type(key) is str for key in value):
            raise NotPlainData("a dict with non-string keys")
        return {"__dict__": {key: to_jsonable(item, depth + 1, exact, budget)
                             for key, item in value.items()}}
    if isinstance(value, np.ndarray) and kind is not np.ndarray:  # a matrix, a masked array
        if np.ma.is_masked(value):
            raise NotPlainData("a masked array with masked values")
        if exact:
            raise NotPlainData("a masked array" if isinstance(value, np.ma.MaskedArray)
                               else f"an array of a numpy subclass ({kind.__qualname__})")
        return to_jsonable(np.ndarray.view(np.ma.getdata(value), np.ndarray), depth, exact,
                           budget)
    if kind is np.ndarray:
        budget.take(items=1, numbers=value.size)
        if value.dtype.kind == "O":  # numbers held as Python objects
            if exact:
                raise NotPlainData("a numpy array of Python objects")
            return to_jsonable(value.tolist(), depth, exact, budget)
        if value.dtype.kind not in ARRAY_KINDS:
            raise NotPlainData(f"a numpy array of dtype {value.dtype}")
        if exact and narrow(value.dtype):
            raise NarrowNumbers(value.dtype)
        return {
            "__array__": {
                "dtype": value.dtype.str,
                "shape": list(value.shape),
                "data": base64.b64encode(value.tobytes(order="C")).decode("ascii"),
            }
        }
    lazy = lazy_kind(kind)
    if lazy is not None:
        raise LazyData(kind, iterator=lazy == "iterator")
    raise NotPlainData(f"a {kind.__module__}.{kind.__qualname__}")


# the containers the grader reads in their plain form: their subclasses are refused as such
_READ_CONTAINERS = (str, bytes, list, tuple, dict, np.ndarray, np.generic)


def lazy_kind(kind: type) -> str | None:
    """"iterator" for a type with __next__ (a generator, map, zip, filter, a list's iterator,
    a class of the learner's), "iterable" for one with __iter__ only (a range, a dict's view,
    a set), None for any other, and for the containers the grader reads and their subclasses.
    Read through `type`'s own descriptors: no code of the learner's class runs."""
    bases = type.__dict__["__mro__"].__get__(kind)
    if any(base in _READ_CONTAINERS for base in bases):
        return None
    names = set().union(*(type.__dict__["__dict__"].__get__(base) for base in bases))
    if "__next__" in names:
        return "iterator"
    return "iterable" if "__iter__" in names else None


def class_names(value) -> list[str]:
    """The names of `value`'s class and of its bases, nearest first, read through `type`'s own
    descriptors: a learner's metaclass can make `type(value).__name__` or `.__mro__` run any
    code (raise, never return), these no code of theirs.

    >>> class_names(KeyError())[:3]
    ['KeyError', 'LookupError', 'Exception']
    """
    bases = type.__dict__["__mro__"].__get__(type(value))
    return [type.__dict__["__name__"].__get__(base) for base in bases]


def encode(value) -> str:
    """JSON text for a plain-data value (raises NotPlainData for anything else)."""
    return json.dumps(to_jsonable(value), allow_nan=False)


def from_jsonable(obj, depth: int = 0):
    """Rebuild a value from `to_jsonable` output, validating every part; raise ValueError."""
    if depth > MAX_DEPTH:
        raise ValueError("payload nested too deeply")
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if type(obj) is list:
        return [from_jsonable(item, depth + 1) for item in obj]
    if type(obj) is dict and len(obj) == 1:
        (tag, body), = obj.items()
        if tag == "__float__" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "__tuple__" and type(body) is list:
            return tuple(from_jsonable(item, depth + 1) for item in body)
        if tag == "__dict__" and type(body) is dict:
            return {str(key): from_jsonable(item, depth + 1) for key, item in body.items()}
        if tag == "__array__" and type(body) is dict:
            return _array_from(body)
    raise ValueError(f"malformed payload element: {str(obj)[:80]}")


def _array_from(body: dict) -> np.ndarray:
    dtype = np.dtype(str(body.get("dtype")))
    shape = tuple(int(n) for n in body.get("shape", ()))
    if dtype.kind not in ARRAY_KINDS or any(n < 0 for n in shape):
        raise ValueError(f"bad array payload: dtype {dtype}, shape {shape}")
    raw = base64.b64decode(str(body.get("data", "")), validate=True)
    count = math.prod(shape)
    if len(raw) != count * dtype.itemsize:
        raise ValueError("array payload has the wrong number of bytes for its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(text: str):
    """Parse JSON text made by `encode` into fresh built-in objects and numpy arrays."""
    return from_jsonable(json.loads(text))


def as_graded(value, exact: bool = False, items: int = MAX_ITEMS):
    """`value` as the grader reads it: fresh built-in objects and numpy arrays, each numpy
    scalar the Python number it holds; NotPlainData (naming the type) for anything that is not
    plain data. `exact` (the self-checks') refuses the arrays the grader reads generously too,
    since a hidden case may check a value's type: a self-check never passes what it fails; and
    numbers of a narrow type (NarrowNumbers), right on a check's small inputs and wrapped round
    or rounded on the grader's larger ones. `items`: the bound on the value's items (TooLarge
    beyond it), MAX_SHOWN for a value a self-check may show as it is."""
    return from_jsonable(to_jsonable(value, exact=exact, budget=_Budget(items)))


def hidden_report(name: str, cases: list[dict]) -> dict:
    """The body of one hidden-cases message (built in the kernel, sent as HIDDEN_MIME)."""
    return {"name": name, "cases": cases}


@dataclass(frozen=True)
class CaseError:
    """A hidden case that gave no value (it raised, or returned something not plain data)."""

    why: str


@dataclass(frozen=True)
class Report:
    """One hidden-cases message read by the grader: each case a fresh value or a CaseError."""

    name: str
    cases: tuple


def read_report(body) -> Report:
    """Validate and decode a hidden-cases message body; raise ValueError if it is malformed."""
    if type(body) is not dict or type(body.get("name")) is not str:
        raise ValueError("a hidden-cases message without a name")
    cases = body.get("cases")
    if type(cases) is not list:
        raise ValueError("a hidden-cases message with malformed cases")
    decoded = []
    for case in cases:
        if type(case) is dict and "value" in case:
            try:
                decoded.append(from_jsonable(case["value"]))
            except (ValueError, TypeError, OverflowError):
                decoded.append(CaseError("the answer could not be read as plain data"))
        else:
            error = case.get("error") if type(case) is dict else None
            decoded.append(CaseError(error if type(error) is str else "failed"))
    return Report(body["name"], tuple(decoded))
