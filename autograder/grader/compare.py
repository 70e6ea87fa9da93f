"""Compare a student's hidden-case value with the reference value, in the grader's process.

Both values are plain data rebuilt by autograder.protocol. Numbers use a relative and absolute
tolerance (like np.allclose) unless both are integers; strings and booleans must be equal (a
boolean mask matches 0/1 values); lists, tuples and arrays must have the same shape (a list and
a tuple of the same items match: a visible check that asks for one of them says so); an array of
float32, or of a narrower float, gets the tolerance float32 allows (precision_tolerances). The
reason for a mismatch is built from the reference's facts only (its shape, its length, its
kind, where the first difference is): nothing about the student's value (its shape, length or
type), which the student's code chooses and could make spell out the hidden inputs.

>>> compare([1.0, 2.0], [1.0, 2.0 + 1e-12], rtol=1e-6, atol=1e-8)
(True, '')
>>> compare("A", "B", rtol=1e-6, atol=1e-8)
(False, 'wrong value')
"""

from __future__ import annotations

import numpy as np

NUMBER = (int, float)
FLOAT_ULPS = 64  # units of float32's rounding a float32 (or narrower) answer may be off by
WIDEST_ROUNDING = float(np.finfo(np.float32).eps)  # the coarsest rounding a tolerance widens to


def _is_number(value) -> bool:
    return type(value) in NUMBER


def _is_sequence(value) -> bool:
    return type(value) in (list, tuple)


def _is_mask(value) -> bool:
    return _is_sequence(value) and all(type(item) is bool for item in value)


def _as_array(value):
    """A numeric array for an array or a (nested) list of numbers; None otherwise."""
    if isinstance(value, np.ndarray):
        return value
    if _is_sequence(value):
        try:
            array = np.array(value)
        except ValueError:
            return None
        return array if array.dtype.kind in "biuf" else None
    return None


def compare(value, reference, *, rtol: float, atol: float) -> tuple[bool, str]:
    """(matches, reason) for a student's value against the reference value."""
    if isinstance(reference, np.ndarray) or (
        isinstance(value, np.ndarray) and _is_sequence(reference)
    ):
        return _compare_arrays(_as_array(value), _as_array(reference), rtol, atol)
    if type(reference) is bool or type(value) is bool:
        ok = type(value) is type(reference) and value == reference
        return ok, "" if ok else "wrong value"
    if _is_number(reference):
        if not _is_number(value):
            return False, "expected a number"
        if type(reference) is int and type(value) is int:
            ok = value == reference
        else:
            try:
                ok = bool(np.isclose(float(value), float(reference), rtol=rtol, atol=atol,
                                     equal_nan=True))
            except OverflowError:  # an integer too large for a float is no float reference
                ok = False
        return ok, "" if ok else "wrong value"
    if _is_sequence(reference):
        if not _is_sequence(value) or len(value) != len(reference):
            return False, f"expected a list or tuple of {len(reference)} items"
        if _is_mask(value) and all(_is_number(r) and r in (0, 1) for r in reference):
            value = [int(v) for v in value]  # a boolean mask where 0/1 values are asked for
        for position, (item, expected) in enumerate(zip(value, reference, strict=True)):
            ok, why = compare(item, expected, rtol=rtol, atol=atol)
            if not ok:
                return False, f"item {position}: {why}"
        return True, ""
    if isinstance(reference, dict):
        if not isinstance(value, dict):
            return False, "expected a dict"
        if set(value) != set(reference):
            return False, "the dict has the wrong keys"
        for key in reference:
            ok, why = compare(value[key], reference[key], rtol=rtol, atol=atol)
            if not ok:
                return False, f"key {key!r}: {why}"
        return True, ""
    ok = type(value) is type(reference) and value == reference
    return ok, "" if ok else "wrong value"


def _compare_arrays(value, reference, rtol, atol) -> tuple[bool, str]:
    if value is None or reference is None:
        return False, "expected an array of numbers"
    if value.shape != reference.shape:
        return False, f"wrong shape: expected {reference.shape}"
    if value.dtype.kind == "b" and reference.dtype.kind != "b" and np.isin(reference, (0, 1)).all():
        value = value.astype(reference.dtype)  # a boolean mask where 0/1 values are asked for
    if reference.dtype.kind == "b" or value.dtype.kind == "b":
        ok = value.dtype.kind == reference.dtype.kind and bool(np.array_equal(value, reference))
        return ok, "" if ok else "wrong values"
    rtol, atol = precision_tolerances(value, reference, rtol, atol)
    ok = bool(np.allclose(value, reference, rtol=rtol, atol=atol, equal_nan=True))
    return ok, "" if ok else "wrong values"


def precision_tolerances(value: np.ndarray, reference: np.ndarray, rtol: float,
                         atol: float) -> tuple[float, float]:
    """(rtol, atol) widened for an array of a float narrower than float64: it is right when it is
    within FLOAT_ULPS units of float32's rounding (7.6e-6 relative, and that fraction of the
    reference's largest finite magnitude absolute), so an answer as accurate as float32 allows
    passes a tolerance set for float64. Never more: the student's code chooses the type, and
    64 units of float16's rounding (6 %) would pass an answer 5 % off whatever the hidden
    case's tolerance (a self-check refuses float16 too: protocol.narrow).

    Why absolute too, and of the largest magnitude: float32 rounds each term of a sum, so an
    element's error is a fraction of the magnitudes it was summed from, not of its own; an
    element near 0 by cancellation (a layer norm's output, an attention average) is off by
    many times itself, which no relative bound admits. Honest float32 code (each source's own
    solution given its hidden inputs as float32) was measured off by at most 1.2 units of the
    reference's largest magnitude (attention; layer_norm 1.0, every other exercise under 0.4)
    but by up to 27 units of an element's own (attention; layer_norm 18, gelu 11). 64 units
    is the worst case of a running sum of 129 float32 terms whose magnitudes add up to the
    largest value (a cumulative sum of probabilities, as top-p takes), room for variants'
    reseeded inputs and for other orders of summing. The price: an element much smaller than the
    largest may be off by 7.6e-6 of the largest (a float64 answer by 1e-8), so a float32
    answer that zeroes probabilities below that passes; no mistake of method (an axis, a
    normalisation, an off-by-one) is that small."""
    if value.dtype.kind != "f" or value.dtype.itemsize >= 8:
        return rtol, atol
    step = FLOAT_ULPS * WIDEST_ROUNDING
    finite = np.abs(reference[np.isfinite(reference)]) if reference.dtype.kind == "f" else (
        np.abs(reference))
    return max(rtol, step), max(atol, step * float(np.max(finite, initial=0.0)))

