"""Warm-up then decay, as Hugging Face transformers computes it: linear, cosine, constant.

Each closed form is transformers' `lr_lambda` arithmetic (the same float64 operations,
vectorised) times max_lr, which is what its LambdaLR does with the optimizer's lr, so the
two agree step for step, past `total_steps` too (transformers does not stop there).

With w = warmup_steps and T = total_steps, lr(k) = max_lr * f(k), where f(k) = k / w for
k < w (the warm-up from 0) and afterwards, with p = (k - w) / (T - w):

    warmup_linear:   f(k) = max(0, (T - k) / (T - w))
    warmup_cosine:   f(k) = max(0, c * (1 - r) + r),  c = (1 + cos(2 pi num_cycles p)) / 2,
                     r = min_lr / max_lr
    warmup_constant: f(k) = 1

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> k = [0, 1, 2, 4, 6, 8, 10]
>>> make_schedule("warmup_linear", max_lr=1.0, total_steps=10, warmup_steps=2).lr(k).tolist()
[0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]
>>> lr = make_schedule("warmup_cosine", max_lr=1.0, total_steps=10, warmup_steps=2).lr(k)
>>> np.round(lr, 6).tolist()
[0.0, 0.5, 1.0, 0.853553, 0.5, 0.146447, 0.0]
>>> make_schedule("warmup_constant", max_lr=1.0, warmup_steps=4).lr([0, 1, 2, 4, 100]).tolist()
[0.0, 0.25, 0.5, 1.0, 1.0]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules import codegen, trace
from clr_core.schedules.base import Schedule
from clr_core.schedules.spec import (
    FLOAT,
    INT,
    ParamSpec,
    PolicySpec,
    at_least_one,
    lr_param,
    non_negative,
    positive,
)

__all__ = [
    "HF",
    "HFSchedule",
    "WarmupConstant",
    "WarmupCosine",
    "WarmupLinear",
    "hf_warmup",
    "max_lr_param",
    "total_steps_param",
    "warmup_steps_param",
]

HF = ("Wolf et al., 'Transformers: State-of-the-Art Natural Language Processing', 2020 "
      "(Hugging Face transformers' get_scheduler)")
GOYAL = ("Goyal et al., 'Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour', 2017 "
         "(linear warm-up)")


def max_lr_param(default: float = 5e-5) -> ParamSpec:
    return lr_param("max_lr", default, "Peak LR, reached at the end of the warm-up (the "
                    "optimizer's lr in transformers).")


def total_steps_param(default: int = 1000) -> ParamSpec:
    return ParamSpec("total_steps", default, INT, "Training steps, warm-up included "
                     "(transformers' num_training_steps).", required=True)


def warmup_steps_param(default: int = 60, required: bool = True) -> ParamSpec:
    return ParamSpec("warmup_steps", default, INT, "Steps of linear warm-up from 0 to max_lr, "
                     "counted inside total_steps (transformers' num_warmup_steps).",
                     required=required)


def hf_warmup(k: np.ndarray, warmup: int) -> np.ndarray:
    """float(k) / float(max(1, warmup)): transformers' warm-up factor."""
    return k.astype(np.float64) / float(max(1, warmup))


class HFSchedule(Schedule):
    """A transformers schedule: lr = max_lr * factor(k), the factor being its lr_lambda."""

    __slots__ = ()
    hf_name = ""

    def _factor(self, k: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _lr(self, k: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):  # branches np.where discards
            return self._params["max_lr"] * self._factor(k)

    def _trace(self, out: np.ndarray, first: int) -> None:
        """The linear warm-up, then `_trace_after_warmup` from warmup_steps on."""
        p = self._params
        w, peak = p["warmup_steps"], p["max_lr"]
        seg, at = trace.part(out, first, 0, w)
        trace.affine(seg, peak * (at / float(max(1, w))), peak / float(max(1, w)))
        seg, at = trace.part(out, first, w)
        if seg.size:
            self._trace_after_warmup(seg, at)

    def _trace_after_warmup(self, out: np.ndarray, first: int) -> None:
        trace.chunked(out, first, self._lr)

    @classmethod
    def _check_steps(cls, p: dict[str, Any]) -> None:
        """max_lr > 0, total_steps >= 1, 0 <= warmup_steps <= total_steps (where present)."""
        policy = cls.spec.name
        positive(policy, p, "max_lr")
        non_negative(policy, p, "warmup_steps")
        if "total_steps" in p:
            at_least_one(policy, p, "total_steps")
            if p["warmup_steps"] > p["total_steps"]:
                raise ScheduleError(f"{policy}: warmup_steps ({p['warmup_steps']}) must be <= "
                                    f"total_steps ({p['total_steps']}); the warm-up is counted "
                                    "inside total_steps.")

    factor_code = ""  # statements setting f, the lr_lambda past the warm-up

    def _code_consts(self) -> list[str]:
        return [f"{name.upper()} = {value!r}" for name, value in self._params.items()]

    def code_body(self) -> str:
        """An exact LambdaLR: transformers' lr_lambda, times max_lr."""
        return codegen.lambda_code(self._code_consts(), (
            "    if k < WARMUP_STEPS:\n"
            "        return MAX_LR * (float(k) / float(max(1, WARMUP_STEPS)))\n"
            + self.factor_code + "    return MAX_LR * f\n"))

    def hf_export(self) -> tuple[str, float, dict[str, Any]] | None:
        p = self._params
        args = {"num_warmup_steps": p["warmup_steps"]}
        if "total_steps" in p:
            args["num_training_steps"] = p["total_steps"]
        return self.hf_name, p["max_lr"], args

    def conventions(self) -> list[str]:
        p = self._params
        out = [f"The warm-up starts at 0 (step 0) and reaches max_lr at step "
               f"{p['warmup_steps']}; its steps count inside total_steps, as in transformers "
               "(optax does the same; Keras' warm-up comes before its decay_steps)."]
        return out


class WarmupLinear(HFSchedule):
    __slots__ = ()
    hf_name = "linear"
    factor_code = ("    f = max(0.0, float(TOTAL_STEPS - k) / float(max(1, TOTAL_STEPS - "
                   "WARMUP_STEPS)))\n")
    spec = PolicySpec(
        "warmup_linear", "Linear warm-up + linear decay (HF 'linear')",
        "Linear from 0 to max_lr over warmup_steps, then linear to 0 at total_steps: transformers' "
        "get_linear_schedule_with_warmup, the default of the Trainer for fine-tuning.",
        [max_lr_param(), total_steps_param(), warmup_steps_param()],
        source=HF, family="warm-up + decay")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        cls._check_steps(p)

    def _factor(self, k: np.ndarray) -> np.ndarray:
        w, total = self._params["warmup_steps"], self._params["total_steps"]
        decay = np.maximum(0.0, (total - k).astype(np.float64) / float(max(1, total - w)))
        return np.where(k < w, hf_warmup(k, w), decay)

    def _trace_after_warmup(self, out: np.ndarray, first: int) -> None:
        p = self._params
        total, peak = p["total_steps"], p["max_lr"]
        span = float(max(1, total - p["warmup_steps"]))
        seg, at = trace.part(out, first, 0, total + 1)  # reaches 0 at total_steps
        trace.affine(seg, peak * ((total - at) / span), -peak / span)
        trace.fill(trace.part(out, first, total + 1)[0], 0.0)

    def conventions(self) -> list[str]:
        return [*super().conventions(),
                f"The LR reaches 0 at step total_steps ({self._params['total_steps']}) and stays "
                "there; the last trained step (total_steps - 1) is one decay step above 0."]


class WarmupCosine(HFSchedule):
    __slots__ = ()
    factor_code = (
        "    progress = float(k - WARMUP_STEPS) / float(max(1, TOTAL_STEPS - WARMUP_STEPS))\n"
        "    f = 0.5 * (1.0 + math.cos(math.pi * float(NUM_CYCLES) * 2.0 * progress))\n"
        "    if MIN_LR:\n"
        "        rate = MIN_LR / MAX_LR\n"
        "        f = f * (1 - rate) + rate\n"
        "    f = max(0.0, f)\n")
    spec = PolicySpec(
        "warmup_cosine", "Linear warm-up + cosine decay (HF 'cosine')",
        "Linear from 0 to max_lr over warmup_steps, then a cosine to min_lr at total_steps: "
        "transformers' get_cosine_schedule_with_warmup (min_lr 0) and "
        "get_cosine_with_min_lr_schedule_with_warmup; after Loshchilov & Hutter's SGDR (2017).",
        [max_lr_param(), total_steps_param(), warmup_steps_param(),
         lr_param("min_lr", 0.0, "LR at total_steps; may be 0.", required=False),
         ParamSpec("num_cycles", 0.5, FLOAT, "Waves of the cosine after warm-up: 0.5 = a single "
                   "half-cosine down to min_lr (transformers' num_cycles in this function).")],
        source=HF, family="warm-up + decay")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        cls._check_steps(p)
        non_negative("warmup_cosine", p, "min_lr")
        if p["min_lr"] >= p["max_lr"]:
            raise ScheduleError(f"warmup_cosine: min_lr ({p['min_lr']!r}) must be < max_lr "
                                f"({p['max_lr']!r}).")
        positive("warmup_cosine", p, "num_cycles")

    @property
    def hf_name(self) -> str:  # type: ignore[override]
        return "cosine" if self._params["min_lr"] == 0 else "cosine_with_min_lr"

    def _factor(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        w, total = p["warmup_steps"], p["total_steps"]
        progress = (k - w).astype(np.float64) / float(max(1, total - w))
        factor = 0.5 * (1.0 + np.cos(np.pi * float(p["num_cycles"]) * 2.0 * progress))
        if p["min_lr"]:
            rate = p["min_lr"] / p["max_lr"]
            factor = factor * (1 - rate) + rate
        return np.where(k < w, hf_warmup(k, w), np.maximum(0.0, factor))

    def _trace_after_warmup(self, out: np.ndarray, first: int) -> None:
        """max_lr * max(0, rate + (1 - rate) * (1 + cos(theta)) / 2), theta linear in k."""
        p = self._params
        w, peak = p["warmup_steps"], p["max_lr"]
        rate = p["min_lr"] / peak
        dtheta = math.pi * float(p["num_cycles"]) * 2.0 / float(max(1, p["total_steps"] - w))
        half = peak * 0.5 * (1 - rate)
        trace.cosine(out, dtheta * (first - w), dtheta, peak * rate + half, half, floor=0.0)

    def hf_export(self) -> tuple[str, float, dict[str, Any]]:
        name, lr, args = super().hf_export()
        p = self._params
        extra = {"num_cycles": p["num_cycles"]}
        if p["min_lr"]:
            extra["min_lr"] = p["min_lr"]
        return name, lr, {**args, "scheduler_specific_kwargs": extra}

    def conventions(self) -> list[str]:
        p = self._params
        return [*super().conventions(),
                f"With num_cycles={p['num_cycles']:g} the cosine makes {2 * p['num_cycles']:g} "
                "half-wave(s) after the warm-up (transformers' get_cosine_with_hard_restarts_"
                "schedule_with_warmup uses num_cycles for restarts instead). Past total_steps "
                "transformers keeps following the cosine; so does this preview."]


class WarmupConstant(HFSchedule):
    __slots__ = ()
    hf_name = "constant_with_warmup"
    factor_code = "    f = 1.0\n"
    spec = PolicySpec(
        "warmup_constant", "Linear warm-up + constant (HF 'constant_with_warmup')",
        "Linear from 0 to max_lr over warmup_steps, then constant: transformers' "
        "get_constant_schedule_with_warmup (Goyal et al. 2017's warm-up without a decay).",
        [max_lr_param(), warmup_steps_param()], source=HF, family="warm-up + decay")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        cls._check_steps(p)

    def _factor(self, k: np.ndarray) -> np.ndarray:
        w = self._params["warmup_steps"]
        return np.where(k < w, k.astype(np.float64) / float(max(1.0, w)), 1.0)

    def _trace_after_warmup(self, out: np.ndarray, first: int) -> None:
        trace.fill(out, self._params["max_lr"])
