"""Phases: a schedule written as a sequence of shapes, like fastai's `combine_scheds`.

Each phase goes from `start` to `end` with a shape (linear, cos, exp, constant) over
`steps` iterations or a fraction `pct` of `total_steps`, evaluated by `shapes.piecewise`,
the same function 1cycle is written in; so can every warm-up + decay recipe.

Phase i runs over its steps n_i from start_i to end_i, p the share of it done:

    linear: start + (end - start) p           cos: end + (start - end) / 2 * (1 + cos(pi p))
    exp:    start * (end / start)**p          constant: start

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> up_then_down = [{"shape": "linear", "start": 0.0, "end": 1.0, "steps": 2},
...                 {"shape": "linear", "start": 1.0, "end": 0.0, "steps": 4}]
>>> make_schedule("phases", phases=up_then_down).lr(np.arange(8)).tolist()
[0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules import codegen, trace
from clr_core.schedules.base import Schedule
from clr_core.schedules.shapes import SHAPES, piecewise, piecewise_trace
from clr_core.schedules.spec import INT, PHASES, ParamSpec, PolicySpec

__all__ = ["Phases", "phase_table"]

MAX_PHASES = 32


_CODE = '''

def _shape(shape, a, b, pct):
    """torch's OneCycleLR annealing (cos, linear) and fastai's SchedExp / SchedNo."""
    if shape == "cos":
        return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
    if shape == "linear":
        return (b - a) * pct + a
    if shape == "exp":
        return a * (b / a) ** pct
    return a


def lr_at(k):
    k = min(k, PHASES[-1][0])  # after the last phase the LR stays at its end
    start = 0.0
    for i, (end, a, b, shape) in enumerate(PHASES):
        if k <= end or i == len(PHASES) - 1:
            return _shape(shape, a, b, (k - start) / (end - start))
        start = end
'''

_PHASE_KEYS = {"shape", "start", "end", "steps", "pct"}


def _number(where: str, value: Any, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ScheduleError(f"phases: {where} must be a number, got {value!r}.")
    if not math.isfinite(float(value)) or (integer and not float(value).is_integer()):
        kind = "an integer" if integer else "finite"
        raise ScheduleError(f"phases: {where} must be {kind}, got {value!r}.")
    return int(value) if integer else float(value)


def _phase(i: int, raw: Any, total_steps: int | None) -> dict[str, Any]:
    where = f"phase {i + 1}"
    if not isinstance(raw, Mapping):
        raise ScheduleError(f"phases: {where} must be a dict with shape, start, end and steps "
                            f"or pct, got {raw!r}.")
    extra = set(raw) - _PHASE_KEYS
    if extra:
        raise ScheduleError(f"phases: {where} has unknown key(s) {sorted(extra)}; valid keys: "
                            f"{sorted(_PHASE_KEYS)}.")
    shape = raw.get("shape", "linear")
    if shape not in SHAPES:
        raise ScheduleError(f"phases: {where} shape must be one of {list(SHAPES)}, got {shape!r}.")
    start = _number(f"{where} start", raw.get("start"))
    end = _number(f"{where} end", raw.get("end", start))
    if start < 0 or end < 0 or (shape == "exp" and min(start, end) <= 0):
        rule = "> 0 for an exp phase" if shape == "exp" else ">= 0"
        raise ScheduleError(f"phases: {where} start and end must be {rule}, got {start!r}, "
                            f"{end!r}.")
    steps, pct = raw.get("steps"), raw.get("pct")
    if (steps is None) == (pct is None):
        raise ScheduleError(f"phases: {where} needs exactly one of steps or pct.")
    out = {"shape": shape, "start": start, "end": end}
    if steps is not None:
        out["steps"] = _number(f"{where} steps", steps, integer=True)
        if out["steps"] < 1:
            raise ScheduleError(f"phases: {where} steps must be >= 1, got {steps!r}.")
    else:
        out["pct"] = _number(f"{where} pct", pct)
        if not 0 < out["pct"] <= 1:
            raise ScheduleError(f"phases: {where} pct must be in (0, 1], got {pct!r}.")
        if total_steps is None:
            raise ScheduleError(f"phases: {where} is a fraction (pct) of total_steps; give "
                                "total_steps.")
        if out["pct"] * total_steps < 1:
            raise ScheduleError(f"phases: {where} pct={pct!r} of total_steps={total_steps} is "
                                "under one step.")
    return out


def phase_table(phases: Sequence[Mapping[str, Any]],
                total_steps: int | None) -> list[tuple[float, float, float, str]]:
    """(end_step, start, end, shape) rows for `piecewise` from validated phases."""
    table, at = [], 0.0
    for ph in phases:
        at += ph["steps"] if "steps" in ph else ph["pct"] * total_steps
        table.append((at, ph["start"], ph["end"], ph["shape"]))
    return table


class Phases(Schedule):
    """Phases one after another; after the last one the LR stays at its end value."""

    __slots__ = ()
    spec = PolicySpec(
        "phases", "Phases (compose your own)",
        "A sequence of phases, each a shape (linear, cos, exp, constant) from a start to an end "
        "LR over a number of steps or a fraction of total_steps, like fastai's combine_scheds "
        "(Howard & Gugger 2020). 1cycle and every warm-up + decay recipe can be written this way.",
        [ParamSpec("phases", [{"shape": "linear", "start": 0.0, "end": 0.01, "steps": 100},
                              {"shape": "cos", "start": 0.01, "end": 0.0001, "steps": 900}],
                   PHASES, "One row per phase: shape, start and end LR, and steps or pct "
                   "(fraction of total_steps)."),
         ParamSpec("total_steps", None, INT, "Length the pct of a phase refers to; empty when "
                   "every phase gives steps.", optional=True)],
        source="Howard & Gugger, 'fastai: A Layered API for Deep Learning', 2020 "
               "(combine_scheds)",
        family="composition")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        raw, total = p["phases"], p["total_steps"]
        if total is not None and total < 1:
            raise ScheduleError(f"phases: total_steps must be an integer >= 1, got {total!r}.")
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or not raw:
            raise ScheduleError(f"phases: phases must be a non-empty list of phases, got {raw!r}.")
        if len(raw) > MAX_PHASES:
            raise ScheduleError(f"phases: at most {MAX_PHASES} phases, got {len(raw)}.")
        p["phases"] = [_phase(i, ph, total) for i, ph in enumerate(raw)]

    def _table(self) -> list[tuple[float, float, float, str]]:
        return phase_table(self._params["phases"], self._params["total_steps"])

    @staticmethod
    def _held(table: list[tuple[float, float, float, str]]) -> float:
        """The LR after the last phase (its end value), computed once."""
        return piecewise(np.array([table[-1][0]]), table)[0]

    def _lr(self, k: np.ndarray) -> np.ndarray:
        table = self._table()
        held = k >= table[-1][0]
        out = np.empty(k.shape, dtype=np.float64)
        out[~held] = piecewise(k[~held], table)
        out[held] = self._held(table)
        return out

    def _trace(self, out: np.ndarray, first: int) -> None:
        table = self._table()
        held = math.ceil(table[-1][0])  # the first iteration k >= the last phase's end
        piecewise_trace(*trace.part(out, first, 0, held), table)
        trace.fill(trace.part(out, first, held)[0], self._held(table))

    def code_body(self) -> str:
        rows = "".join(f"    {row!r},\n" for row in self._table())
        return ("import math\n\nimport torch\n\n# (end_step, start_lr, end_lr, shape)\n"
                f"PHASES = [\n{rows}]\n" + _CODE + codegen.SET_LR
                + "\nscheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lr_at)\n")
