"""Input checks shared by the public entry points: one helper per kind of check.

Each helper returns the checked value in the form the caller works with, or raises an error that
says what was wrong and what was expected. They run where input arrives (a public function or
method), never again in the internal calls that follow.

>>> check_int(3, "n_layer")
3
>>> check_token_ids([[1, 2, 3]], vocab_size=5).shape
(1, 3)
"""

from __future__ import annotations

import numpy as np


def check_int(value, name: str, minimum: int | None = 1) -> int:
    """`value` as a Python int; TypeError unless it is an int (not a bool), ValueError if it is
    below `minimum` (None: no lower bound, for callers with their own range message).

    >>> check_int(0, "batch_size")
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive int, got 0
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        expected = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {expected}, got {value}")
    return int(value)


def check_type(value, kind: type, name: str, how: str = ""):
    """`value` itself if it is a `kind`, else a TypeError naming what it is instead (`how`:
    where a right one comes from).

    >>> check_type(b"hi", str, "text")
    Traceback (most recent call last):
    ...
    TypeError: text must be a str, got bytes
    """
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__}{how}, got {type(value).__name__}")
    return value


def check_token_ids(ids, vocab_size: int | None, name: str = "token ids",
                    ndim: tuple | None = (1, 2), allow_empty: bool = False) -> np.ndarray:
    """Token ids as an integer array: the one check of token ids, wherever they arrive.

    vocab_size: every id must lie in [0, vocab_size) (None: any integer); ndim: the numbers of
    dimensions allowed, (1, 2) for a sequence (T,) or a batch (B, T), None for any;
    allow_empty: no ids at all is accepted (and given back as an empty int64 array).
    Raises TypeError for anything but integers (floats, bools, text) and ValueError for a
    ragged list, a wrong number of dimensions, no ids (unless allowed) or an id out of range;
    the message names `name`.

    >>> check_token_ids([3, 7], vocab_size=5)
    Traceback (most recent call last):
    ...
    ValueError: token id 7 at position 1 is out of range: token ids must lie in [0, 5)
    """
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"{name} must be integers (integer token ids), got {type(ids).__name__}")
    try:
        arr = np.asarray(ids)
    except ValueError:
        raise ValueError(f"{name} must be a flat or rectangular array, got a ragged one") from None
    if arr.size == 0:  # checked first: an empty list has no integer dtype
        if not allow_empty:
            raise ValueError(f"{name} must hold at least one token, got shape {arr.shape}")
        arr = arr.astype(np.int64)
    elif not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be integers (integer token ids), got dtype {arr.dtype}")
    if ndim is not None and arr.ndim not in ndim:
        expected = " or ".join(_SHAPES.get(n, f"{n}-D") for n in ndim)
        raise ValueError(f"{name} must be {expected}; got {arr.ndim} dimensions, shape {arr.shape}")
    if vocab_size is not None and arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        bad = np.unravel_index(np.argmax((arr < 0) | (arr >= vocab_size)), arr.shape)
        position = int(bad[0]) if arr.ndim == 1 else tuple(int(i) for i in bad)
        raise ValueError(f"token id {arr[bad]} at position {position} is out of range: "
                         f"{name} must lie in [0, {vocab_size})")  # fmt: skip
    return arr


_SHAPES = {1: "1-D, one sequence (T,)", 2: "2-D, a batch (B, T)"}


def check_shape(array, expected: tuple, name: str, why: str = ""):
    """`array` itself if its shape is `expected`, else a ValueError naming both shapes (and
    `why` that shape is expected).

    >>> check_shape(np.zeros((2, 3)), (2, 4), "dlogits", "the logits' shape")
    Traceback (most recent call last):
    ...
    ValueError: dlogits has shape (2, 3), expected (2, 4) (the logits' shape)
    """
    if np.shape(array) != tuple(expected):
        raise ValueError(f"{name} has shape {np.shape(array)}, expected {tuple(expected)}"
                         + (f" ({why})" if why else ""))  # fmt: skip
    return array


def check_sequence(ids, vocab_size: int | None, name: str = "context",
                   allow_empty: bool = False) -> np.ndarray:
    """One sequence of token ids, shape (T,) (see check_token_ids).

    >>> check_sequence([[1, 2]], vocab_size=5)
    Traceback (most recent call last):
    ...
    ValueError: context must be 1-D, one sequence (T,); got 2 dimensions, shape (1, 2)
    """
    return check_token_ids(ids, vocab_size, name, ndim=(1,), allow_empty=allow_empty)
