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
from clr_core.schedules import Schedule, make_schedule

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
    "planned_length",
    "preview_length",
    "shortest_fit",
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


def planned_length(schedule: Schedule) -> int | None:
    """The iterations a schedule is planned for, when it has an end: its planned steps
    (1cycle, warm-up + cosine, WSD), a timm cosine's every cycle, the phases' steps; None
    for a cyclical or open-ended one."""
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
    return None


def preview_length(schedule: Schedule, *, cycles: int = 3, open_ended: int = 6000) -> int:
    """How many iterations show a schedule whole: its planned length (a 100k-step WSD with
    its cool-down, a timm cosine's every cycle), else ``cycles`` cycles (SGDR: its first
    ``cycles`` restarts), else ``open_ended``. A preview decimates, so any length draws fast."""
    planned = planned_length(schedule)
    if planned is not None:
        return planned
    p = schedule.params
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


def _boundary(at: int, total: int, num_iter: int) -> int:
    """Step ``at`` of a ``total``-step plan moved to the same share of ``num_iter``: the
    start stays the start and the end the end, and a point strictly inside the plan stays
    strictly inside (a warm-up of some steps keeps one, a cool-down keeps its last step)."""
    if at <= 0 or at >= total:
        return 0 if at <= 0 else num_iter
    return min(max(1, round(at * num_iter / total)), num_iter - 1)


def _phase_steps(steps: list[int], total: int, num_iter: int) -> list[int]:
    """Phases given in steps rescaled by their ends (cumulative), so rounding never adds
    or drops a step from the plan as a whole; every phase keeps at least one step."""
    ends = np.cumsum(steps).tolist()
    last = max(len(steps), round(ends[-1] * num_iter / total))
    out: list[int] = []
    for i, end in enumerate(ends):
        room = last - (len(steps) - 1 - i)  # leave one step for each phase after this one
        scaled = last if i == len(ends) - 1 else round(end * num_iter / total)
        out.append(min(max(scaled, (out[-1] if out else 0) + 1), room))
    return [b - a for a, b in zip([0, *out[:-1]], out, strict=True)]


def _one_cycle_pct(fitted: dict, num_iter: int) -> float:
    """A pct_start torch's OneCycleLR takes at ``num_iter`` steps (``fitted``: the plan with
    its other parts already fitted, a ramp included): the planned one, unless
    its warm-up (or, three-phase, its middle phase) ends exactly where the phase before it
    does, which OneCycleLR refuses (it would divide by zero); then half a step over, or
    under where over leaves (0, 1)."""
    pct = fitted.get("pct_start", 0.3)
    for shift in (0.0, 0.5, -0.5, 0.25, -0.25):
        candidate = pct + shift / num_iter
        if 0 < candidate < 1:
            try:
                make_schedule(**{**fitted, "pct_start": candidate})
            except ScheduleError:
                continue
            return candidate
    return pct  # nothing near works: make_schedule says why


def shortest_fit(config: dict) -> int:
    """The fewest iterations ``fit_to_length`` can fit ``config`` to: one per phase given in
    steps, two where a warm-up, cool-down or ramp lies strictly inside the plan (one step on
    each side of it), enough for a phase given as a fraction of the run to last a step."""
    total = config.get("total_steps")
    if not isinstance(total, int) or total <= 0:
        return 1
    inner = [config.get(k) for k in ("warmup_steps", "ramp_steps")]
    decay = config.get("decay_steps")
    inner.append(total - decay if isinstance(decay, int) and decay > 0 else None)
    fewest = 2 if any(isinstance(b, int) and 0 < b < total for b in inner) else 1
    phases = config.get("phases") if isinstance(config.get("phases"), list) else []
    steps = sum(1 for ph in phases if isinstance(ph, dict) and "steps" in ph)
    pcts = [ph["pct"] for ph in phases if isinstance(ph, dict) and "pct" in ph]
    return max([fewest, steps, *(_fewest_for_share(pct) for pct in pcts
                                 if isinstance(pct, (int, float)) and pct > 0)])


def _fewest_for_share(pct: float) -> int:
    """The fewest steps n with pct * n >= 1, the test `phases` applies (in floats)."""
    n = max(1, math.ceil(1 / pct))
    while n > 1 and pct * (n - 1) >= 1:
        n -= 1
    while pct * n < 1:
        n += 1
    return n


def fit_to_length(config: dict, num_iter: int) -> tuple[dict, str | None]:
    """``config`` (a schedule dict) planned for a run of ``num_iter`` iterations, and a line
    saying what changed (None when nothing did). A schedule that plans ``total_steps``
    (1cycle, warm-up + decay, WSD, phases) must end where the training ends (Smith 2018:
    annihilate at the end); its warm-up, cool-down, ramp and phases given in steps keep
    their share of the run, so a 6536-step WSD with 654 warming up becomes, over 300
    iterations, one with 30. What is scaled are the points where a part ends or starts
    (``_boundary``), so the parts keep their order and a part of the plan keeps at least a
    step; any ``num_iter`` from ``shortest_fit(config)`` on gives a schedule
    ``make_schedule`` takes. Open-ended schedules are returned as they are.

    Raises ScheduleError when ``num_iter`` is shorter than ``shortest_fit(config)``."""
    total = config.get("total_steps")
    if not isinstance(total, int) or total <= 0 or total == num_iter:
        return dict(config), None
    n = _positive_int("num_iter", num_iter)
    fewest = shortest_fit(config)
    if n < fewest:
        raise ScheduleError(f"num_iter: this {config.get('policy', 'schedule')} planned for "
                            f"{total} steps needs at least {fewest} iterations to keep each of "
                            f"its parts, got {n}.")
    out = {**config, "total_steps": n}
    for key in ("warmup_steps", "ramp_steps"):
        if isinstance(config.get(key), int) and config[key] > 0:
            out[key] = _boundary(config[key], total, n)
    decay = config.get("decay_steps")
    if isinstance(decay, int) and decay > 0:  # where the cool-down begins, scaled
        out["decay_steps"] = n - max(_boundary(total - decay, total, n),
                                     out.get("warmup_steps") or 0)
    moved = [f"{k} {config[k]} → {out[k]}" for k in ("warmup_steps", "decay_steps", "ramp_steps")
             if k in config and out[k] != config[k]]
    nudged = ""
    if config.get("policy") == "one_cycle":
        out["pct_start"] = _one_cycle_pct(out, n)
        if out["pct_start"] != config.get("pct_start", out["pct_start"]):
            nudged = (f" pct_start {config['pct_start']} → {out['pct_start']:.4g}: at "
                      f"{config['pct_start']} a phase would last zero steps, which "
                      "OneCycleLR refuses.")
    if isinstance(config.get("phases"), list):
        given = [i for i, ph in enumerate(config["phases"]) if isinstance(ph, dict) and "steps" in ph
                 and isinstance(ph["steps"], int) and ph["steps"] > 0]
        phases = [dict(ph) if isinstance(ph, dict) else ph for ph in config["phases"]]
        if given:
            for i, steps in zip(given, _phase_steps([phases[i]["steps"] for i in given], total, n),
                                strict=True):
                phases[i]["steps"] = steps
        out["phases"] = phases
        if out["phases"] != config["phases"]:
            moved.append("the phases given in steps alike")
    note = (f"Planned for {total} steps, run for {n}: total_steps set to the run"
            + (f", {', '.join(moved)} (the same share of the run)" if moved else "") + "."
            + nudged)
    return out, note
