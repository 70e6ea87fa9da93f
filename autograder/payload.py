"""Plain-data values as JSON: how hidden-case answers travel from a kernel to the grader.

Only plain data can be encoded: None, bool, int, float, str, lists and tuples, dicts with string
keys, numpy scalars and numpy arrays of booleans or numbers. Anything else (including subclasses,
such as a float whose `__eq__` always returns True) is refused. Decoding builds fresh built-in
objects and numpy arrays from the JSON text, so nothing a student defines can reach the grader.

>>> decode(encode([1, 2.5, "a", None]))
[1, 2.5, 'a', None]
>>> decode(encode(np.arange(3)))
array([0, 1, 2])
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np

ARRAY_KINDS = "biuf"  # bool, signed int, unsigned int, float
MAX_DEPTH = 32


class NotPlainData(TypeError):
    """Raised when a value is not plain data (the message names the offending type)."""


def _exact_numpy_scalar(value) -> bool:
    return (
        isinstance(value, np.generic)
        and np.dtype(type(value)).type is type(value)
        and np.dtype(type(value)).kind in ARRAY_KINDS
    )


def to_jsonable(value, depth: int = 0):
    """Turn plain data into JSON-compatible structures; raise NotPlainData otherwise."""
    if depth > MAX_DEPTH:
        raise NotPlainData(f"data nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if _exact_numpy_scalar(value):
        return to_jsonable(value.item(), depth + 1)
    if kind in (list, tuple):
        return [to_jsonable(item, depth + 1) for item in value]
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise NotPlainData("a dict with non-string keys")
        return {"__dict__": {key: to_jsonable(item, depth + 1) for key, item in value.items()}}
    if kind is np.ndarray:
        if value.dtype.kind not in ARRAY_KINDS:
            raise NotPlainData(f"a numpy array of dtype {value.dtype}")
        data = np.ascontiguousarray(value)
        return {
            "__array__": {
                "dtype": data.dtype.str,
                "shape": list(data.shape),
                "data": base64.b64encode(data.tobytes()).decode("ascii"),
            }
        }
    raise NotPlainData(f"a {kind.__module__}.{kind.__qualname__}")


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
