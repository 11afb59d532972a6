"""LR suggestions read off a range-test curve: each a pure function of ``(lrs, losses)``.

Every rule in use today gets the same curve, so the app can overlay them and show how
far apart they land (the peers each show one and hide the rest). The fastai rules are
transcriptions of ``fastai/callback/schedule.py`` (valley, steep, minimum, slide) and
``suggest_all`` cuts the curve the way ``Learner.lr_find`` does: drop the first
``n // 10`` and the last 5 points, then stop at the first NaN. Pass the *smoothed*
loss, as fastai's recorder does.

A rule that yields one LR gives ``max_lr``; ``base_lr`` then follows its source:
Smith (2015) base = max/3 or /4 (we use /4); Dehaene, "Adaptive - and Cyclical Learning
Rates using PyTorch" (2019), base = max/6. The explanation line says which.

Slopes are taken against log(lr) for exponential sweeps and against lr for linear
ones. The peers differ: torch-lr-finder takes ``np.gradient(losses)`` over the point
index (the same as log(lr) on an exponential sweep, skipping the first 10 and last 5
points); Lightning's ``_LRFinder.suggestion()`` skips the first 10 and the last 1 and,
on its current main, takes ``torch.gradient(losses, spacing=[lrs])``, the slope against
lr itself (its issues #14248 and #21141), which on an exponential sweep favours the
high-LR end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from clr_core.errors import ConfigError
from clr_core.suggest.confidence import check_curve, mark_suggestions
from clr_core.suggest.fastai import minimum, slide, steep, valley
from clr_core.suggest.peers import min10_base6, smith_accuracy, steepest_gradient
from clr_core.suggest.recommend import recommended
from clr_core.suggest.types import (
    SRC_FASTAI,
    SRC_MIN10,
    SRC_PEERS,
    SRC_SMITH,
    Suggestion,
    flat_sweep_end,
)

__all__ = [
    "SUGGESTERS",
    "SuggesterSpec",
    "suggest_all",
]


def _fastai_skip(n: int) -> int:
    return n // 10


def _peer_skip(n: int) -> int:
    return 10


@dataclass(frozen=True)
class SuggesterSpec:
    """A registered rule; calling it calls the rule on the curve as given."""

    name: str
    func: Callable[..., Suggestion | None]
    source: str
    curve: str = "loss"
    default_skip_start: Callable[[int], int] = _fastai_skip
    min_points: int = 3

    def __call__(self, lrs, losses, *, mode: str = "exp", accuracies=None):
        return self.func(lrs, losses, mode=mode, accuracies=accuracies)


#: Every rule by key, in the order the pages and the CLI list them.
SUGGESTERS: dict[str, SuggesterSpec] = {
    "smith_accuracy": SuggesterSpec("smith_accuracy", smith_accuracy, SRC_SMITH, curve="accuracy"),
    "valley": SuggesterSpec("valley", valley, SRC_FASTAI.format("valley")),
    "steep": SuggesterSpec("steep", steep, SRC_FASTAI.format("steep")),
    "minimum": SuggesterSpec("minimum", minimum, SRC_FASTAI.format("minimum")),
    "slide": SuggesterSpec("slide", slide, SRC_FASTAI.format("slide"), min_points=16),
    "steepest_gradient": SuggesterSpec(
        "steepest_gradient", steepest_gradient, SRC_PEERS, default_skip_start=_peer_skip
    ),
    "min10_base6": SuggesterSpec("min10_base6", min10_base6, SRC_MIN10),
}


def _check_inputs(lrs, losses, mode):
    if mode not in ("exp", "linear"):
        raise ConfigError(f"mode must be 'exp' or 'linear', got {mode!r}")
    lrs = np.asarray(lrs, dtype=float).ravel()
    losses = np.asarray(losses, dtype=float).ravel()
    if lrs.size != losses.size:
        raise ConfigError(f"lrs and losses differ in length ({lrs.size} vs {losses.size})")
    if lrs.size and not (np.isfinite(lrs).all() and (lrs > 0).all()):
        raise ConfigError("lrs must be positive and finite")
    if lrs.size > 1 and not (np.diff(lrs) > 0).all():
        raise ConfigError("lrs must increase strictly, as a sweep does")
    return lrs, losses


def _window(lrs, losses, start: int, stop: int):
    """The curve a loss rule reads: skipped ends, cut at the first non-finite loss;
    None when nothing or only a flat line is left."""
    w_lrs, w_loss = lrs[start:stop], losses[start:stop]
    bad = np.flatnonzero(~np.isfinite(w_loss))
    if bad.size:
        w_lrs, w_loss = w_lrs[: bad[0]], w_loss[: bad[0]]
    if w_loss.size < 2:
        return None
    i_min = int(np.argmin(w_loss))
    if w_loss.max() - w_loss[i_min] <= 1e-12 * max(1.0, float(np.abs(w_loss).max())):
        return None  # flat: no rule has anything to read
    return w_lrs, w_loss, float(w_lrs[i_min])


def _sane(s: Suggestion | None, lo: float, hi: float) -> Suggestion | None:
    """Keep only answers inside the sweep; a base below the sweep is clamped to its start."""
    if s is None:
        return None
    vals = (s.base_lr, s.max_lr, s.marker_lr, s.marker_value)
    if not all(math.isfinite(v) for v in vals):
        return None
    if not (lo < s.max_lr <= hi * (1 + 1e-12)):
        return None  # e.g. minimum/10 below the first LR swept: the sweep started too high
    if s.base_lr < lo:
        s = replace(s, base_lr=lo, explanation=s.explanation + " Base clamped to the sweep start.")
    if not s.base_lr < s.max_lr:
        return None
    return s


def suggest_all(
    lrs,
    losses,
    *,
    mode: str = "exp",
    accuracies=None,
    skip_start: int | None = None,
    skip_end: int = 5,
    methods=None,
    num_iter: int | None = None,
    stop_reason: str | None = None,
    smooth_beta: float | None = None,
    raw=None,
    limit_lr: float | None = None,
    family: str | None = None,
) -> dict[str, Suggestion]:
    """Every applicable rule on one curve, keyed by method name, ``recommended`` (see
    ``clr_core.suggest.recommend``) first whenever a loss rule answered.

    Loss rules see the curve without its first ``skip_start`` points (default: each
    rule's own: fastai's cut ``num_iter // 10`` of the *requested* iterations, as
    ``Learner.lr_find`` does, so pass ``num_iter`` for a test that stopped early (without
    it, a tenth of the points given); torch-lr-finder's is a fixed 10) and the
    last ``skip_end``, cut at the first non-finite loss. A rule that cannot answer
    (curve too short, flat, all NaN, never falling, or answer outside the sweep) is
    left out; this never raises on such curves and never returns NaN. A loss rule
    whose max_lr lies past the curve's lowest loss is left out too: every document
    puts max_lr before the minimum, and fastai's slide rule can land beyond it when
    the curve ends on a plateau instead of blowing up.

    Each answer carries a confidence (`clr_core.suggest.confidence`): pass the test's
    ``stop_reason`` (a cancelled test), and ``raw`` (the per-batch losses) or
    ``smooth_beta`` (they are recovered from the EMA) so a fall is measured against the
    batch noise; without either, the smoothed curve stands in for the raw one.
    ``limit_lr``: where the sweep crossed its stability limit (the sharpness), the onset
    of divergence when the loss alone shows it late. ``family``: the optimizer's
    (`clr_core.suggest.families` key: "adam", "adamw", "nadam", ...; "adam" and "gd" as
    before), which ``recommended`` reads with more margin for Adam and AdamW.
    """
    lrs, losses = _check_inputs(lrs, losses, mode)
    if skip_start is not None and (isinstance(skip_start, bool) or int(skip_start) < 0):
        raise ConfigError(f"skip_start must be a non-negative int, got {skip_start!r}")
    if isinstance(skip_end, bool) or int(skip_end) < 0:
        raise ConfigError(f"skip_end must be a non-negative int, got {skip_end!r}")
    if num_iter is not None and (
        isinstance(num_iter, bool) or not isinstance(num_iter, (int, np.integer)) or num_iter < 1
    ):
        raise ConfigError(f"num_iter must be a positive int, got {num_iter!r}")
    names = list(SUGGESTERS) if methods is None else [m for m in methods if m != "recommended"]
    unknown = [m for m in names if m not in SUGGESTERS]
    if unknown:
        raise ConfigError(f"unknown suggestion method(s) {unknown}; known: {list(SUGGESTERS)}")
    out: dict[str, Suggestion] = {}
    n = lrs.size
    if n == 0:
        return out
    lo, hi = float(lrs[0]), float(lrs[-1])
    windows: dict[int, tuple | None] = {}  # one cut per distinct skip_start
    for name in names:
        spec = SUGGESTERS[name]
        if spec.curve == "accuracy":
            s = spec.func(lrs, losses, mode=mode, accuracies=accuracies)
        else:
            requested = n if num_iter is None else int(num_iter)
            start = spec.default_skip_start(requested) if skip_start is None else int(skip_start)
            if start not in windows:
                windows[start] = _window(lrs, losses, start, n - int(skip_end))
            win = windows[start]
            if win is None or win[0].size < spec.min_points:
                continue
            w_lrs, w_loss, lr_at_min = win
            s = spec.func(w_lrs, w_loss, mode=mode)
            if s is not None and s.max_lr > lr_at_min * (1 + 1e-12):
                s = None  # past the lowest loss: the loss no longer falls there
            if s is not None:
                s = replace(s, index=s.index + start)
        s = _sane(s, lo, hi)
        if s is not None:
            out[name] = s
    if methods is None or "recommended" in methods:
        start = _fastai_skip(n if num_iter is None else int(num_iter))
        if skip_start is not None:
            start = int(skip_start)
        if start not in windows:
            windows[start] = _window(lrs, losses, start, n - int(skip_end))
        win = windows[start]
        flat = flat_sweep_end(lrs, losses)
        flat_end = None if flat is None else (flat, float(lrs[flat]), float(losses[flat]))
        rec = (
            recommended(win[0], win[1], out, mode=mode, start=start, sweep=(lo, hi),
                        family=family, flat_end=flat_end)
            if win
            else recommended(lrs[:0], losses[:0], out, mode=mode, sweep=(lo, hi),
                             flat_end=flat_end)
        )
        rec = _sane(rec, lo, hi)
        if rec is not None:  # first: what a result, the store and the pages lead with
            out = {"recommended": rec, **out}
    if out:
        requested = n if num_iter is None else int(num_iter)
        start = _fastai_skip(requested) if skip_start is None else int(skip_start)
        check = check_curve(lrs, losses, beta=smooth_beta, start=min(start, n - 1),
                            skip_end=int(skip_end), stop_reason=stop_reason, num_iter=num_iter,
                            raw=raw, limit_lr=limit_lr)
        out = mark_suggestions(out, check)
    return out
