"""The one JSON convention for NaN and infinity: a non-finite float is written as ``null``.

JSON has no NaN. Python's ``json`` writes a bare ``NaN`` that browsers and ``jq`` reject,
so every result, event, store row and CLI file goes through here instead: ``null`` is
what ``JSON.stringify`` and pandas write, and ``np.asarray(values, dtype=float)`` reads it
back as NaN without help. Whether a value was NaN or infinite is not kept; a result's
``stop_reason`` says why a curve ended. Readers also accept the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` that runs saved by earlier versions contain.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["from_json_array", "from_json_float", "json_safe", "to_json_array", "to_json_float"]


def to_json_float(x: Any) -> float | None:
    """A float, or None where it is NaN or infinite."""
    x = float(x)
    return x if math.isfinite(x) else None


def from_json_float(x: Any) -> float:
    """Inverse of `to_json_float`: None (or an old "NaN"/"Infinity" string) becomes NaN/inf."""
    return math.nan if x is None else float(x)


def to_json_array(a: Any) -> list:
    """A (nested) list of floats with None for every non-finite entry."""
    arr = np.asarray(a, dtype=float)
    if np.isfinite(arr).all():
        return arr.tolist()
    return np.where(np.isfinite(arr), arr, None).tolist()


def from_json_array(v: Any, width: int | None = None) -> np.ndarray:
    """Inverse of `to_json_array`; ``width`` gives an empty table its column count."""
    rows = [] if v is None else v
    if width is None:
        return np.array([from_json_float(c) for c in rows], dtype=float)
    table = [[from_json_float(c) for c in row] for row in rows]
    return np.array(table, dtype=float).reshape(-1, width)


def json_safe(obj: Any) -> Any:
    """``obj`` in plain JSON types under this convention: objects with ``to_dict`` (our
    results and events) by it, other dataclasses field by field, numpy arrays and scalars
    and torch tensors by value, tuples and sets as lists."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return to_json_float(obj)
    if hasattr(obj, "to_dict") and not isinstance(obj, type):
        return json_safe(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_safe(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(json_safe(v) for v in obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, torch tensors
        return json_safe(obj.tolist())
    if hasattr(obj, "item"):
        return json_safe(obj.item())
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
