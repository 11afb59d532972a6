"""Polynomial decay and the inverse square root, as Hugging Face transformers computes them
(the BERT / fairseq polynomial, and big_vision's rsqrt after Vaswani et al.'s Transformer).

Both warm up linearly from 0 over w = warmup_steps (lr = max_lr * k / w), then:

    polynomial:   lr(k) = (max_lr - end_lr) * (1 - (k - w) / (T - w))**power + end_lr,
                  and end_lr after T = total_steps
    inverse_sqrt: lr(k) = max_lr / sqrt((k + t - w) / t),  t = timescale (default w,
                  or 10,000 without a warm-up)

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> lr = make_schedule("polynomial", max_lr=1.0, total_steps=10, warmup_steps=2, end_lr=0.2,
...                    power=2.0).lr([0, 2, 4, 6, 10, 12])
>>> np.round(lr, 6).tolist()
[0.0, 1.0, 0.65, 0.4, 0.2, 0.2]
>>> make_schedule("inverse_sqrt", max_lr=1.0, warmup_steps=4).lr([0, 2, 4, 16]).tolist()
[0.0, 0.5, 1.0, 0.5]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules import trace
from clr_core.schedules.spec import FLOAT, INT, ParamSpec, PolicySpec, at_least_one, lr_param
from clr_core.schedules.warmup import (
    HF,
    HFSchedule,
    hf_warmup,
    max_lr_param,
    total_steps_param,
    warmup_steps_param,
)

__all__ = ["InverseSqrt", "Polynomial"]


class Polynomial(HFSchedule):
    __slots__ = ()
    hf_name = "polynomial"
    factor_code = (
        "    if k > TOTAL_STEPS:\n"
        "        f = END_LR / MAX_LR\n"
        "    else:\n"
        "        pct_remaining = 1 - (k - WARMUP_STEPS) / (TOTAL_STEPS - WARMUP_STEPS)\n"
        "        f = ((MAX_LR - END_LR) * pct_remaining**POWER + END_LR) / MAX_LR\n")
    spec = PolicySpec(
        "polynomial", "Polynomial decay (HF 'polynomial')",
        "Linear warm-up from 0, then (max_lr - end_lr) * (1 - progress)**power + end_lr, held at "
        "end_lr after total_steps: transformers' get_polynomial_decay_schedule_with_warmup, the "
        "BERT recipe (Devlin et al. 2019) with power 1.",
        [max_lr_param(), total_steps_param(),
         warmup_steps_param(0, required=False),
         lr_param("end_lr", 1e-7, "LR at total_steps (transformers' lr_end).", required=False),
         ParamSpec("power", 1.0, FLOAT, "1 = linear decay; 2 = quadratic; 0.5 = square root.")],
        source=HF, family="warm-up + decay")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        cls._check_steps(p)
        if not 0 <= p["end_lr"] < p["max_lr"]:
            raise ScheduleError(f"polynomial: end_lr ({p['end_lr']!r}) must be >= 0 and < max_lr "
                                f"({p['max_lr']!r}).")
        if p["warmup_steps"] >= p["total_steps"]:
            raise ScheduleError(f"polynomial: warmup_steps ({p['warmup_steps']}) must be < "
                                f"total_steps ({p['total_steps']}), or the decay has no steps.")
        if p["power"] <= 0:
            raise ScheduleError(f"polynomial: power must be > 0, got {p['power']!r}.")

    def _factor(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        w, total, init, end = p["warmup_steps"], p["total_steps"], p["max_lr"], p["end_lr"]
        pct_remaining = 1 - (k - w) / (total - w)
        decay = (init - end) * np.abs(pct_remaining) ** p["power"] + end
        out = np.where(k > total, end / init, decay / init)
        return np.where(k < w, hf_warmup(k, w), out)

    def _trace_after_warmup(self, out: np.ndarray, first: int) -> None:
        """(max_lr - end_lr) * (1 - progress)**power + end_lr, then end_lr after total_steps."""
        p = self._params
        w, total, init, end = p["warmup_steps"], p["total_steps"], p["max_lr"], p["end_lr"]
        seg, at = trace.part(out, first, 0, total + 1)
        if p["power"] == 1:
            trace.affine(seg, (init - end) * (1 - (at - w) / (total - w)) + end,
                         -(init - end) / (total - w))
        else:  # steps remaining / decay steps, to the power
            trace.power(seg, total - at, -1.0, total - w, p["power"], init - end, end)
        trace.fill(trace.part(out, first, total + 1)[0], init * (end / init))

    def hf_export(self) -> tuple[str, float, dict[str, Any]]:
        name, lr, args = super().hf_export()
        p = self._params
        return name, lr, {**args,
                      "scheduler_specific_kwargs": {"lr_end": p["end_lr"], "power": p["power"]}}

    def conventions(self) -> list[str]:
        return [*super().conventions(),
                f"end_lr is reached at step total_steps ({self._params['total_steps']}) and held."]


class InverseSqrt(HFSchedule):
    __slots__ = ()
    hf_name = "inverse_sqrt"
    factor_code = "    f = 1.0 / math.sqrt((k + (TIMESCALE - WARMUP_STEPS)) / TIMESCALE)\n"
    spec = PolicySpec(
        "inverse_sqrt", "Inverse square root (HF 'inverse_sqrt')",
        "Linear warm-up from 0, then max_lr / sqrt((k + timescale - warmup_steps) / timescale): "
        "transformers' get_inverse_sqrt_schedule (after big_vision), the decay of Vaswani et "
        "al.'s 'Attention Is All You Need' (2017). Open-ended: no total_steps.",
        [max_lr_param(), warmup_steps_param(),
         ParamSpec("timescale", None, INT, "Steps over which the LR falls by sqrt(2); empty = "
                   "warmup_steps (or 10,000 without a warm-up), transformers' default.",
                   optional=True)],
        source=HF, family="warm-up + decay")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        cls._check_steps(p)
        at_least_one("inverse_sqrt", p, "timescale")

    def _code_consts(self) -> list[str]:
        p = self._params
        return [f"MAX_LR = {p['max_lr']!r}", f"WARMUP_STEPS = {p['warmup_steps']!r}",
                f"TIMESCALE = {self._timescale()!r}"]

    def _timescale(self) -> int:
        p = self._params
        return p["timescale"] if p["timescale"] is not None else (p["warmup_steps"] or 10_000)

    def _factor(self, k: np.ndarray) -> np.ndarray:
        w, scale = self._params["warmup_steps"], self._timescale()
        decay = 1.0 / np.sqrt((k + (scale - w)) / scale)
        return np.where(k < w, hf_warmup(k, w), decay)

    def _trace_after_warmup(self, out: np.ndarray, first: int) -> None:
        w, scale = self._params["warmup_steps"], self._timescale()
        trace.reciprocal_sqrt(out, self._params["max_lr"], (first + (scale - w)) / scale,
                              1.0 / scale)

    def hf_export(self) -> tuple[str, float, dict[str, Any]]:
        name, lr, args = super().hf_export()
        return name, lr, {**args, "scheduler_specific_kwargs": {"timescale": self._timescale()}}
