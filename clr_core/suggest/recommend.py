"""The recommended max_lr: two readings of the curve that bracket the good region, the band
between them, and the median of their middle with fastai's two loss rules.

Why the median (since 2026-12-07). On the generated benchmark (``bench/gen_bench.py``:
tasks drawn over ten model families, eight optimizers, six schedules and budgets of 100 to
1,500 steps), every single reading missed the best peak of the task's own training by more
than 1 point / 2 % on 40-50 % of the development tasks, each on different ones: the
two-reading middle below, fastai's ``minimum`` (the lowest loss / 10) and ``steep`` (the
steepest slope). The median of the three is off only where two of them are, and it was
within tolerance more often than any of them on the development split; chosen there by
``bench/gen_rules.py`` (with a leave-one-family-out check) and then measured once on a
held-out split frozen before (docs/benchmarks-generated.md). A sweep whose loss hardly fell
(`clr_core.suggest.types.flat_sweep_end`) has no reading at all: its lowest point is noise,
decades under the best peak, so it is read as the last LR it reached / 100, a guess only
Confirm's short trainings can check.

The two-reading middle, as it was chosen on the hand-made batteries:

Why this rule. ``bench/suggestions.py`` trains 1cycle at every rule's suggestion and at
a grid of max_lr on a battery of tasks; every single rule in use today lands outside the
good region somewhere (fastai's valley far too low on some tasks, steepest gradient and
minimum/10 less so). Two readings fail in opposite directions:

* the steepest fall of the smoothed loss (torch-lr-finder, Lightning) marks where the
  model learns fastest; it sits at the *low* edge of the good region and is too timid
  when the descent is long (logistic regression);
* the LR of the lowest smoothed loss, divided by 3, keeps a safety margin below the point
  where the loss stops falling; it sits at the *high* edge and overshoots when the
  curve's minimum is late (the EMA lags the raw loss by about 1/(1-beta) steps).

Their geometric mean, the middle of that bracket on the log-LR axis, had the smallest
worst-case regret of every rule and combination the benchmark tried, below the best
single rule (steepest gradient) and far below fastai's valley; dividing the minimum by 2
to 4 instead of 3 made no difference beyond noise. The bracket itself is the band: the
LRs the curve says are safe and fast, at most a decade wide, which the benchmark checks
overlaps the grid LRs close to the best. When several seeds are run
(``combine_recommended``), the median is taken and the band shrinks to an uncertainty for
that median: the single bands' half-width over sqrt(n) and the spread between seeds,
added in quadrature. The measured regret of every rule ships with the package
(`clr_core.suggest.types.measured_regret`); run ``bench/suggestions.py`` for the figures.

Adaptive optimizers (Adam, AdamW: ``family="adam"``) are read with more margin: the upper
reading is a quarter of the lowest point instead of a third. A short sweep overstates the
peak an Adam run can hold for hundreds of steps (Hugging Face's objection to LR finders for
transformers, huggingface/transformers#16013): on the benchmark's ViT with warm-up + cosine
the /3 middle sat past the cliff where accuracy falls by 16 points (4.0 points lost); with
/4 every AdamW and Adam task of the modern battery (language models, ViT, fine-tuning) and
of the digits battery stayed within 1 point / 2 % of its grid optimum. A geometric mean of
three readings (adding a tenth of the minimum) was tried too: better on the language models,
worse on the ViT with 1cycle (1.7 points) and on the digits Adam tasks (mean 0.35). SGD
keeps the /3 the digits battery was chosen on (``bench/suggestions.py``).

base_lr = max_lr / 6, the ratio of Dehaene's "Adaptive - and Cyclical Learning Rates
using PyTorch" (2019): triangular CLR between base_lr and max_lr on the benchmark's short
tasks lost less against the best triangular grid point with it than with Smith's (2015)
max/4 or with max/10 (measured on the same tasks the rule was chosen on; see
``bench/suggestions.py``).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from clr_core.suggest.families import other_adaptive, reads_quarter
from clr_core.suggest.types import MIN10_BASE_DIVISOR, Suggestion

__all__ = [
    "ADAM_MARGIN",
    "DISAGREE_DECADES",
    "MAX_BAND_DECADES",
    "MIN_BAND_DECADES",
    "MIN_MARGIN",
    "RECOMMENDED",
    "RULE_LABELS",
    "SRC_RECOMMENDED",
    "RuleSpread",
    "combine_recommended",
    "recommended",
    "rule_label",
    "rule_spread",
]

RECOMMENDED = "recommended"
MIN_MARGIN = 3.0  # the upper reading: lowest-loss LR / 3
ADAM_MARGIN = 4.0  # the adaptive family's upper reading: lowest-loss LR / 4
MAX_BAND_DECADES = 1.0
MIN_BAND_DECADES = 0.2  # two readings that agree still leave a fifth of a decade
SRC_RECOMMENDED = (
    "CLR Studio: the median of the geometric mean of the steepest fall of the smoothed loss "
    "(torch-lr-finder) and a third of its lowest point, fastai's minimum / 10 and fastai's "
    "steep; chosen on a generated benchmark's development tasks and measured on held-out "
    "ones (bench/gen_rules.py, bench/gen_bench.py)"
)
DISAGREE_DECADES = 0.5  # warn when the loss rules span more than half a decade
#: The readings whose median is the recommendation: the two-reading middle and fastai's
#: two loss rules (``bench/gen_rules.py`` chose it on the generated development split).
MEDIAN_OF = (RECOMMENDED, "minimum", "steep")
#: A flat sweep's recommendation: the last LR it reached over this (two decades under).
FLAT_DIVISOR = 100.0
#: Each rule by where it comes from, as the pages and the CLI name it.
RULE_LABELS = {
    RECOMMENDED: "recommended (CLR Studio, benchmarked)",
    "valley": "fastai valley",
    "steep": "fastai steep",
    "minimum": "fastai minimum / 10",
    "slide": "fastai slide",
    "steepest_gradient": "torch-lr-finder steepest gradient",
    "min10_base6": "Dehaene 2019: minimum / 10, base / 6",
    "smith_accuracy": "Smith 2015 accuracy test",
}


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _clip_band(center: float, low: float, high: float) -> tuple[float, float]:
    """[low, high] around ``center`` (log axis), widened to MIN_BAND_DECADES and cut to
    MAX_BAND_DECADES, always containing the center."""
    c = math.log10(center)
    lo, hi = min(math.log10(low), c), max(math.log10(high), c)
    if hi - lo < MIN_BAND_DECADES:
        pad = (MIN_BAND_DECADES - (hi - lo)) / 2
        lo, hi = lo - pad, hi + pad
    if hi - lo > MAX_BAND_DECADES:
        half = MAX_BAND_DECADES / 2
        lo, hi = max(lo, c - half), min(hi, c + half)
        if hi - lo > MAX_BAND_DECADES:
            lo, hi = c - half, c + half
    return min(10**lo, center), max(10**hi, center)  # (10 ** log10(x) can be x + 1 ulp)


def _readings(lrs: np.ndarray, losses: np.ndarray, mode: str):
    """(index of the steepest fall before the minimum or None, index of the minimum)."""
    i_min = int(np.argmin(losses))
    if i_min < 2:
        return None, i_min
    x = np.log(lrs[: i_min + 1]) if mode == "exp" else lrs[: i_min + 1]
    g = np.gradient(losses[: i_min + 1], x)
    j = int(np.argmin(g))
    return (j if g[j] < 0 else None), i_min


def recommended(
    lrs,
    losses,
    rules: Mapping[str, Suggestion],
    *,
    mode: str = "exp",
    start: int = 0,
    sweep: tuple[float, float] | None = None,
    family: str | None = None,
    flat_end: tuple[int, float, float] | None = None,
) -> Suggestion | None:
    """The recommended max_lr with its band, from the curve a loss rule reads (``lrs``,
    ``losses`` already cut as fastai cuts them; ``start`` = points cut from the front,
    for the marker index; ``sweep`` = the whole sweep's first and last LR) and the other
    rules' answers (the fallback when the curve gives no steepest fall, or the two
    readings land outside the sweep: their geometric median and spread). ``family`` (a
    `clr_core.suggest.families` key; "adam" still works) of Adam or AdamW takes a quarter of
    the lowest point as the upper reading (`families.reads_quarter` says why only those).

    The recommendation is then the median (on a log scale) of that middle and of fastai's
    ``minimum`` and ``steep``, where they answered: each reading misses some tasks the
    others do not, and the median is off only where two of them are. ``flat_end``: the last
    point (index, LR, loss) of a sweep whose loss did not fall
    (`clr_core.suggest.types.flat_sweep_end`); its lowest point is noise, so the
    recommendation is that LR / ``FLAT_DIVISOR`` (where that is inside the sweep)."""
    flat = _flat(flat_end, sweep) if flat_end is not None else None
    if flat is not None:  # (None when LR / 100 is under the sweep's start: read as usual)
        return flat
    lrs = np.asarray(lrs, dtype=float)
    losses = np.asarray(losses, dtype=float)
    loss_rules = [s for s in rules.values() if s.curve == "loss" and s.method != RECOMMENDED]
    if not loss_rules:
        return None
    if sweep is None:
        sweep = (float(lrs[0]), float(lrs[-1])) if lrs.size else (0.0, math.inf)
    lo_sweep, hi_sweep = sweep
    j, i_min = _readings(lrs, losses, mode) if lrs.size >= 3 else (None, 0)
    max_lr = math.nan
    quarter, other = reads_quarter(family), other_adaptive(family)
    if j is not None:
        steep_lr = float(lrs[j])
        upper = float(lrs[i_min]) / (ADAM_MARGIN if quarter else MIN_MARGIN)
        max_lr = math.sqrt(steep_lr * upper)
    if lo_sweep < max_lr <= hi_sweep * (1 + 1e-12):
        low, high = _clip_band(max_lr, min(steep_lr, upper), max(steep_lr, upper))
        why = (
            f"Between the steepest fall of the loss ({_fmt(steep_lr)}, where it learns fastest) "
            f"and {'a quarter' if quarter else 'a third'} of its lowest point "
            f"({_fmt(upper)}, a margin before it stops falling"
            + ("; an adaptive optimizer needs more over a whole run" if quarter else "")
            + (f"; {other} is adaptive, but the quarter was measured on Adam and AdamW only"
               if other else "")
            + f"): their middle on a log scale is {_fmt(max_lr)}."
        )
        idx, marker_lr, marker_value = j, steep_lr, float(losses[j])
    else:
        logs = np.log10([s.max_lr for s in loss_rules])
        max_lr = float(10 ** np.median(logs))
        low, high = _clip_band(max_lr, 10 ** logs.min(), 10 ** logs.max())
        names = ", ".join(s.method for s in loss_rules)
        why = (
            f"The curve shows no clear fall before its minimum, so the median of the rules "
            f"that answered ({names}) is {_fmt(max_lr)}; the band is their spread."
        )
        ref = min(loss_rules, key=lambda s: abs(math.log(s.max_lr / max_lr)))
        idx, marker_lr, marker_value = ref.index - start, ref.marker_lr, ref.marker_value
    readings = [(max_lr, None)] + [(rules[n].max_lr, rules[n]) for n in MEDIAN_OF[1:]
                                   if n in rules]
    if len(readings) > 1:
        logs = np.log10([lr for lr, _ in readings])
        if len(readings) == 3:  # the middle reading itself, so its marker is the chart's
            middle, ref = readings[int(np.argsort(logs)[1])]
        else:
            middle, ref = float(10 ** logs.mean()), None
        named = " and ".join(f"{RULE_LABELS[r.method]} ({_fmt(lr)})" for lr, r in readings if r)
        why += (f" The recommendation is the median of that, {named}: max_lr = "
                f"{_fmt(middle)}. Each reading alone misses tasks the others do not; on tasks "
                "nobody tuned it to, their median missed less often than any one of them.")
        if ref is not None:
            idx, marker_lr, marker_value = ref.index - start, ref.marker_lr, ref.marker_value
        max_lr = middle
        low, high = _clip_band(max_lr, low, high)
    why += (f" base = max/{MIN10_BASE_DIVISOR:g} (Dehaene 2019's ratio, which trained best in "
            "our triangular CLR runs).")
    return Suggestion(
        method=RECOMMENDED,
        base_lr=max(max_lr / MIN10_BASE_DIVISOR, lo_sweep),
        max_lr=max_lr,
        explanation=why,
        source=SRC_RECOMMENDED,
        index=int(idx) + start,
        marker_lr=marker_lr,
        marker_value=marker_value,
        low=low,
        high=high,
    )


def _flat(end: tuple[int, float, float], sweep: tuple[float, float] | None
          ) -> Suggestion | None:
    """A flat sweep's recommendation: two decades under the last LR it reached (``end``:
    its index, LR and loss), with a decade's band; None when that is below the sweep."""
    index, end_lr, end_loss = end
    max_lr = end_lr / FLAT_DIVISOR
    if sweep is not None and not max_lr > sweep[0]:
        return None
    low, high = _clip_band(max_lr, max_lr / 10**0.5, max_lr * 10**0.5)
    why = (f"The loss hardly fell over the sweep, so its lowest point is noise: the last LR it "
           f"reached ({_fmt(end_lr)}) / {FLAT_DIVISOR:g} = {_fmt(max_lr)}, a guess that only "
           "short trainings (Confirm) can check.")
    return Suggestion(method=RECOMMENDED, base_lr=max_lr / MIN10_BASE_DIVISOR, max_lr=max_lr,
                      explanation=why, source=SRC_RECOMMENDED, index=index, marker_lr=end_lr,
                      marker_value=end_loss, low=low, high=high)


def combine_recommended(
    results: Iterable[Mapping[str, Suggestion] | Suggestion | None],
) -> Suggestion | None:
    """One recommendation from several range tests (a seed sweep): the median max_lr on
    the log axis, and a band that tightens as tests agree: half-width = the single
    bands' RMS half-width / sqrt(n) and the spread between tests' answers, in quadrature."""
    recs = []
    for r in results:
        s = r.get(RECOMMENDED) if isinstance(r, Mapping) else r
        if isinstance(s, Suggestion) and s.has_band:
            recs.append(s)
    if not recs:
        return None
    if len(recs) == 1:
        return recs[0]
    logs = np.log10([s.max_lr for s in recs])
    center = float(np.median(logs))
    half = np.log10([s.high / s.low for s in recs]) / 2
    h = math.sqrt(float(np.mean(half**2)) / len(recs) + float(np.var(logs)))
    h = min(max(h, MIN_BAND_DECADES / 2), MAX_BAND_DECADES / 2)
    max_lr = 10**center
    ref = min(recs, key=lambda s: abs(math.log10(s.max_lr) - center))
    unsure = [s for s in recs if s.confidence != "ok"]
    level = "ok"
    if 2 * sum(s.confidence == "none" for s in recs) > len(recs):
        level = "none"  # most tests could not support a number: their median cannot either
    elif unsure:
        level = "low"
    caveat = (f"{len(unsure)} of {len(recs)} tests: {unsure[0].caveat}" if unsure else "")
    why = (
        f"Median of {len(recs)} range tests' recommendations: max_lr = {_fmt(max_lr)} "
        f"(they ranged {_fmt(10 ** logs.min())} to {_fmt(10 ** logs.max())}); the band is "
        f"how sure that median is, {_fmt(10 ** (center - h))} to {_fmt(10 ** (center + h))}."
    )
    return Suggestion(
        method=RECOMMENDED,
        base_lr=max_lr / MIN10_BASE_DIVISOR,
        max_lr=max_lr,
        explanation=why,
        source=SRC_RECOMMENDED,
        index=ref.index,
        marker_lr=ref.marker_lr,
        marker_value=ref.marker_value,
        low=10 ** (center - h),
        high=10 ** (center + h),
        confidence=level,
        caveat=caveat,
        reasons=tuple(dict.fromkeys(r for s in unsure for r in s.reasons)),
    )


# ------------------------------------------------------------------ what users read
# Names and numbers only: the sentences a page, the CLI or a notebook prints are worded
# in `clr_core.present.words` and gathered in `clr_core.present.summary`.


def rule_label(method: str) -> str:
    """A rule's name by its origin ("fastai valley"), as every table and picker names it."""
    return RULE_LABELS.get(method, method)


@dataclass(frozen=True)
class RuleSpread:
    """How far apart the loss rules' max_lr are (``recommended`` left out): ``decades``
    between the lowest (``low``) and the highest (``high``); ``wide`` when that is more than
    DISAGREE_DECADES, where rules that far apart cannot all be right. Zero with fewer than
    two rules."""

    decades: float = 0.0
    low: float = math.nan
    high: float = math.nan

    @property
    def wide(self) -> bool:
        return self.decades > DISAGREE_DECADES


def rule_spread(suggestions: Mapping) -> RuleSpread:
    """The loss rules' spread (suggestions, or their stored dicts from older runs)."""
    lrs = []
    for k, s in suggestions.items():
        f = s.to_dict() if isinstance(s, Suggestion) else dict(s)
        if k != RECOMMENDED and f.get("curve", "loss") == "loss":
            lrs.append(float(f["max_lr"]))
    if len(lrs) < 2:
        return RuleSpread()
    return RuleSpread(math.log10(max(lrs) / min(lrs)), min(lrs), max(lrs))
