"""A max_lr read for 1cycle, moved to the schedule that will actually train.

``recommended`` was chosen by training 1cycle at it (``bench/suggestions.py``); warm-up +
cosine spends the same share of its steps near the peak (mean LR = half of max_lr), but a
warmup-stable-decay (WSD) schedule holds the peak for most of the run (mean about 0.82 of
max_lr), so the same peak takes far bigger steps in total and the best peak is lower: on
the benchmark's WSD tasks the best max_lr was a third to a half of the best cosine one. The
move keeps the schedule's mean LR equal to what 1cycle at the recommended max_lr would
have: max_lr × (mean of 1cycle) / (mean of the schedule), both as fractions of the peak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache

from clr_core.schedules import from_dict
from clr_core.suggest.types import Suggestion, fmt_lr

__all__ = ["FITTED_POLICIES", "fit_factor", "for_schedule", "mean_lr_fraction"]

#: The schedules a recommendation is moved to (their mean LR against 1cycle's), as the
#: benchmark measured them; Smith's CLR policies take the range test's bounds as they are.
FITTED_POLICIES = ("warmup_cosine", "wsd")


@lru_cache(maxsize=1)
def _one_cycle_mean() -> float:
    return mean_lr_fraction({"policy": "one_cycle", "max_lr": 1.0, "total_steps": 1000})


def mean_lr_fraction(schedule: Mapping) -> float:
    """The schedule's mean LR over its ``total_steps`` as a fraction of its highest LR."""
    s = from_dict({**schedule})
    steps = int(schedule.get("total_steps") or 1000)
    trace = s.trace(steps)
    top = float(trace.max())
    # a trace too short to rise (a one-step warm-up is all at LR 0): no mean to keep
    return float(trace.mean() / top) if top > 0 else 0.0


def fit_factor(schedule: Mapping) -> float:
    """What a max_lr read for 1cycle is multiplied by on ``schedule`` to keep 1cycle's mean
    LR; 1.0 for a schedule within 5 % of 1cycle's mean (warm-up + cosine, 1cycle itself)."""
    fraction = mean_lr_fraction(schedule)
    if not fraction > 0:  # nothing trains at a positive LR: leave the peak as read
        return 1.0
    factor = _one_cycle_mean() / fraction
    return 1.0 if abs(factor - 1.0) < 0.05 else factor


def for_schedule(suggestion: Suggestion, schedule: Mapping) -> Suggestion:
    """``suggestion`` (read for 1cycle) scaled so that ``schedule``'s mean LR matches 1cycle's
    at the suggested max_lr (``fit_factor``)."""
    factor = fit_factor(schedule)
    if factor == 1.0:
        return suggestion
    lo, hi = suggestion.low * factor, suggestion.high * factor
    why = (f" For {schedule.get('policy')}, whose mean LR is a larger share of its peak than "
           f"1cycle's, max_lr x {factor:.2f} = {fmt_lr(suggestion.max_lr * factor)} keeps the "
           "same mean LR.")
    return replace(suggestion, max_lr=suggestion.max_lr * factor,
                   base_lr=suggestion.base_lr * factor, low=lo, high=hi,
                   explanation=suggestion.explanation + why)
