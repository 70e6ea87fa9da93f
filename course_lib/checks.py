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


def check_token_ids(ids, vocab_size: int) -> np.ndarray:
    """Token ids as an integer array of shape (T,) or (B, T).

    Raises TypeError for a non-integer dtype and ValueError for a wrong number of dimensions,
    an empty sequence or an id outside [0, vocab_size).
    """
    arr = np.asarray(ids)
    if arr.size == 0:  # checked first: an empty list has no integer dtype
        raise ValueError(f"token ids must hold at least one token, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"token ids must be integers, got an array of dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"token ids must have shape (T,) or (B, T), got {arr.ndim} dimensions {arr.shape}"
        )
    low, high = int(arr.min()), int(arr.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(f"token id {bad} is out of range: ids must lie in [0, {vocab_size})")
    return arr


def check_sequence(ids, vocab_size: int, what: str = "context") -> np.ndarray:
    """One sequence of token ids, shape (T,) (see check_token_ids)."""
    arr = check_token_ids(ids, vocab_size)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one sequence (T,), got shape {arr.shape}")
    return arr
