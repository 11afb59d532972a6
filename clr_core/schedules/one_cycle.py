"""Smith's (2018) 1cycle, written in phases (`shapes.piecewise`) with OneCycleLR's float phase
boundaries, so it agrees with torch step for step; exported as a OneCycleLR.

With initial = max_lr / div_factor, min = initial / final_div_factor and T = total_steps,
the LR rises from initial to max_lr until step pct_start * T - 1 and then anneals to min
at step T - 1 (three_phase: back to initial first, then to min), each phase by

    cos:    anneal(a, b, p) = b + (a - b) / 2 * (1 + cos(pi p))
    linear: anneal(a, b, p) = a + (b - a) p

p being the share of the phase done; the momentum moves the other way, max_momentum ->
base_momentum -> max_momentum.

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> lr = make_schedule("one_cycle", max_lr=1.0, total_steps=10, pct_start=0.5, div_factor=10,
...                    final_div_factor=10, anneal_strategy="linear").lr([0, 2, 4, 9])
>>> np.round(lr, 6).tolist()
[0.1, 0.55, 1.0, 0.01]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules import codegen
from clr_core.schedules.base import Schedule
from clr_core.schedules.shapes import piecewise, piecewise_trace
from clr_core.schedules.spec import (
    BOOL,
    CHOICE,
    FLOAT,
    INT,
    ParamSpec,
    PolicySpec,
    at_least_one,
    fraction,
    lr_param,
    momenta,
    momentum_param,
    positive,
)

__all__ = ["OneCycle"]

_PARAMS = [
    lr_param("max_lr", 0.1, "Peak LR, from a range test (Smith 2018 reached 1.0-3.0 on CIFAR-10 "
             "with ResNet-56)."),
    ParamSpec("total_steps", 1000, INT, "Length of training in iterations; the schedule ends "
              "here.", required=True),
    ParamSpec("pct_start", 0.3, FLOAT, "Fraction of total_steps spent warming up, in (0, 1)."),
    ParamSpec("anneal_strategy", "cos", CHOICE, "Shape of each phase.", choices=("cos", "linear")),
    ParamSpec("div_factor", 25.0, FLOAT, "Start LR = max_lr / div_factor (Smith 2018: 10).",
              log=True),
    ParamSpec("final_div_factor", 1e4, FLOAT,
              "Final LR = start LR / final_div_factor (Smith's annihilation: 100, i.e. max/1000).",
              log=True),
    ParamSpec("three_phase", False, BOOL,
              "Smith's shape: up, symmetric down to the start LR, then annihilation."),
    ParamSpec("cycle_momentum", True, BOOL, "Cycle momentum inversely to the LR (Smith 2018)."),
    momentum_param("base_momentum", 0.85, "Momentum at the LR peak (Smith 2018: 0.85).",
                   optional=False),
    momentum_param("max_momentum", 0.95, "Momentum at the start and end (Smith 2018: 0.95).",
                   optional=False),
]


def _boundaries(p: dict[str, Any]) -> list[float]:
    """Torch's phase ends; the float boundaries are kept on purpose so that we agree with
    OneCycleLR step for step."""
    total, pct = p["total_steps"], p["pct_start"]
    if p["three_phase"]:
        return [float(pct * total) - 1, float(2 * pct * total) - 2, total - 1]
    return [float(pct * total) - 1, total - 1]


class OneCycle(Schedule):
    """OneCycleLR's closed form: phases of torch's annealing shapes."""

    __slots__ = ()
    spec = PolicySpec(
        "one_cycle", "1cycle (Smith 2018)",
        "One cycle up to max_lr and down to far below the start, with momentum moving inversely "
        "(Smith 2018, 'A disciplined approach...'); identical to PyTorch OneCycleLR.",
        _PARAMS,
        source="Leslie N. Smith, 'A disciplined approach to neural network hyper-parameters: "
               "Part 1', 2018; Smith & Topin, 'Super-Convergence', 2018",
        family="one-cycle")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        policy = cls.spec.name
        positive(policy, p, "max_lr")
        at_least_one(policy, p, "total_steps")
        fraction(policy, p, "pct_start")
        for name in ("div_factor", "final_div_factor"):
            if p[name] < 1:
                raise ScheduleError(f"{policy}: {name} must be >= 1 (the LR must not start or "
                                    f"end above max_lr), got {p[name]!r}.")
        momenta(policy, p)
        start = 0.0
        for end in _boundaries(p):
            if end == start:  # torch would divide by zero here
                raise ScheduleError(f"{policy}: pct_start={p['pct_start']!r} with total_steps="
                                    f"{p['total_steps']} leaves a phase of zero length; change "
                                    "pct_start or total_steps.")
            start = end

    def _table(self, lr: bool) -> list[tuple[float, float, float, str]]:
        p = self._params
        initial = p["max_lr"] / p["div_factor"]
        if lr:
            lo, hi, last = initial, p["max_lr"], initial / p["final_div_factor"]
        else:  # momentum moves inversely and ends where it started
            lo, hi, last = p["max_momentum"], p["base_momentum"], p["max_momentum"]
        levels = [(lo, hi), (hi, lo), (lo, last)] if p["three_phase"] else [(lo, hi), (hi, last)]
        shape = p["anneal_strategy"]
        return [(end, a, b, shape) for end, (a, b) in zip(_boundaries(p), levels, strict=True)]

    def _lr(self, k: np.ndarray) -> np.ndarray:
        return piecewise(k, self._table(lr=True))

    def _trace(self, out: np.ndarray, first: int) -> None:
        piecewise_trace(out, first, self._table(lr=True))

    def _momentum_trace(self, out: np.ndarray, first: int) -> None:
        piecewise_trace(out, first, self._table(lr=False))

    def _momentum(self, k: np.ndarray) -> np.ndarray:
        return piecewise(k, self._table(lr=False))

    @property
    def has_momentum(self) -> bool:
        return self._params["cycle_momentum"]

    @property
    def cycle_length(self) -> int:
        return self._params["total_steps"]

    @property
    def total_steps(self) -> int:
        return self._params["total_steps"]

    def code_body(self) -> str:
        return codegen.builtin("OneCycleLR", {s.name: self._params[s.name] for s in _PARAMS})
