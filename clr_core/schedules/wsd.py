"""Warmup-stable-decay (WSD), as Hugging Face transformers' get_wsd_schedule computes it.

The pre-training schedule of MiniCPM (Hu et al. 2024), studied by Hägele et al. (2024),
who found a 1-sqrt cool-down over 10-20 % of training best; that is this policy's
default decay shape and timm's, while transformers defaults to cosine.

With w = warmup_steps, d = decay_steps, s = total_steps - w - d stable steps and
r = min_lr / max_lr:

    lr(k) = max_lr * (r + (1 - r) * g(k))
    g(k)  = up(k / w)                 for k < w             (the warm-up)
            1                         for w <= k < w + s    (stable)
            down((k - w - s) / d)     for w + s <= k < T    (the cool-down)
            0                         after T               (lr = min_lr)

    linear: up(p) = p,                      down(p) = 1 - p
    cosine: up(p) = (1 - cos(pi p)) / 2,    down(p) = (1 + cos(pi p)) / 2
    1-sqrt: up(p) = 1 - sqrt(1 - p),        down(p) = 1 - sqrt(p)

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> lr = make_schedule("wsd", max_lr=1.0, total_steps=10, warmup_steps=2,
...                    decay_steps=4).lr(np.arange(11))
>>> np.round(lr, 6).tolist()
[0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.292893, 0.133975, 0.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules import codegen, trace
from clr_core.schedules.spec import CHOICE, INT, ParamSpec, PolicySpec, lr_param, non_negative
from clr_core.schedules.warmup import (
    HF,
    HFSchedule,
    max_lr_param,
    total_steps_param,
    warmup_steps_param,
)

__all__ = ["WSD"]

SHAPES = ("linear", "cosine", "1-sqrt")
SOURCE = (HF + "; Hägele et al., 'Scaling Laws and Compute-Optimal Training Beyond Fixed "
          "Training Durations', 2024; Hu et al., 'MiniCPM', 2024")


_WARMUP_CODE = {"linear": "progress", "cosine": "0.5 * (1.0 - math.cos(math.pi * progress))",
                "1-sqrt": "1.0 - math.sqrt(1.0 - progress)"}
_DECAY_CODE = {"linear": "1.0 - progress",
               "cosine": "0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress))",
               "1-sqrt": "1.0 - math.sqrt(progress)"}


def _warmup(shape: str, progress: np.ndarray) -> np.ndarray:
    if shape == "linear":
        return progress
    if shape == "cosine":
        return 0.5 * (1.0 - np.cos(np.pi * progress))
    return 1.0 - np.sqrt(1.0 - progress)


def _decay(shape: str, progress: np.ndarray) -> np.ndarray:
    if shape == "linear":
        return 1.0 - progress
    if shape == "cosine":  # transformers' num_cycles=0.5: pi * 0.5 * 2.0 == pi exactly
        return 0.5 * (1.0 + np.cos(np.pi * 0.5 * 2.0 * progress))
    return 1.0 - np.sqrt(progress)


class WSD(HFSchedule):
    __slots__ = ()
    hf_name = "warmup_stable_decay"
    spec = PolicySpec(
        "wsd", "Warmup-stable-decay (WSD)",
        "Warm up to max_lr, hold it, then cool down to min_lr over the last decay_steps: "
        "transformers' get_wsd_schedule. Hägele et al. (2024) found a 1-sqrt cool-down over "
        "10-20 % of training matches cosine and lets a run be extended without restarting.",
        [max_lr_param(3e-4), total_steps_param(10_000), warmup_steps_param(500),
         ParamSpec("decay_steps", 2000, INT, "Steps of the final cool-down, inside total_steps "
                   "(20 % here; Hägele et al.: 10-20 %).", required=True),
         lr_param("min_lr", 0.0, "LR after the cool-down; the warm-up also starts here "
                  "(transformers' min_lr_ratio x max_lr).", required=False),
         ParamSpec("warmup_shape", "linear", CHOICE, "Shape of the warm-up.", choices=SHAPES),
         ParamSpec("decay_shape", "1-sqrt", CHOICE, "Shape of the cool-down (transformers' "
                   "default is cosine; 1-sqrt is Hägele et al.'s best and timm's default).",
                   choices=SHAPES)],
        source=SOURCE, family="warm-up + decay")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        cls._check_steps(p)
        non_negative("wsd", p, "min_lr")
        if p["decay_steps"] < 1:
            raise ScheduleError(f"wsd: decay_steps must be an integer >= 1, got "
                                f"{p['decay_steps']!r}.")
        if p["warmup_steps"] + p["decay_steps"] > p["total_steps"]:
            raise ScheduleError(f"wsd: warmup_steps + decay_steps ({p['warmup_steps']} + "
                                f"{p['decay_steps']}) must be <= total_steps "
                                f"({p['total_steps']}).")
        if p["min_lr"] >= p["max_lr"]:
            raise ScheduleError(f"wsd: min_lr ({p['min_lr']!r}) must be < max_lr "
                                f"({p['max_lr']!r}).")

    def _factor(self, k: np.ndarray) -> np.ndarray:
        """transformers' WSD lr_lambda; each phase computed only on its own steps."""
        p = self._params
        w, d = p["warmup_steps"], p["decay_steps"]
        stable = p["total_steps"] - w - d
        ratio = p["min_lr"] / p["max_lr"]
        out = np.full(k.shape, ratio, dtype=np.float64)
        out[(k >= w) & (k < w + stable)] = 1.0
        up = k < w
        factor = _warmup(p["warmup_shape"], k[up].astype(np.float64) / float(max(1, w)))
        out[up] = np.maximum(0.0, factor * (1.0 - ratio) + ratio)
        down = (k >= w + stable) & (k < w + stable + d)
        progress = (k[down] - w - stable).astype(np.float64) / float(max(1, d))
        out[down] = np.maximum(0.0, _decay(p["decay_shape"], progress) * (1.0 - ratio) + ratio)
        return out

    def _trace(self, out: np.ndarray, first: int) -> None:
        """The closed form on the warm-up and the cool-down; fills for the stable phase and
        after the cool-down."""
        p = self._params
        w, d, total = p["warmup_steps"], p["decay_steps"], p["total_steps"]
        trace.chunked(*trace.part(out, first, 0, w), self._lr)
        trace.fill(trace.part(out, first, w, total - d)[0], p["max_lr"] * 1.0)
        trace.chunked(*trace.part(out, first, total - d, total), self._lr)
        trace.fill(trace.part(out, first, total)[0], p["max_lr"] * (p["min_lr"] / p["max_lr"]))

    def code_body(self) -> str:
        """An exact LambdaLR: transformers' WSD lr_lambda, times max_lr."""
        p = self._params
        w, d = p["warmup_steps"], p["decay_steps"]
        consts = [f"MAX_LR = {p['max_lr']!r}", f"WARMUP_STEPS = {w!r}",
                  f"STABLE_STEPS = {p['total_steps'] - w - d!r}", f"DECAY_STEPS = {d!r}",
                  f"MIN_LR_RATIO = {p['min_lr'] / p['max_lr']!r}"]
        return codegen.lambda_code(consts, (
            "    if k < WARMUP_STEPS:\n"
            "        progress = float(k) / float(max(1, WARMUP_STEPS))\n"
            f"        f = {_WARMUP_CODE[p['warmup_shape']]}\n"
            "        return MAX_LR * max(0.0, f * (1.0 - MIN_LR_RATIO) + MIN_LR_RATIO)\n"
            "    if k < WARMUP_STEPS + STABLE_STEPS:\n"
            "        return MAX_LR * 1.0\n"
            "    if k < WARMUP_STEPS + STABLE_STEPS + DECAY_STEPS:\n"
            "        progress = float(k - WARMUP_STEPS - STABLE_STEPS) / float(max(1, DECAY_STEPS))\n"
            f"        f = {_DECAY_CODE[p['decay_shape']]}\n"
            "        return MAX_LR * max(0.0, f * (1.0 - MIN_LR_RATIO) + MIN_LR_RATIO)\n"
            "    return MAX_LR * MIN_LR_RATIO\n"))

    def hf_export(self) -> tuple[str, float, dict[str, Any]]:
        name, lr, args = super().hf_export()
        p = self._params
        return name, lr, {**args, "scheduler_specific_kwargs": {
            "num_decay_steps": p["decay_steps"], "warmup_type": p["warmup_shape"],
            "decay_type": p["decay_shape"], "min_lr_ratio": p["min_lr"] / p["max_lr"]}}

    def conventions(self) -> list[str]:
        p = self._params
        end = p["total_steps"]
        return [f"The warm-up starts at min_lr ({p['min_lr']:g}), not 0: transformers scales it "
                "by min_lr_ratio. warmup_steps and decay_steps both count inside total_steps; "
                f"the stable phase is the {end - p['warmup_steps'] - p['decay_steps']} steps "
                "between them.",
                f"min_lr is reached at step {end} (total_steps) and held; timm's WSD puts the "
                "warm-up before its t_initial instead."]
