"""What a policy declares about its parameters, and the checks those declarations drive.

A policy class lists `ParamSpec`s; the form in the designer, the query string, JSON
round trips and validation are all read from that list, so a parameter is described
once. The check helpers raise `ScheduleError` naming the policy and the parameter, the
message the designer shows under a bad value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clr_core.errors import ScheduleError

__all__ = [
    "BOOL",
    "CHOICE",
    "FLOAT",
    "INT",
    "PHASES",
    "ParamSpec",
    "PolicySpec",
    "at_least_one",
    "bounds",
    "coerce",
    "fraction",
    "lr_param",
    "momentum_param",
    "momenta",
    "non_negative",
    "positive",
    "unit_gamma",
]

FLOAT, INT, BOOL, CHOICE, PHASES = "float", "int", "bool", "choice", "phases"


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a policy. `default` is what a form should show; `required`
    parameters have no default in `make_schedule` (the designer always sends them)."""

    name: str
    default: Any
    kind: str
    help: str
    choices: tuple[str, ...] | None = None
    optional: bool = False
    log: bool = False
    required: bool = False


@dataclass(frozen=True)
class PolicySpec:
    """A policy as people meet it: `label` and `description` for the designer, `source`
    (author, title, year) for the help list and README, `params` for forms and checks."""

    name: str
    label: str
    description: str
    params: list[ParamSpec] = field(default_factory=list)
    source: str = ""
    family: str = ""


#: The largest integer parameter (a float counts steps exactly up to here).
MAX_COUNT = 2**53


def lr_param(name: str, default: float, help: str, *, required: bool = True) -> ParamSpec:
    return ParamSpec(name, default, FLOAT, help, log=True, required=required)


def momentum_param(name: str, default: float | None, help: str, *, optional: bool) -> ParamSpec:
    return ParamSpec(name, default, FLOAT, help, optional=optional)


def _number(policy: str, spec: ParamSpec, value: Any) -> float | int:
    name = spec.name
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ScheduleError(f"{policy}: {name} must be a number, got {type(value).__name__} "
                            f"{value!r}.")
    try:
        as_float = float(value)
    except OverflowError:  # an int past float's range
        as_float = math.inf
    if not math.isfinite(as_float):
        raise ScheduleError(f"{policy}: {name} must be finite, got {value!r}.")
    if spec.kind == FLOAT:
        return as_float
    if not as_float.is_integer():
        raise ScheduleError(f"{policy}: {name} must be an integer, got {value!r}.")
    if abs(as_float) > MAX_COUNT:
        raise ScheduleError(f"{policy}: {name} must be at most 2**53 ({MAX_COUNT:.3g}), got "
                            f"{as_float:.6g}: steps past that cannot be counted exactly, and no "
                            "run is that long.")
    return int(value)


def coerce(policy: str, spec: ParamSpec, value: Any) -> Any:
    """Normalise one value to its kind, refusing what JSON or a form could get wrong.
    PHASES values are checked by the policy that declares them."""
    if value is None:
        if spec.optional:
            return None
        raise ScheduleError(f"{policy}: {spec.name} must be given (None is only allowed for "
                            "optional parameters).")
    if spec.kind in (FLOAT, INT):
        return _number(policy, spec, value)
    if spec.kind == BOOL:
        if not isinstance(value, (bool, np.bool_)):
            raise ScheduleError(f"{policy}: {spec.name} must be true or false, got "
                                f"{type(value).__name__} {value!r}.")
        return bool(value)
    if spec.kind == PHASES:
        return value
    if not isinstance(value, str) or value not in (spec.choices or ()):
        raise ScheduleError(f"{policy}: {spec.name} must be one of {list(spec.choices or ())}, "
                            f"got {value!r}.")
    return value


def positive(policy: str, p: dict, *names: str) -> None:
    for name in names:
        if p[name] <= 0:
            raise ScheduleError(f"{policy}: {name} must be > 0, got {p[name]!r}.")


def non_negative(policy: str, p: dict, *names: str) -> None:
    for name in names:
        if p[name] is not None and p[name] < 0:
            raise ScheduleError(f"{policy}: {name} must be >= 0, got {p[name]!r}.")


def at_least_one(policy: str, p: dict, *names: str) -> None:
    for name in names:
        if p[name] is not None and p[name] < 1:
            raise ScheduleError(f"{policy}: {name} must be an integer >= 1, got {p[name]!r}.")


def fraction(policy: str, p: dict, name: str, *, closed: bool = False) -> None:
    """Open (0, 1), or [0, 1] with `closed`."""
    v = p[name]
    ok = 0 <= v <= 1 if closed else 0 < v < 1
    if not ok:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ScheduleError(f"{policy}: {name} must be in {interval}, got {v!r}.")


def bounds(policy: str, p: dict, lo: str = "base_lr", hi: str = "max_lr",
           *, strict: bool = True) -> None:
    if p[lo] > p[hi] or (strict and p[lo] == p[hi]):
        rel = "<" if strict else "<="
        raise ScheduleError(f"{policy}: {lo} ({p[lo]!r}) must be {rel} {hi} ({p[hi]!r}).")


def unit_gamma(policy: str, p: dict) -> None:
    if not 0 < p["gamma"] <= 1:
        raise ScheduleError(f"{policy}: gamma must be in (0, 1], got {p['gamma']!r}.")


def momenta(policy: str, p: dict) -> None:
    lo, hi = p["base_momentum"], p["max_momentum"]
    if (lo is None) != (hi is None):
        missing = "max_momentum" if hi is None else "base_momentum"
        raise ScheduleError(f"{policy}: base_momentum and max_momentum go together; "
                            f"{missing} is missing.")
    if lo is None:
        return
    for name in ("base_momentum", "max_momentum"):
        if not 0 <= p[name] < 1:
            raise ScheduleError(f"{policy}: {name} must be in [0, 1), got {p[name]!r}.")
    if lo > hi:
        raise ScheduleError(f"{policy}: base_momentum ({lo!r}) must be <= max_momentum ({hi!r}).")
