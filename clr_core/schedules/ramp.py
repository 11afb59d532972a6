"""The warm-up modifier: a ramp in front of any policy (linear, cosine or exponential).

For k < ramp_steps the LR rises from ramp_from x target to target, the policy's own LR
at step ramp_steps; from there on the policy runs unchanged (its clock is not shifted,
as transformers and timm do with their warm-ups). The keys appear in a config only when
the ramp is on, so every config written before it still means the same schedule.

For k < n = ramp_steps, with target = the policy's LR at step n, a = ramp_from and
p = k / n (ramp_shape):

    linear: lr(k) = target * (a + (1 - a) p)
    cos:    lr(k) = target * (a + (1 - a) (1 - cos(pi p)) / 2)
    exp:    lr(k) = target * a**(1 - p)

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> make_schedule("exp", base_lr=1.0, gamma=0.5, ramp_steps=2).lr(np.arange(5)).tolist()
[0.0, 0.125, 0.25, 0.125, 0.0625]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules.shapes import shape_value
from clr_core.schedules.spec import CHOICE, FLOAT, INT, ParamSpec, coerce

__all__ = ["RAMP_PARAMS", "apply_ramp", "ramp_code", "validate_ramp"]

RAMP_PARAMS = [
    ParamSpec("ramp_steps", 0, INT, "Warm-up modifier: steps of a ramp added in front of the "
              "policy; 0 = off. Works on any policy."),
    ParamSpec("ramp_shape", "linear", CHOICE, "Shape of the ramp: linear, cosine or "
              "exponential.", choices=("linear", "cos", "exp")),
    ParamSpec("ramp_from", 0.0, FLOAT, "Where the ramp starts, as a fraction of the LR it "
              "reaches (0 = from zero; an exp ramp needs > 0, e.g. 0.01)."),
]
_NAMES = {s.name for s in RAMP_PARAMS}


def validate_ramp(policy: str, params: dict[str, Any],
                  total_steps: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the ramp's keys off `params`: (the policy's own params, the coerced ramp,
    empty when it is off)."""
    own = {k: v for k, v in params.items() if k not in _NAMES}
    given = {k: v for k, v in params.items() if k in _NAMES}
    ramp = {s.name: coerce(policy, s, given.get(s.name, s.default)) for s in RAMP_PARAMS}
    if ramp["ramp_steps"] < 0:
        raise ScheduleError(f"{policy}: ramp_steps must be >= 0, got {ramp['ramp_steps']!r}.")
    if ramp["ramp_steps"] == 0:
        return own, {}
    if isinstance(total_steps, int) and ramp["ramp_steps"] > total_steps:
        raise ScheduleError(f"{policy}: ramp_steps ({ramp['ramp_steps']}) must be <= "
                            f"total_steps ({total_steps}).")
    lo = 0 if ramp["ramp_shape"] != "exp" else 1e-12
    if not lo <= ramp["ramp_from"] < 1 or (ramp["ramp_shape"] == "exp" and ramp["ramp_from"] <= 0):
        rule = "in (0, 1) for an exp ramp" if ramp["ramp_shape"] == "exp" else "in [0, 1)"
        raise ScheduleError(f"{policy}: ramp_from must be {rule}, got {ramp['ramp_from']!r}.")
    return own, ramp


def apply_ramp(k: np.ndarray, out: np.ndarray, ramp: dict[str, Any], target: float) -> np.ndarray:
    """`out` (the policy's LR at k) with the ramp written over the steps before ramp_steps."""
    n = ramp["ramp_steps"]
    sel = k < n
    if sel.any():
        a = ramp["ramp_from"] * target
        out = np.array(out, dtype=np.float64)
        out[sel] = shape_value(ramp["ramp_shape"], a, target, k[sel] / n)
    return out


_SHAPE_CODE = {"linear": "(b - a) * pct + a",
               "cos": "b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)",
               "exp": "a * (b / a) ** pct"}


def ramp_code(body: str, ramp: dict[str, Any], target: float) -> str | None:
    """`body` (code ending in a scheduler built on `lr_at`) with the ramp wrapped around
    lr_at; None where the body has no lr_at to wrap (a built-in torch scheduler)."""
    marker = body.rfind("\nscheduler = ")
    if "lr_lambda=lr_at" not in body or marker < 0:
        return None
    wrapper = (
        f"\n\n# Warm-up modifier: {ramp['ramp_steps']} steps of a {ramp['ramp_shape']} ramp.\n"
        f"RAMP_STEPS = {ramp['ramp_steps']!r}\nRAMP_FROM = {ramp['ramp_from']!r}\n"
        f"RAMP_TARGET = {target!r}  # the policy's LR at step RAMP_STEPS\n"
        "policy_lr_at = lr_at\n\n\n"
        "def lr_at(k):\n"
        "    if k < RAMP_STEPS:\n"
        "        pct = k / RAMP_STEPS\n"
        "        a, b = RAMP_FROM * RAMP_TARGET, RAMP_TARGET\n"
        f"        return {_SHAPE_CODE[ramp['ramp_shape']]}\n"
        "    return policy_lr_at(k)\n")
    head = body[:marker]
    if "import math" not in head:
        head = "import math\n" + head
    return head + wrapper + body[marker:]
