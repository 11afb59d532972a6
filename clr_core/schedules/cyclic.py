"""Smith's (2015) cyclical learning rates: triangular, triangular2 and exp_range.

The closed form is PyTorch CyclicLR's arithmetic, operation for operation, so the two
agree step for step; the exported code *is* a CyclicLR.

With total = step_size_up + step_size_down (step_size_down defaults to step_size_up),
cycle = floor(1 + k / total), x = 1 + k / total - cycle and ratio = step_size_up / total,
the tent runs 0 -> 1 -> 0 over a cycle:

    scale(k) = x / ratio                 if x <= ratio
               (x - 1) / (ratio - 1)     otherwise
    lr(k)    = base_lr + (max_lr - base_lr) * scale(k) * f(k)

    triangular:  f(k) = 1
    triangular2: f(k) = 1 / 2**(cycle - 1)     (the amplitude halves every cycle)
    exp_range:   f(k) = gamma**k               (the amplitude decays every iteration)

With cycle momentum, momentum(k) = max_momentum - (max_momentum - base_momentum) *
scale(k) * f(k): low when the LR is high.

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> make_schedule("triangular", base_lr=1.0, max_lr=3.0, step_size_up=2).lr(np.arange(9)).tolist()
[1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
>>> make_schedule("triangular2", base_lr=1.0, max_lr=3.0, step_size_up=2).lr(np.arange(9)).tolist()
[1.0, 2.0, 3.0, 2.0, 1.0, 1.5, 2.0, 1.5, 1.0]
>>> make_schedule("exp_range", base_lr=1.0, max_lr=3.0, step_size_up=2,
...               gamma=0.5).lr(np.arange(5)).tolist()
[1.0, 1.5, 1.5, 1.125, 1.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clr_core.schedules import codegen, trace
from clr_core.schedules.base import Schedule
from clr_core.schedules.spec import (
    FLOAT,
    INT,
    ParamSpec,
    PolicySpec,
    at_least_one,
    bounds,
    lr_param,
    momenta,
    momentum_param,
    positive,
    unit_gamma,
)

__all__ = ["Cyclic", "ExpRange", "Triangular", "Triangular2", "cyclic_params"]

SMITH_2015 = "Leslie N. Smith, 'Cyclical Learning Rates for Training Neural Networks', 2015"

_BASE = lr_param("base_lr", 0.001, "Lower LR bound (Smith's CIFAR-10 example: 0.001). "
                 "Rule of thumb: max_lr / 3 or / 4.")
_MAX = lr_param("max_lr", 0.006,
                "Upper LR bound, from a range test (Smith's CIFAR-10 example: 0.006).")
_UP = ParamSpec("step_size_up", 2000, INT,
                "Iterations from base_lr to max_lr; Smith: 2-10 x iterations per epoch.",
                required=True)
_DOWN = ParamSpec("step_size_down", None, INT,
                  "Iterations from max_lr back to base_lr; empty = step_size_up.", optional=True)
_CYC_MOM = [
    momentum_param("base_momentum", None, "Momentum at the LR peak (cyclical momentum, e.g. "
                   "0.85); set both bounds to cycle momentum inversely to the LR.", optional=True),
    momentum_param("max_momentum", None, "Momentum at base_lr (e.g. 0.95); set both bounds or "
                   "neither.", optional=True),
]
# Keras CLR / Smith's exp_range example uses 0.99994; torch's default of 1.0 would make
# exp_range identical to triangular.
_GAMMA_RANGE = ParamSpec("gamma", 0.99994, FLOAT,
                         "Amplitude multiplier per iteration, in (0, 1] (Smith/Keras: 0.99994).")


def cyclic_params(extra: list[ParamSpec]) -> list[ParamSpec]:
    return [_BASE, _MAX, _UP, _DOWN, *extra, *_CYC_MOM]


class Cyclic(Schedule):
    """CyclicLR's closed form, with an optional window reshaping the 0 -> 1 -> 0 tent."""

    __slots__ = ()

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        policy = cls.spec.name
        positive(policy, p, "base_lr", "max_lr")
        bounds(policy, p)
        at_least_one(policy, p, "step_size_up", "step_size_down")
        if "gamma" in p:
            unit_gamma(policy, p)
        momenta(policy, p)

    def _phase(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray | float]:
        """(window, amplitude factor). In-place numpy ops keep torch's rounding (each op
        is the same IEEE operation) while sparing the allocations of 10^6-element temporaries."""
        p = self._params
        up = float(p["step_size_up"])
        down = float(p["step_size_down"]) if p["step_size_down"] is not None else up
        total = up + down
        ratio = up / total
        x = k / total
        x += 1.0  # t = 1 + k / total
        cycle = np.floor(x)
        x -= cycle  # x = t - cycle
        rising = x <= ratio
        tent = x - 1
        tent /= ratio - 1
        np.divide(x, ratio, out=tent, where=rising)
        return self._window(tent), self._amplitude(k, cycle)

    def _window(self, tent: np.ndarray) -> np.ndarray:
        return tent

    def _mode(self) -> str:
        return self._policy

    def _amplitude(self, k: np.ndarray, cycle: np.ndarray) -> np.ndarray | float:
        mode = self._mode()
        if mode == "triangular2":  # torch's 1 / 2.0**(cycle-1), without its overflow
            if not cycle.size:
                return cycle
            first = int(cycle.min())  # one power per cycle, gathered
            levels = np.power(2.0, 1.0 - np.arange(first, int(cycle.max()) + 1))
            return levels[cycle.astype(np.int64) - first]
        if mode == "exp_range":
            return self._params["gamma"] ** k.astype(np.float64)
        return 1.0

    @staticmethod
    def _height(scale: np.ndarray, span: float, f: np.ndarray | float) -> np.ndarray:
        """(span * scale) * f, torch's order, in place."""
        scale *= span
        if not (isinstance(f, float) and f == 1.0):
            scale *= f
        return scale

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        scale, f = self._phase(k)
        out = self._height(scale, p["max_lr"] - p["base_lr"], f)
        out += p["base_lr"]  # base + height
        return out

    def _trace(self, out: np.ndarray, first: int) -> None:
        """One cycle tiled (constant amplitude), scaled cycle by cycle (triangular2's
        halving) or row by row (exp_range's gamma**k = gamma**(row start) * gamma**m)."""
        p, period, mode = self._params, self.cycle_length, self._mode()
        if mode == "triangular":
            return trace.periodic(out, first, period, self._lr)
        if out.size < 4 * period:
            return super()._trace(out, first)
        span = p["max_lr"] - p["base_lr"]
        if mode == "triangular2":  # the first cycle's rest, then whole cycles
            aligned = -(-first // period) * period
            trace.chunked(*trace.part(out, first, first, aligned), self._lr)
            rest, cycle = trace.part(out, first, aligned)[0], aligned // period
            if period < 64:  # after 128 halvings the amplitude is below 1e-38 of the span
                trace.chunked(*trace.part(rest, aligned, aligned, aligned + 128 * period),
                              self._lr)
                return trace.fill(trace.part(rest, aligned, aligned + 128 * period)[0],
                                  p["base_lr"])
            window, _ = self._phase(np.arange(period))  # torch's cycle c + 1: 1 / 2**c
            return trace.rows_scaled(rest, window * span, lambda j: 2.0 ** -(cycle + j),
                                     p["base_lr"])
        length = period * -(-trace.ROW // period)  # whole cycles, at least a row
        k = np.arange(first, first + length)
        gamma = p["gamma"]
        window, _ = self._phase(k)
        pattern = window * span * gamma ** np.arange(length, dtype=np.float64)
        trace.rows_scaled(out, pattern, lambda j: gamma ** (first + length * j), p["base_lr"])

    def _momentum_trace(self, out: np.ndarray, first: int) -> None:
        """One cycle tiled where the amplitude is constant."""
        if self._mode() != "triangular":
            return super()._momentum_trace(out, first)
        trace.periodic(out, first, self.cycle_length, self._momentum)

    def _momentum(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        scale, f = self._phase(k)
        out = self._height(scale, p["max_momentum"] - p["base_momentum"], f)
        return np.subtract(p["max_momentum"], out, out=out)

    @property
    def has_momentum(self) -> bool:
        return self._params["base_momentum"] is not None

    @property
    def cycle_length(self) -> int:
        p = self._params
        down = p["step_size_down"] if p["step_size_down"] is not None else p["step_size_up"]
        return p["step_size_up"] + down

    def code_body(self) -> str:
        p, mode = self._params, self._policy
        args = {"base_lr": p["base_lr"], "max_lr": p["max_lr"], "step_size_up": p["step_size_up"],
                "step_size_down": p["step_size_down"], "mode": mode}
        if mode == "exp_range":
            args["gamma"] = p["gamma"]
        if p["base_momentum"] is not None:
            args.update(cycle_momentum=True, base_momentum=p["base_momentum"],
                        max_momentum=p["max_momentum"])
        else:
            args["cycle_momentum"] = False
        return codegen.builtin("CyclicLR", args)


class Triangular(Cyclic):
    __slots__ = ()
    spec = PolicySpec(
        "triangular", "Triangular CLR (Smith 2015)",
        "The LR ramps linearly between base_lr and max_lr and back (Smith 2015, 'Cyclical "
        "Learning Rates', §3.1); identical to PyTorch CyclicLR(mode='triangular').",
        cyclic_params([]), source=SMITH_2015, family="cyclic")


class Triangular2(Cyclic):
    __slots__ = ()
    spec = PolicySpec(
        "triangular2", "Triangular2 CLR (amplitude halves)",
        "Triangular, with the amplitude halved after every cycle (Smith 2015; PyTorch CyclicLR "
        "mode='triangular2'): matched 70k fixed-LR iterations on CIFAR-10 in 25k.",
        cyclic_params([]), source=SMITH_2015, family="cyclic")


class ExpRange(Cyclic):
    __slots__ = ()
    spec = PolicySpec(
        "exp_range", "Exp-range CLR (amplitude x gamma^k)",
        "Triangular, with the amplitude scaled by gamma**iteration (Smith 2015; PyTorch CyclicLR "
        "mode='exp_range'); the paper's best CIFAR-10 result, 82.2%.",
        cyclic_params([_GAMMA_RANGE]), source=SMITH_2015, family="cyclic")
