"""The policy registry: filled by each policy class as it is defined, read by everyone.

A policy class registers itself (see `Schedule.__init_subclass__`), so the registry never
lists policies by hand; `POLICIES` (name -> `PolicySpec`) is what forms and help texts
read, `make_schedule` / `from_dict` what code calls. This module imports no schedule
code, so the torch adapter can build schedules without importing the base class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clr_core.errors import ScheduleError
from clr_core.schedules.spec import PolicySpec

__all__ = ["POLICIES", "from_dict", "make_schedule", "policy_class", "register", "unregister"]

#: Every registered policy's spec by name, in the designer's menu order (import order).
POLICIES: dict[str, PolicySpec] = {}
_CLASSES: dict[str, type] = {}


def register(cls: type) -> None:
    """Add a policy class under its spec's name (a later class replaces an earlier one)."""
    spec: PolicySpec = cls.spec
    POLICIES[spec.name] = spec
    _CLASSES[spec.name] = cls


def unregister(name: str) -> None:
    """Remove a policy (tests that register a toy policy clean up with this)."""
    POLICIES.pop(name, None)
    _CLASSES.pop(name, None)


def policy_class(policy: Any) -> type:
    """The class of a registered policy; ScheduleError listing the valid ones otherwise."""
    if not isinstance(policy, str) or policy not in _CLASSES:
        raise ScheduleError(f"policy: unknown policy {policy!r}; valid policies: "
                            f"{', '.join(POLICIES)}.")
    return _CLASSES[policy]


def make_schedule(policy: str, **params: Any) -> Any:
    """Validated schedule; raises ScheduleError naming the parameter and the rule."""
    return policy_class(policy)(policy, params)


def from_dict(d: Mapping[str, Any]) -> Any:
    """Inverse of `Schedule.to_dict`; validates exactly like make_schedule."""
    if not isinstance(d, Mapping):
        raise ScheduleError(f"policy: a schedule config must be a dict, got {type(d).__name__}.")
    if "policy" not in d:
        raise ScheduleError("policy: the config has no 'policy' key.")
    params = {k: v for k, v in d.items() if k != "policy"}
    bad = [k for k in params if not isinstance(k, str)]
    if bad:
        raise ScheduleError(f"{d['policy']}: parameter names must be strings, got {bad!r}.")
    return make_schedule(d["policy"], **params)
