"""The documents' rules of thumb, as functions the designer can apply and explain.

Sources: Smith (2015) "Cyclical Learning Rates for Training Neural Networks": stepsize
2-10 x iterations per epoch, base_lr = max_lr / 3 or / 4, stop training at the end of a
cycle. Smith (2018) "A disciplined approach to neural network hyper-parameters" (1cycle):
start at max_lr / 10, annihilate to about max_lr / 1000. Dehaene (2019) "Adaptive - and
Cyclical Learning Rates using PyTorch": base = max / 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules import Schedule

__all__ = [
    "DECAY_SHARE",
    "RULES",
    "WARMUP_SHARE",
    "Rule",
    "base_lr_for",
    "cycle_ends",
    "decay_steps_for",
    "epochs_per_cycle",
    "fit_to_length",
    "preview_length",
    "step_size_for",
    "suggest_num_iterations",
    "warmup_steps_for",
]


@dataclass(frozen=True)
class Rule:
    """base_lr = max_lr / divisor, with where the divisor comes from."""

    name: str
    divisor: float
    label: str
    explanation: str


RULES: dict[str, Rule] = {
    "clr_3": Rule("clr_3", 3.0, "CLR: max_lr / 3",
                  "Smith (2015): the optimum is within a factor of 2 of the largest LR that "
                  "converges; set base_lr to 1/3 or 1/4 of max_lr."),
    "clr_4": Rule("clr_4", 4.0, "CLR: max_lr / 4",
                  "Smith (2015): base_lr = 1/3 or 1/4 of max_lr; /4 is the more cautious end."),
    "one_cycle": Rule("one_cycle", 10.0, "1cycle: max_lr / 10",
                      "Smith (2018): the cycle starts 10 times below max_lr (OneCycleLR "
                      "div_factor=10; torch's default is 25)."),
    "min10_base6": Rule("min10_base6", 6.0, "Dehaene 2019: max_lr / 6",
                        "Dehaene (2019), \"Adaptive - and Cyclical Learning Rates using "
                        "PyTorch\": upper bound a factor 10 left of the loss minimum, lower "
                        "bound 6 times below it."),
    "annihilation": Rule("annihilation", 1000.0, "Annihilation: max_lr / 1000",
                         "Smith (2018): the last iterations of 1cycle go down to about 1/1000 "
                         "of max_lr."),
}


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ScheduleError(f"{name}: must be an integer >= 1, got {value!r}.")
    return int(value)


def step_size_for(iters_per_epoch: int, factor: float = 4) -> int:
    """Half-cycle length in iterations: `factor` epochs. Smith (2015) recommends 2-10
    epochs per half cycle (factor 2-10); other values are allowed, for short runs."""
    ipe = _positive_int("iters_per_epoch", iters_per_epoch)
    if isinstance(factor, bool) or not isinstance(factor, (int, float, np.integer, np.floating)):
        raise ScheduleError(f"factor: must be a number, got {factor!r}.")
    if not math.isfinite(factor) or factor <= 0:
        raise ScheduleError(f"factor: must be finite and > 0 (Smith: 2-10), got {factor!r}.")
    return max(1, int(math.floor(factor * ipe + 0.5)))


def base_lr_for(max_lr: float, rule: str = "clr_4") -> float:
    """base_lr from max_lr by one of `RULES`."""
    if rule not in RULES:
        raise ScheduleError(f"rule: unknown rule {rule!r}; valid rules: {', '.join(RULES)}.")
    if isinstance(max_lr, bool) or not isinstance(max_lr, (int, float, np.integer, np.floating)):
        raise ScheduleError(f"max_lr: must be a number, got {max_lr!r}.")
    if not math.isfinite(max_lr) or max_lr <= 0:
        raise ScheduleError(f"max_lr: must be finite and > 0, got {max_lr!r}.")
    return float(max_lr) / RULES[rule].divisor


def _ends_upto(schedule: Schedule, limit: int) -> np.ndarray:
    """Iterations where a cycle ends (the LR is back at its base) up to `limit`."""
    p = schedule.params
    if schedule.policy == "one_cycle":
        total = schedule.total_steps
        return np.array([total] if total <= limit else [], dtype=np.int64)
    if schedule.policy == "cosine_restarts" and p["T_mult"] > 1:
        ends, length, at = [], p["T_0"], p["T_0"]
        while at <= limit:
            ends.append(at)
            length *= p["T_mult"]
            at += length
        return np.array(ends, dtype=np.int64)
    length = schedule.cycle_length
    if not length:
        return np.array([], dtype=np.int64)
    return np.arange(length, limit + 1, length, dtype=np.int64)


def cycle_ends(schedule: Schedule, num_iterations: int) -> np.ndarray:
    """Iteration counts <= num_iterations at which a cycle is complete: train for one of
    these and the run stops with the LR at its base (Smith 2015: accuracy peaks there).
    Empty for non-cyclic policies; one_cycle ends at total_steps."""
    n = num_iterations if isinstance(num_iterations, (int, np.integer)) else None
    if n is None or isinstance(num_iterations, bool) or n < 0:
        raise ScheduleError(f"num_iterations: must be an integer >= 0, got {num_iterations!r}.")
    return _ends_upto(schedule, int(n))


def epochs_per_cycle(schedule: Schedule, iters_per_epoch: int) -> float | None:
    """Cycle length in epochs (Smith: 4-20 for stepsize 2-10 epochs); None without cycles."""
    ipe = _positive_int("iters_per_epoch", iters_per_epoch)
    length = schedule.cycle_length
    return None if not length else length / ipe


def preview_length(schedule: Schedule, *, cycles: int = 3, open_ended: int = 6000) -> int:
    """How many iterations show a schedule whole: its planned length (a 100k-step WSD with
    its cool-down, a timm cosine's every cycle), else ``cycles`` cycles (SGDR: its first
    ``cycles`` restarts), else ``open_ended``. A preview decimates, so any length draws fast."""
    if schedule.planned_steps:
        return int(schedule.planned_steps)
    p = schedule.params
    if schedule.policy == "timm_cosine" and p.get("t_initial"):
        limit = int(p.get("cycle_limit") or 1)
        mul = float(p.get("cycle_mul") or 1.0)
        length = sum(int(p["t_initial"] * mul ** i) for i in range(limit))
        return length + int(p.get("warmup_t") or 0) * (0 if p.get("warmup_prefix") is False else 1)
    if schedule.policy == "phases" and all("steps" in ph for ph in p.get("phases") or [{}]):
        return sum(int(ph["steps"]) for ph in p["phases"])
    if schedule.policy == "cosine_restarts":
        t0, mult = int(p["T_0"]), int(p.get("T_mult") or 1)
        return sum(t0 * mult ** i for i in range(cycles))
    if schedule.cycle_length:
        return cycles * int(schedule.cycle_length)
    return open_ended


def suggest_num_iterations(schedule: Schedule, target: int) -> int:
    """The cycle end nearest to `target` (at least one full cycle; ties round up), so a
    run stops where Smith says to. one_cycle returns total_steps; non-cyclic schedules
    return `target` unchanged."""
    target = _positive_int("target", target)
    if schedule.total_steps is not None:
        return int(schedule.total_steps)
    below = _ends_upto(schedule, target)
    if not len(below) and schedule.cycle_length is None and schedule.policy != "cosine_restarts":
        return target  # no cycles at all
    # the first end past target is at most one (the next) cycle away
    longest = max(int(below[-1]) if len(below) else 0, schedule.cycle_length or 0)
    step = schedule.params.get("T_mult", 1) or 1
    nxt = _ends_upto(schedule, target + (longest + schedule.params.get("T_0", 0)) * step + 1)
    candidates = np.concatenate([below[-1:], nxt[nxt > target][:1]])
    dist = np.abs(candidates - target)
    return int(candidates[dist == dist.min()].max())


#: Share of a run spent warming up, and cooling down for WSD, where a caller sizes a
#: schedule from its length alone: the common recipes' 10% warm-up, and the ~20% cool-down
#: Hägele et al., "Scaling Laws and Compute-Optimal Training Beyond Fixed Training
#: Durations" (2024) found enough.
WARMUP_SHARE = 0.1
DECAY_SHARE = 0.2


def warmup_steps_for(total_steps: int) -> int:
    """WARMUP_SHARE of a run, at least one step."""
    return max(1, round(WARMUP_SHARE * total_steps))


def decay_steps_for(total_steps: int) -> int:
    """DECAY_SHARE of a run (WSD's cool-down), at least one step."""
    return max(1, round(DECAY_SHARE * total_steps))


def _scaled(steps: Any, ratio: float) -> Any:
    return max(1, round(steps * ratio)) if isinstance(steps, int) and steps > 0 else steps


def fit_to_length(config: dict, num_iter: int) -> tuple[dict, str | None]:
    """``config`` (a schedule dict) planned for a run of ``num_iter`` iterations, and a line
    saying what changed (None when nothing did). A schedule that plans ``total_steps``
    (1cycle, warm-up + decay, WSD, phases) must end where the training ends (Smith 2018:
    annihilate at the end); its warm-up, cool-down and phases given in steps keep their
    share of the run, so a 6536-step WSD with 654 warming up becomes, over 300 iterations,
    one with 30. The warm-up's end and the cool-down's start are what is scaled, so they
    keep their order. Open-ended schedules are returned as they are."""
    total = config.get("total_steps")
    if not isinstance(total, int) or total <= 0 or total == num_iter:
        return dict(config), None
    ratio = num_iter / total
    out = {**config, "total_steps": num_iter}
    warm = config.get("warmup_steps")
    if isinstance(warm, int) and warm > 0:
        out["warmup_steps"] = min(_scaled(warm, ratio), num_iter)
    decay = config.get("decay_steps")
    if isinstance(decay, int) and decay > 0:
        start = round((total - decay) * ratio)  # where the cool-down begins, scaled
        out["decay_steps"] = max(1, num_iter - max(start, out.get("warmup_steps") or 0))
    moved = [f"{k} {config[k]} → {out[k]}" for k in ("warmup_steps", "decay_steps")
             if k in config and out[k] != config[k]]
    if isinstance(config.get("phases"), list):
        out["phases"] = [{**ph, "steps": _scaled(ph["steps"], ratio)}
                         if isinstance(ph, dict) and "steps" in ph else ph
                         for ph in config["phases"]]
        if out["phases"] != config["phases"]:
            moved.append("the phases given in steps alike")
    note = (f"Planned for {total} steps, run for {num_iter}: total_steps set to the run"
            + (f", {', '.join(moved)} (the same share of the run)" if moved else "") + ".")
    return out, note
