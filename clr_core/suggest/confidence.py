"""How far a range test's curve supports the numbers read off it.

Every finder prints an LR whatever the curve looked like; on a flat curve, one whose
lowest point is its first, a test cancelled before the loss turned, or one whose rules
land decades apart, that number is noise read as signal (Hugging Face declined an LR
finder for transformers because it "usually indicates one in the 1e-3 when the actual best
value is in the 1e-5 range", huggingface/transformers#16013). Here each suggestion carries
a confidence: "ok"; "low" (usable, with the reason); "none" (no reliable recommendation:
the reason and what to run next). A rule whose max_lr lies past the LR where the loss
started to run away is marked too, and a sweep whose smoothed loss is still falling at its
last LR never gets "ok": it ended before the loss turned, so every reading is a lower bound
and the page says how far to raise End LR.

The noise is the mini-batch loss's own: the raw loss is recovered exactly from the
debiased EMA (``raw_from_smoothed``), its spread measured from successive differences
(robust to the trend), and a fall counts only when it is several times what the smoothed
curve's noise alone would give.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from clr_core.suggest.types import Suggestion

__all__ = [
    "CONFIDENCE_LEVELS",
    "REASON_CODES",
    "CurveCheck",
    "assess",
    "check_curve",
    "divergence_lr",
    "divergence_phrase",
    "mark_suggestions",
    "raw_from_smoothed",
]

CONFIDENCE_LEVELS = ("ok", "low", "none")
#: Why a suggestion's confidence was lowered, one code per reason its caveat gives.
REASON_CODES = ("too_short", "no_fall", "early_minimum", "stopped_before_turn", "stopped_early",
                "still_falling", "rules_disagree", "past_divergence")
MIN_FALL_NOISE = 6.0  # a fall counts when it is this many noise widths of the smoothed curve
MIN_FALL_RELATIVE = 0.02  # ... and at least 2 % of the loss it started from
EARLY_MIN_FRACTION = 0.15  # a minimum within the first 15 % of the read window: too early
WIDE_DISAGREEMENT = 2.5  # decades between the loss rules (trimmed): no single answer is supported
LOW_DISAGREEMENT = 1.0
DIVERGE_FACTOR = 2.0  # the raw loss stays above twice its best so far from here on
END_FALL_FRACTION = 0.05  # the smoothed minimum within the last 5 % of the sweep: still falling
#: How far to raise End LR when the loss is still falling at the last LR: two decades. Past
#: its steepest fall a range test's loss bottoms out and runs away within about a decade or
#: two (Smith, "Cyclical Learning Rates for Training Neural Networks", 2017; fastai sweeps
#: 1e-7 to 10 for that reason), so two more decades reach the turn the sweep missed.
RAISE_END_FACTOR = 100.0


@dataclass(frozen=True)
class CurveCheck:
    """What the curve says about itself: ``level`` and the reasons behind it, in words
    (``reasons``) and as codes (``codes``, one per reason, `REASON_CODES`) that a summary
    or a script can test without reading the words."""

    level: str
    reasons: tuple[str, ...] = ()
    next_step: str = ""
    diverge_lr: float = math.nan
    diverge_source: str = ""  # "loss": the loss ran away; "stability": the limit came first
    still_falling_at: float = math.nan  # the last LR, when the loss was still falling there
    codes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join([*self.reasons, self.next_step]).strip()


def raw_from_smoothed(smoothed, beta: float) -> np.ndarray:
    """The per-batch losses behind a debiased EMA (``avg_t / (1 - beta**(t+1))``)."""
    sm = np.asarray(smoothed, dtype=float)
    if not 0 < beta < 1 or sm.size == 0:
        return sm.copy()
    t = np.arange(1, sm.size + 1, dtype=float)
    avg = sm * -np.expm1(t * math.log(beta))
    prev = np.concatenate([[0.0], avg[:-1]])
    return (avg - beta * prev) / (1.0 - beta)


def _noise(raw: np.ndarray) -> float:
    """Standard deviation of the batch loss around its trend: successive differences,
    median absolute deviation (a trend or a blow-up barely moves it)."""
    d = np.diff(raw[np.isfinite(raw)])
    if d.size < 2:
        return 0.0
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2.0))


def _running_median(x: np.ndarray) -> np.ndarray:
    pad = np.concatenate([np.full(2, x[0]), x, np.full(2, x[-1])])
    return np.median(np.lib.stride_tricks.sliding_window_view(pad, 5), axis=1)


def divergence_lr(lrs, raw) -> float:
    """Where the loss turned up for good: the last LR at which the batch loss (a running
    median of 5, against single lucky batches) was still within noise of its lowest, on a
    curve that then ran away (its end above ``DIVERGE_FACTOR`` times that lowest, or not
    finite); NaN when it never ran away."""
    lrs = np.asarray(lrs, dtype=float)
    raw = np.asarray(raw, dtype=float)
    bad = np.flatnonzero(~np.isfinite(raw))
    n = int(bad[0]) if bad.size else raw.size
    if n < 5:
        return math.nan
    x = raw[:n]
    med = _running_median(x)
    low = float(med.min())
    ran_away = bad.size > 0 or (low > 0 and float(med[-1]) > DIVERGE_FACTOR * low)
    if not ran_away:
        return math.nan
    tol = max(2.0 * _noise(x), 0.01 * abs(low))
    k = int(np.flatnonzero(med <= low + tol)[-1])
    return float(lrs[k])


def check_curve(lrs, smoothed, *, beta: float | None, start: int = 0, skip_end: int = 0,
                stop_reason: str | None = None, num_iter: int | None = None,
                raw=None, limit_lr: float | None = None) -> CurveCheck:
    """The curve-level confidence: flat, no fall beyond noise, minimum at the start, or
    cancelled before the loss turned up; and where the loss ran away (the loss's own
    turn-up, or ``limit_lr``, the LR that crossed the stability limit, if earlier)."""
    lrs = np.asarray(lrs, dtype=float)
    sm = np.asarray(smoothed, dtype=float)
    if raw is None:
        raw = raw_from_smoothed(sm, beta) if beta else sm
    raw = np.asarray(raw, dtype=float)
    div = divergence_lr(lrs, raw)
    source = "loss" if math.isfinite(div) else ""
    if limit_lr is not None and math.isfinite(limit_lr) and not div <= limit_lr:
        div, source = float(limit_lr), "stability"  # the sharpness shows the onset first
    stop = max(start + 2, sm.size - skip_end)
    w = sm[start:stop]
    w = w[: int(np.flatnonzero(~np.isfinite(w))[0])] if (~np.isfinite(w)).any() else w
    if w.size < 3:
        return CurveCheck("none", ("The curve is too short to read.",),
                          "Run more iterations (100 or more).", div, source, codes=("too_short",))
    sigma = _noise(raw[: start + w.size])
    smooth_sigma = sigma * math.sqrt((1 - beta) / (1 + beta)) if beta else sigma
    i_min = int(np.argmin(w))
    fall = float(w[0] - w[i_min])
    need = max(MIN_FALL_NOISE * smooth_sigma, MIN_FALL_RELATIVE * abs(float(w[0])))
    reasons, level, nxt, codes = [], "ok", "", []
    if fall <= need:
        flat = "is flat" if fall <= 1e-12 * max(1.0, abs(float(w[0]))) else \
            f"falls only {fall:.3g} ({100 * fall / max(abs(float(w[0])), 1e-12):.1f} %)"
        reasons.append(f"The smoothed loss {flat} before its lowest point, no more than the "
                       f"batch-to-batch noise (σ {sigma:.3g}) can give.")
        level = "none"
        codes.append("no_fall")
        nxt = ("Sweep from a lower start LR or over more iterations, or run the seed sweep to "
               "see whether any fall is real.")
    elif (j := _early_minimum(raw, start, w.size)) is not None:
        reasons.append(f"The batch loss is lowest near the start of the sweep (LR {lrs[j]:.3g}):"
                       " the good region may lie below the first LR.")
        level = "none"
        codes.append("early_minimum")
        nxt = "Start the sweep 100x lower."
    if stop_reason in ("cancelled", "loader exhausted") and (num_iter is None or sm.size < num_iter):
        rose = sm.size > start + i_min + 1 and \
            float(np.nanmax(sm[start + i_min:]) - w[i_min]) > need
        if not rose:
            reasons.append(f"The test stopped ({stop_reason}) at LR {lrs[-1]:.3g} before the loss "
                           "turned up, so where it stops falling is unknown.")
            level = "none"
            codes.append("stopped_before_turn")
            nxt = nxt or "Run the whole sweep, to where the loss blows up."
        elif level == "ok":
            reasons.append(f"The test stopped ({stop_reason}) early; the reading uses the part swept.")
            level = "low"
            codes.append("stopped_early")
    falling = math.nan
    if level != "none" and not math.isfinite(div):
        falling = _still_falling_at(lrs, sm, start)
        if math.isfinite(falling):
            raise_to = falling * RAISE_END_FACTOR
            reasons.append(f"The loss is still falling at the last LR {falling:.3g}: the sweep "
                           "ended before the loss turned up, so every reading is a lower bound.")
            level = "low"
            codes.append("still_falling")
            nxt = (f"Raise End LR to at least {raise_to:.3g} ({RAISE_END_FACTOR:g}×) and run "
                   "the test again.")
    return CurveCheck(level, tuple(reasons), nxt, div, source, falling, tuple(codes))


def _still_falling_at(lrs: np.ndarray, sm: np.ndarray, start: int) -> float:
    """The last LR swept when the smoothed loss reaches its lowest within the sweep's last
    END_FALL_FRACTION (it never turned up), else NaN. Read on the whole sweep past
    ``start``, not the rules' window: the points the rules cut from the end are exactly
    where a turn would show."""
    tail = sm[start:]
    bad = np.flatnonzero(~np.isfinite(tail))
    tail = tail[: int(bad[0])] if bad.size else tail
    if tail.size < 3:
        return math.nan
    k = int(np.argmin(tail))
    if k < tail.size - max(2.0, END_FALL_FRACTION * tail.size):
        return math.nan
    return float(lrs[start + tail.size - 1])


def _early_minimum(raw: np.ndarray, start: int, size: int) -> int | None:
    """The index of the lowest batch loss (running median of 5: the EMA lags it by tens of
    points) when it lies in the first EARLY_MIN_FRACTION of the window read, else None."""
    x = raw[start:start + size]
    if x.size < 5 or not np.isfinite(x).all():
        return None
    k = int(np.argmin(_running_median(x)))
    return start + k if k < max(2, EARLY_MIN_FRACTION * x.size) else None


def assess(rec: Suggestion, rules: Mapping[str, Suggestion], curve: CurveCheck) -> Suggestion:
    """``recommended`` with its confidence: the curve's, lowered when the loss rules
    disagree by more than a decade (``none`` past WIDE_DISAGREEMENT) or when its max_lr lies
    past the divergence."""
    level, reasons, nxt, codes = curve.level, list(curve.reasons), curve.next_step, list(curve.codes)
    lrs = sorted(s.max_lr for k, s in rules.items() if s.curve == "loss" and k != rec.method)
    if len(lrs) >= 4:  # one outlier at each end is a rule's known failure, not disagreement
        lrs = lrs[1:-1]
    if len(lrs) >= 2:
        span = math.log10(lrs[-1] / lrs[0])
        if span > LOW_DISAGREEMENT:
            reasons.append(f"Even without the most extreme rule at each end, the rules disagree "
                           f"by {span:.1f} decades ({lrs[0]:.3g} to {lrs[-1]:.3g}).")
            codes.append("rules_disagree")
            worse = "none" if span > WIDE_DISAGREEMENT else "low"
            level = _worst(level, worse)
            nxt = nxt or "Run the seed sweep, or Verify the value by training."
    past = bool(math.isfinite(curve.diverge_lr) and rec.max_lr > curve.diverge_lr)
    if past:
        reasons.append(f"Its max_lr lies past {divergence_phrase(curve.diverge_lr, curve.diverge_source)}.")
        codes.append("past_divergence")
        level = _worst(level, "low")
    text = " ".join([*reasons, nxt]).strip()
    return replace(rec, confidence=level, caveat=text, reasons=tuple(codes), past_divergence=past,
                   diverge_lr=curve.diverge_lr, diverge_source=curve.diverge_source,
                   still_falling_at=curve.still_falling_at)


def divergence_phrase(lr: float, source: str) -> str:
    """Where the test diverged, named by what showed it: the loss itself, or the sharpness
    crossing the stability limit while the short sweep's loss may still be falling."""
    if source == "stability":
        return (f"the stability limit ({lr:.3g}), the LR past which the loss runs away in a "
                "longer run even where this short sweep still shows it falling")
    return f"the LR where the loss ran away ({lr:.3g})"


def _worst(a: str, b: str) -> str:
    return max(a, b, key=CONFIDENCE_LEVELS.index)


def mark_suggestions(out: Mapping[str, Suggestion], curve: CurveCheck) -> dict[str, Suggestion]:
    """Every rule with the curve's confidence, and marked when its max_lr lies past the
    divergence; ``recommended`` through `assess`."""
    marked = {}
    for name, s in out.items():
        if s.curve != "loss":
            marked[name] = s
            continue
        if name == "recommended":
            marked[name] = assess(s, out, curve)
            continue
        past = bool(math.isfinite(curve.diverge_lr) and s.max_lr > curve.diverge_lr)
        level = _worst(curve.level, "low") if past else curve.level
        note = f"Past {divergence_phrase(curve.diverge_lr, curve.diverge_source)}." if past else ""
        marked[name] = replace(s, confidence=level, caveat=" ".join(
            x for x in (note, curve.text) if x), past_divergence=past,
            reasons=(("past_divergence",) if past else ()) + curve.codes,
            diverge_lr=curve.diverge_lr, diverge_source=curve.diverge_source,
            still_falling_at=curve.still_falling_at)
    return marked
