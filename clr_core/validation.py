"""Typed checks for user input, each raising `ConfigError` with the field's name.

Library calls, run configs and the CLI all check their fields here, once per path, so
one bad value reads the same everywhere ("num_iter must be an integer >= 10, got 5")
and ``True`` is never taken for 1. Schedule parameters are the schedule package's own
(`ScheduleError`).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from clr_core.errors import ConfigError

__all__ = [
    "FLOAT32_MAX",
    "MAX_ITERATIONS",
    "check_lr_values",
    "check_callable",
    "check_float32_lr",
    "check_choice",
    "check_int",
    "check_lr_range",
    "check_number",
    "check_grad_clip",
    "check_probability",
    "check_seed",
    "renamed_keywords",
]


def check_number(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite real number within [lo, hi] (``lo_open`` / ``hi_open``: strict bounds)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ConfigError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {value!r}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ConfigError(f"{name} must be {'<' if hi_open else '<='} {hi:g}, got {value!r}")
    return v


def check_probability(name: str, value: Any) -> float:
    """A number in [0, 1): a smoothing factor, a momentum."""
    return check_number(name, value, lo=0.0, hi=1.0, hi_open=True)


def check_grad_clip(name: str, value: Any) -> float | None:
    """A gradient-clipping threshold: None (or 0, Hugging Face's "off") for no clipping,
    else a finite number > 0."""
    if value is None or (not isinstance(value, bool) and isinstance(value, numbers.Real)
                         and value == 0):
        return None
    return check_number(name, value, lo=0.0, lo_open=True)


#: The most iterations one run may ask for: the per-iteration curves of a longer run do
#: not fit in memory, so it is refused by name up front instead of failing inside numpy.
MAX_ITERATIONS = 10_000_000
#: float32's largest value: an optimizer step cannot use a larger LR.
FLOAT32_MAX = 3.4028234663852886e38


def check_int(name: str, value: Any, *, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (not a bool, not a float that happens to be whole) in [``lo``, ``hi``]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if lo is not None and value < lo:
        raise ConfigError(f"{name} must be an integer >= {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{name} must be at most {hi:,} (a longer run does not fit in "
                          f"memory), got {value:,}")
    return int(value)


#: torch.manual_seed takes 64-bit seeds; a larger one is an OverflowError deep in torch.
MAX_SEED = 2**64 - 1


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed torch can take: an integer in [0, 2**64 - 1]."""
    value = check_int(name, value, lo=0)
    if value > MAX_SEED:
        raise ConfigError(f"{name} must be at most 2**64 - 1 (torch.manual_seed's range), "
                          f"got {value}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[str] | Mapping[str, Any]) -> str:
    """One of ``choices`` (a mapping's keys); the message lists them."""
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def check_callable(name: str, value: Any) -> Callable | None:
    """None, or something callable."""
    if value is not None and not callable(value):
        raise ConfigError(f"{name} must be callable, got {type(value).__name__}")
    return value


def check_lr_range(start_lr: Any, end_lr: Any, *, start_name: str = "start_lr",
                   end_name: str = "end_lr") -> tuple[float, float]:
    """Two positive LRs, the first strictly below the second."""
    lo = check_number(start_name, start_lr, lo=0.0, lo_open=True)
    hi = check_number(end_name, end_lr, lo=0.0, lo_open=True)
    if lo >= hi:
        raise ConfigError(f"{start_name} ({lo:g}) must be below {end_name} ({hi:g})")
    return lo, check_float32_lr(end_name, hi)


def check_float32_lr(name: str, lr: float) -> float:
    """An LR a float32 optimizer can hold."""
    if lr > FLOAT32_MAX:
        raise ConfigError(f"{name} ({lr:.3g}) is more than a float32 optimizer can hold "
                          f"({FLOAT32_MAX:.3g}); no loss survives an LR near that anyway")
    return lr


def check_lr_values(lrs: Any, what: str = "the schedule's LR") -> None:
    """LRs a run will put on the optimizer, one per step: each finite, >= 0 and within
    float32, else a ConfigError naming the first step that is not."""
    arr = np.asarray(lrs, dtype=float).reshape(-1)
    bad = ~(np.isfinite(arr) & (arr >= 0) & (arr <= FLOAT32_MAX))
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise ConfigError(f"{what} is {arr[at]:.3g} at step {at}: an LR must be finite, >= 0 "
                          f"and at most {FLOAT32_MAX:.3g} (float32's largest) for the optimizer "
                          "to use it")


def renamed_keywords(func: str, kwargs: dict[str, Any], renames: Mapping[str, str], *,
                     stacklevel: int = 3) -> dict:
    """Old keyword names still accepted, with a DeprecationWarning naming the new one
    (``stacklevel`` as `warnings.warn`'s, counted from here: 3 is the caller's caller).

    Returns the new-name values found (``{new: value}``); an unknown keyword is a
    TypeError, as Python would raise it."""
    out = {}
    for key, value in kwargs.items():
        if key not in renames:
            raise TypeError(f"{func}() got an unexpected keyword argument {key!r}")
        new = renames[key]
        warnings.warn(f"{func}(): {key!r} is now called {new!r}", DeprecationWarning, stacklevel=stacklevel)
        out[new] = value
    return out
