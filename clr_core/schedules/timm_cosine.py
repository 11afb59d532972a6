"""timm's CosineLRScheduler stepped per update: warm-up, cycles that grow and decay,
k-decay and seeded LR noise, in timm's float64 arithmetic.

Stepped per update means timm's training loop: `step_update(num_updates=k)` after the
k-th optimizer update, so the LR after k steps is timm's `_get_lr(k)` plus its noise;
before the first update it is what the constructor set (warmup_lr_init, or the
optimizer's lr when there is no warm-up), never noised.

In cycle i (of length t_initial * cycle_mul**i), t steps into it, with peak
max_lr * cycle_decay**i:

    lr(k) = min_lr + (peak - min_lr) / 2 * (1 + cos(pi * t**k_decay / T_i**k_decay))

During the warm-up (k < warmup_t) the LR is warmup_lr_init + k * (max_lr -
warmup_lr_init) / warmup_t; with warmup_prefix the cycles start after it, otherwise they
count from step 0. Inside
noise_range_t the LR is lr * (1 + n), n ~ N(0, noise_std) redrawn until |n| < noise_pct,
seeded by noise_seed + k.

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> lr = make_schedule("timm_cosine", max_lr=1.0, t_initial=10, min_lr=0.0, warmup_t=2,
...                    warmup_lr_init=0.0).lr([0, 1, 2, 5, 10])
>>> np.round(lr, 6).tolist()
[0.0, 0.5, 0.904508, 0.5, 0.0]
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules import codegen, trace
from clr_core.schedules.base import Schedule
from clr_core.schedules.spec import (
    BOOL,
    FLOAT,
    INT,
    ParamSpec,
    PolicySpec,
    at_least_one,
    lr_param,
    non_negative,
    positive,
)

__all__ = ["TimmCosine"]

SOURCE = ("Ross Wightman, 'PyTorch Image Models' (timm), CosineLRScheduler, 2019-2026; "
          "Loshchilov & Hutter, 'SGDR', 2017; Zhang et al., 'k-decay', 2020")

_PARAMS = [
    lr_param("max_lr", 5e-4, "LR at the start of the first cycle (the optimizer's lr in timm)."),
    ParamSpec("t_initial", 1000, INT, "Steps in the first cosine cycle (timm's t_initial, "
              "per update).", required=True),
    lr_param("min_lr", 1e-5, "LR at the end of every cycle (timm's lr_min).", required=False),
    ParamSpec("warmup_t", 50, INT, "Steps of linear warm-up from warmup_lr_init."),
    lr_param("warmup_lr_init", 1e-6, "LR at step 0 of the warm-up.", required=False),
    ParamSpec("warmup_prefix", False, BOOL, "Warm-up before the cycles (True) or inside the "
              "first cycle's t_initial steps (False, timm's default)."),
    ParamSpec("cycle_mul", 1.0, FLOAT, "Each cycle is cycle_mul times longer (>= 1)."),
    ParamSpec("cycle_decay", 1.0, FLOAT, "Peak LR multiplier per cycle (timm's cycle_decay)."),
    ParamSpec("cycle_limit", 1, INT, "Cycles before the LR stays at min_lr."),
    ParamSpec("k_decay", 1.0, FLOAT, "k-decay exponent (Zhang et al. 2020): > 1 keeps the LR "
              "high for longer."),
    ParamSpec("noise_range_t", None, INT, "First step with LR noise; empty = no noise.",
              optional=True),
    ParamSpec("noise_range_end", None, INT, "Step where the noise stops; empty = never.",
              optional=True),
    ParamSpec("noise_pct", 0.67, FLOAT, "Noise is resampled until |noise| < noise_pct."),
    ParamSpec("noise_std", 1.0, FLOAT, "Standard deviation of the noise."),
    ParamSpec("noise_seed", 42, INT, "Noise at step t is seeded with noise_seed + t."),
]


_CODE = """\
    if k == 0:  # the constructor's value, never noised
        return WARMUP_LR_INIT if WARMUP_T else MAX_LR
    if k < WARMUP_T:
        lr = WARMUP_LR_INIT + k * ((MAX_LR - WARMUP_LR_INIT) / WARMUP_T)
    else:
        t = k - WARMUP_T if WARMUP_PREFIX else k
        if CYCLE_MUL != 1:
            i = math.floor(math.log(1 - t / T_INITIAL * (1 - CYCLE_MUL), CYCLE_MUL))
            t_i = CYCLE_MUL**i * T_INITIAL
            t_curr = t - (1 - CYCLE_MUL**i) / (1 - CYCLE_MUL) * T_INITIAL
        else:
            i = t // T_INITIAL
            t_i = T_INITIAL
            t_curr = t - (T_INITIAL * i)
        lr_max = MAX_LR * CYCLE_DECAY**i
        if i < CYCLE_LIMIT:
            lr = MIN_LR + 0.5 * (lr_max - MIN_LR) * (
                1 + math.cos(math.pi * t_curr**K_DECAY / t_i**K_DECAY))
        else:
            lr = MIN_LR
    noisy = NOISE_RANGE_T is not None and k >= NOISE_RANGE_T and (
        NOISE_RANGE_END is None or k < NOISE_RANGE_END)
    if noisy:  # timm's seeded noise, resampled until |noise| < NOISE_PCT
        g = torch.Generator()
        g.manual_seed(NOISE_SEED + k)
        while True:
            noise = torch.randn(1, generator=g).item() * NOISE_STD
            if abs(noise) < NOISE_PCT:
                break
        lr = lr + lr * noise
    return lr
"""


@lru_cache(maxsize=65536)
def _noise(seed: int, pct: float, std: float) -> float:
    """timm's `_calculate_noise` (normal, resampled until |noise| < pct), seeded per step."""
    import torch  # deferred: only seeded noise needs torch, which the designer never loads

    g = torch.Generator()
    g.manual_seed(seed)
    while True:
        noise = torch.randn(1, generator=g).item() * std
        if abs(noise) < pct:
            return noise


class TimmCosine(Schedule):
    __slots__ = ()
    spec = PolicySpec(
        "timm_cosine", "timm cosine (warm-up, cycles, k-decay, noise)",
        "timm's CosineLRScheduler stepped per update: linear warm-up from warmup_lr_init, "
        "cosine cycles of t_initial steps (x cycle_mul each, peak x cycle_decay each) up to "
        "cycle_limit, k-decay, and seeded LR noise; identical to timm's scheduler.",
        _PARAMS, source=SOURCE, family="cosine")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        n = "timm_cosine"
        positive(n, p, "max_lr", "cycle_decay", "k_decay", "noise_pct", "noise_std")
        at_least_one(n, p, "t_initial", "cycle_limit")
        non_negative(n, p, "min_lr", "warmup_t", "warmup_lr_init", "noise_range_t",
                     "noise_range_end", "noise_seed")
        if p["cycle_mul"] < 1:
            raise ScheduleError(f"{n}: cycle_mul must be >= 1, got {p['cycle_mul']!r}.")
        if p["min_lr"] > p["max_lr"]:
            raise ScheduleError(f"{n}: min_lr ({p['min_lr']!r}) must be <= max_lr "
                                f"({p['max_lr']!r}).")
        if p["noise_pct"] > 1:
            raise ScheduleError(f"{n}: noise_pct must be <= 1, got {p['noise_pct']!r}: noise "
                                "beyond -100% puts negative LRs on the optimizer (timm "
                                "computes them too).")
        if p["noise_pct"] / p["noise_std"] < 0.05:
            raise ScheduleError(f"{n}: noise_pct / noise_std must be >= 0.05, or timm resamples "
                                "the noise almost forever.")
        if p["noise_range_end"] is not None and p["noise_range_t"] is None:
            raise ScheduleError(f"{n}: noise_range_end needs noise_range_t (the first noisy "
                                "step).")

    def _get_lr(self, t: np.ndarray) -> np.ndarray:
        """timm's `_get_lr`, vectorised; each branch is computed only where it applies."""
        p = self._params
        w, t0, mul = p["warmup_t"], p["t_initial"], p["cycle_mul"]
        k, lo = p["k_decay"], p["min_lr"]
        out = np.full(t.shape, lo, dtype=np.float64)
        warming = t < w
        out[warming] = p["warmup_lr_init"] + t[warming] * (
            (p["max_lr"] - p["warmup_lr_init"]) / max(w, 1))
        where = np.flatnonzero(~warming)
        s = t[where] - w if p["warmup_prefix"] else t[where]
        i = self._cycle(s)
        live = i < p["cycle_limit"]  # past the last cycle timm holds min_lr
        where, s, i = where[live], s[live], i[live]
        if mul != 1:
            t_i = mul**i * t0
            t_curr = s - (1 - mul**i) / (1 - mul) * t0
        else:
            t_i = t0
            t_curr = s - (t0 * i)
        ratio = t_curr / t_i if k == 1 else t_curr**k / t_i**k  # x**1.0 is x exactly
        lr_max = p["max_lr"] * p["cycle_decay"] ** i
        out[where] = lo + 0.5 * (lr_max - lo) * (1 + np.cos(np.pi * ratio))
        return out

    def _probe_lr(self, k: np.ndarray) -> np.ndarray:
        """The noiseless curve: noise only scales it by (1 + noise), |noise| < noise_pct
        <= 1, and drawing it would load torch where the designer never does."""
        return self._get_lr(k)

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        out = self._get_lr(k)
        start, end = p["noise_range_t"], p["noise_range_end"]
        if start is not None:
            noisy = (k >= start) & (k > 0) & ((k < end) if end is not None else True)
            for j in np.flatnonzero(noisy):
                noise = _noise(p["noise_seed"] + int(k[j]), p["noise_pct"], p["noise_std"])
                out[j] = out[j] + out[j] * noise
        return np.where(k == 0, p["warmup_lr_init"] if p["warmup_t"] else p["max_lr"], out)

    def _cycle(self, s: np.ndarray) -> np.ndarray:
        """timm's cycle index of update s (counted after a warm-up prefix)."""
        t0, mul = self._params["t_initial"], self._params["cycle_mul"]
        if mul != 1:
            return np.floor(np.log(1 - s / t0 * (1 - mul)) / math.log(mul)).astype(np.int64)
        return s // t0

    def _cycle_start(self, n: int) -> int | None:
        """The first update of cycle n by timm's own float arithmetic (searched next to the
        exact t0 * (mul**n - 1) / (mul - 1)); None if it cannot be settled."""
        t0, mul = self._params["t_initial"], self._params["cycle_mul"]
        if mul == 1:
            return n * t0
        try:
            guess = t0 * (mul**n - 1) / (mul - 1)
        except OverflowError:  # mul**n past float's range: no such cycle start
            return None
        if not math.isfinite(guess) or guess > 2**52:
            return None
        near = np.arange(max(0, math.floor(guess) - 2), math.ceil(guess) + 3)
        hit = np.flatnonzero(self._cycle(near) >= n)
        return int(near[hit[0]]) if hit.size else None

    def _trace(self, out: np.ndarray, first: int) -> None:
        """Warm-up, a cosine kernel per cycle and min_lr past cycle_limit; the closed form
        with k-decay or noise (a cosine of a power of the step), or past 64 cycles."""
        p = self._params
        w, t0, lo, mul = p["warmup_t"], p["t_initial"], p["min_lr"], p["cycle_mul"]
        if p["k_decay"] != 1 or p["noise_range_t"] is not None:
            return trace.chunked(out, first, self._lr)
        shift = w if p["warmup_prefix"] else 0  # iteration k is timm's update s = k - shift
        stop = first + out.size
        seg, at = trace.part(out, first, 0, w)
        rise = (p["max_lr"] - p["warmup_lr_init"]) / max(w, 1)
        trace.affine(seg, p["warmup_lr_init"] + at * rise, rise)
        n = int(self._cycle(np.array([max(first, w) - shift]))[0])
        start = self._cycle_start(n)
        if start is None:  # cannot be settled: the closed form decides
            return trace.chunked(out, first, self._lr)
        for _ in range(64):
            if n >= p["cycle_limit"] or shift + start >= stop:
                break
            end = self._cycle_start(n + 1)
            if end is None:
                return trace.chunked(out, first, self._lr)
            t_i = mul**n * t0 if mul != 1 else t0
            origin = (1 - mul**n) / (1 - mul) * t0 if mul != 1 else t0 * n
            seg, at = trace.part(out, first, max(w, shift + start), shift + end)
            half = 0.5 * (p["max_lr"] * p["cycle_decay"] ** n - lo)
            trace.cosine(seg, math.pi * ((at - shift - origin) / t_i), math.pi / t_i, lo + half,
                         half)
            n, start = n + 1, end
        else:  # more than 64 cycles in the range
            return trace.chunked(out, first, self._lr)
        if n >= p["cycle_limit"]:
            trace.fill(trace.part(out, first, max(w, shift + start))[0], lo)
        if first == 0 and out.size:  # the constructor's value
            out[0] = p["warmup_lr_init"] if w else p["max_lr"]

    def code_body(self) -> str:
        """An exact LambdaLR: timm's `_get_lr` and noise, per update."""
        consts = [f"{name.upper()} = {value!r}" for name, value in self._params.items()]
        return codegen.lambda_code(consts, _CODE)

    def timm_export(self) -> dict[str, Any]:
        """create_scheduler_v2 keywords: 'epochs' of one update each, stepped per update,
        so every count passes through unchanged."""
        p = self._params
        args = {"sched": "cosine", "num_epochs": p["t_initial"], "step_on_epochs": False,
                "updates_per_epoch": 1, "min_lr": p["min_lr"], "warmup_lr": p["warmup_lr_init"],
                "warmup_epochs": p["warmup_t"], "warmup_prefix": p["warmup_prefix"],
                "cycle_mul": p["cycle_mul"], "cycle_decay": p["cycle_decay"],
                "cycle_limit": p["cycle_limit"], "k_decay": p["k_decay"]}
        if p["noise_range_t"] is not None:
            ends = [p["noise_range_t"]] + ([p["noise_range_end"]]
                                           if p["noise_range_end"] is not None else [])
            args.update(noise=[_fraction_at_most(e, p["t_initial"]) for e in ends],
                        noise_pct=p["noise_pct"], noise_std=p["noise_std"],
                        noise_seed=p["noise_seed"])
        return args

    def conventions(self) -> list[str]:
        p = self._params
        where = ("before the cycles (warmup_prefix)" if p["warmup_prefix"]
                 else "inside the first cycle's t_initial steps")
        return [f"The warm-up starts at warmup_lr_init ({p['warmup_lr_init']:g}) and runs "
                f"{where}; the cosine ends at min_lr one step past each cycle, as in timm.",
                "Stepped per update (timm's step_update(num_updates)); before the first "
                "update the LR is the constructor's, without noise."]


def _fraction_at_most(step: int, total: int) -> float:
    """A fraction f with f * total rounding to `step` or just below, so timm's
    `noise_range = f * t_initial` switches the noise on at the same integer step."""
    f = step / total
    while f * total > step:
        f = math.nextafter(f, 0.0)
    return f
