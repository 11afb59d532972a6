"""A planned schedule moved to another peak and compressed in time: what a short confirming
training runs (`clr_core.engine.confirm`).

Successive halving (Jamieson & Talwalkar 2016; Li et al. 2017, "Hyperband") trains each
candidate for a fraction of the budget. A short run is only a fair sample of the planned
one when its schedule keeps the plan's shape: every length in steps scaled by the
fraction (warm-up, decay, cycle, total), every learning rate by the same factor (so the
peak lands on the candidate and ratios such as base_lr / max_lr hold), and a per-step
decay rate raised to 1 / fraction so it decays as far over the shorter run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules.registry import from_dict

__all__ = ["LR_PARAMS", "STEP_PARAMS", "peak_of", "rescaled"]

#: Parameters that are learning rates: multiplied by peak / the plan's peak.
LR_PARAMS = ("base_lr", "max_lr", "min_lr", "lr", "end_lr", "warmup_lr_init")
#: Parameters that are lengths in steps: multiplied by the fraction (at least 1 step).
STEP_PARAMS = ("step_size_up", "step_size_down", "total_steps", "warmup_steps", "decay_steps",
               "T_0", "step_size", "t_initial", "warmup_t", "timescale", "noise_range_t",
               "noise_range_end")
#: Per-step multipliers (exp, exp_range): raised to 1 / fraction.
RATE_PARAMS = ("gamma",)
#: Policies whose gamma is per drop, not per step (step decay: its step_size is scaled).
_GAMMA_PER_DROP = ("step",)


def peak_of(schedule: Mapping[str, Any], num_iter: int) -> float:
    """The highest LR ``schedule`` (a dict) gives over its first ``num_iter`` steps."""
    sched = from_dict(schedule)
    return float(np.max(sched.lr(np.arange(int(num_iter)))))


def _steps(value: Any, fraction: float, *, allow_zero: bool) -> Any:
    if value is None:
        return None
    scaled = int(round(float(value) * fraction))
    return max(scaled, 0 if allow_zero else 1)


def rescaled(schedule: Mapping[str, Any], *, budget: int, peak: float | None = None,
             fraction: float = 1.0) -> dict:
    """``schedule`` (a dict, planned over ``budget`` steps) with its peak over the budget
    moved to ``peak`` (None: kept) and compressed to ``fraction`` of its length. Raises
    `ScheduleError` for a fraction outside (0, 1] or a non-positive peak."""
    if not 0.0 < fraction <= 1.0:
        raise ScheduleError(f"fraction: the share of the budget must be in (0, 1], got {fraction!r}")
    if peak is not None and not (np.isfinite(peak) and peak > 0):
        raise ScheduleError(f"peak: a peak learning rate must be a positive number, got {peak!r}")
    d = dict(schedule)
    policy = d.get("policy")
    # the plan's peak: its max_lr where it names one, else the highest LR it reaches
    named = d.get("max_lr")
    planned = float(named) if isinstance(named, int | float) and named > 0 else peak_of(d, budget)
    factor = 1.0 if peak is None else peak / planned
    for name in LR_PARAMS:
        if isinstance(d.get(name), int | float) and not isinstance(d.get(name), bool):
            d[name] = float(d[name]) * factor
    for name in STEP_PARAMS:
        if name in d:
            # a warm-up may be 0 steps; a total or a cycle is never shorter than one step
            d[name] = _steps(d[name], fraction, allow_zero=name in ("warmup_steps", "warmup_t"))
    if policy not in _GAMMA_PER_DROP:
        for name in RATE_PARAMS:
            if isinstance(d.get(name), int | float):
                d[name] = float(d[name]) ** (1.0 / fraction)
    if policy == "phases":
        d["phases"] = [
            {**ph, "start": float(ph["start"]) * factor, "end": float(ph["end"]) * factor,
             **({"steps": _steps(ph["steps"], fraction, allow_zero=False)}
                if ph.get("steps") is not None else {})}
            for ph in d.get("phases") or []]
    return from_dict(d).to_dict()  # checked: a compressed plan must still be a valid schedule
