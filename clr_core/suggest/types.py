"""What every LR suggestion rule returns, and what the rules share.

One type for every rule (ours and the peers'), so the pages, the store and the CLI read
any rule's answer the same way; the helpers here keep each rule a pure function of
``(lrs, losses)`` and its explanation line in one style.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from importlib import resources

import numpy as np

from clr_core.schedules.rules import RULES

__all__ = [
    "FLAT_DROP",
    "flat_sweep_end",
    "CLR_BASE_DIVISOR",
    "CLR_RULE",
    "MIN10_BASE_DIVISOR",
    "REGRET_FILE",
    "SRC_FASTAI",
    "SRC_MIN10",
    "SRC_PEERS",
    "SRC_SMITH",
    "Suggestion",
    "finite_prefix",
    "fmt_lr",
    "make_suggestion",
    "measured_confidence",
    "measured_regret",
    "x_axis",
]

#: The base_lr rules the suggestions apply, from the designer's rules of thumb so the two
#: cannot drift: Smith 2015's base = max / 4 (the cautious end of "/ 3 or / 4") and
#: Dehaene 2019's base = max / 6.
CLR_BASE_DIVISOR = RULES["clr_4"].divisor
MIN10_BASE_DIVISOR = RULES["min10_base6"].divisor
CLR_RULE = "base = max/4 (Smith 2015: /3 or /4)"

SRC_FASTAI = "fastai Learner.lr_find (fastai/callback/schedule.py: {})"
SRC_PEERS = (
    "torch-lr-finder LRFinder.plot(suggest_lr=True): steepest gradient of the smoothed loss, "
    "skip first 10 / last 5, slope vs log(lr) on an exponential sweep (Lightning's "
    "_LRFinder.suggestion() is the same rule with skip_end=1 and the slope vs lr)"
)
SRC_MIN10 = (
    'Dehaene, "Adaptive - and Cyclical Learning Rates using PyTorch" (2019): '
    "upper bound a factor 10 left of the loss minimum, base = max/6"
)
SRC_SMITH = "Smith 2015, Cyclical Learning Rates, sec. 3.3: LR range test on accuracy"


@dataclass(frozen=True)
class Suggestion:
    """One rule's answer. ``index`` is the marker point: into ``lrs`` when ``curve`` is
    "loss", into the validation rows when it is "accuracy" (``smith_accuracy``).

    ``low`` / ``high``: the band of max_lr the evidence supports (low <= max_lr <= high);
    NaN for a rule that gives a point and no band (every rule but ``recommended``).

    ``confidence``: "ok", "low" (usable; ``caveat`` says why it may be off) or "none" (no
    reliable recommendation: ``caveat`` gives the reason and what to run next), from
    `clr_core.suggest.confidence`. ``past_divergence``: the max_lr lies past the LR where
    the test's loss ran away (``diverge_lr``; ``diverge_source`` "loss", or "stability"
    when the sharpness crossed the stability limit first). ``still_falling_at``: the last
    LR of a sweep whose smoothed loss was still falling there (NaN otherwise): the sweep
    ended before the loss turned up, so its numbers are lower bounds, not the peak.
    ``reasons``: why the confidence is what it is, as codes
    (`clr_core.suggest.confidence.REASON_CODES`; ``caveat`` says the same in words)."""

    method: str
    base_lr: float
    max_lr: float
    explanation: str
    source: str
    index: int
    marker_lr: float
    marker_value: float
    curve: str = "loss"
    low: float = math.nan
    high: float = math.nan
    confidence: str = "ok"
    caveat: str = ""
    past_divergence: bool = False
    diverge_lr: float = math.nan
    diverge_source: str = ""
    still_falling_at: float = math.nan
    reasons: tuple[str, ...] = ()

    @property
    def reliable(self) -> bool:
        """Worth acting on: not "no reliable recommendation"."""
        return self.confidence != "none"

    @property
    def still_falling(self) -> bool:
        return math.isfinite(self.still_falling_at)

    @property
    def confident(self) -> bool:
        """Worth the primary action ("Use in designer"): reliable, not past the LR where the
        loss ran away, and read off a sweep that reached the loss's turn."""
        return self.reliable and not self.past_divergence and not self.still_falling

    @property
    def has_band(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    def to_dict(self) -> dict:
        """JSON-safe: a missing band is written as None, not NaN."""
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        for k in ("low", "high", "diverge_lr", "still_falling_at"):
            if not math.isfinite(d[k]):
                d[k] = None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Suggestion:
        return cls(
            method=str(d["method"]),
            base_lr=float(d["base_lr"]),
            max_lr=float(d["max_lr"]),
            explanation=str(d["explanation"]),
            source=str(d["source"]),
            index=int(d["index"]),
            marker_lr=float(d["marker_lr"]),
            marker_value=float(d["marker_value"]),
            curve=str(d.get("curve", "loss")),
            low=math.nan if d.get("low") is None else float(d["low"]),
            high=math.nan if d.get("high") is None else float(d["high"]),
            confidence=str(d.get("confidence") or "ok"),
            caveat=str(d.get("caveat") or ""),
            past_divergence=bool(d.get("past_divergence", False)),
            diverge_lr=_float_or_nan(d.get("diverge_lr")),
            diverge_source=str(d.get("diverge_source") or ""),
            still_falling_at=_float_or_nan(d.get("still_falling_at")),
            reasons=tuple(str(r) for r in d.get("reasons") or ()),
        )


def _float_or_nan(x) -> float:
    """A stored optional float (None, or absent in older runs) as NaN."""
    return math.nan if x is None else float(x)


# --------------------------------------------------------------------------- helpers


def fmt_lr(x: float) -> str:
    return f"{x:.3g}"


def x_axis(lrs: np.ndarray, mode: str) -> np.ndarray:
    """The abscissa slopes are taken against: log(lr) (exp sweep) or lr (linear)."""
    return np.log(lrs) if mode == "exp" else lrs


def finite_prefix(lrs, losses, min_points: int):
    """Arrays cut at the first non-finite loss (fastai cuts at the first NaN), or None."""
    lrs = np.asarray(lrs, dtype=float).ravel()
    losses = np.asarray(losses, dtype=float).ravel()
    n = min(lrs.size, losses.size)
    lrs, losses = lrs[:n], losses[:n]
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        lrs, losses = lrs[: bad[0]], losses[: bad[0]]
    if losses.size < min_points:
        return None
    return lrs, losses


#: A sweep whose smoothed loss fell by less than this share of its start learned nothing
#: in its steps (a plain CNN at a small init on the generated benchmark): its lowest point
#: is noise, and the LR it reached is all it says (`flat_sweep_end`).
FLAT_DROP = 0.02


def flat_sweep_end(lrs, losses) -> int | None:
    """The index of the last finite point of a flat sweep (its loss fell by less than
    ``FLAT_DROP`` of its start: the median of its first tenth); None when the loss fell or
    nothing is finite."""
    lrs, losses = np.asarray(lrs, float), np.asarray(losses, float)
    ok = np.flatnonzero(np.isfinite(losses) & np.isfinite(lrs) & (lrs > 0))
    if not ok.size:
        return None
    y = losses[ok]
    start = float(np.median(y[: max(1, y.size // 10)]))
    return int(ok[-1]) if start - y.min() < FLAT_DROP * abs(start) else None


def make_suggestion(method, max_lr, base_lr, why, source, idx, lrs, values, curve="loss") -> Suggestion:
    return Suggestion(
        method=method,
        base_lr=float(base_lr),
        max_lr=float(max_lr),
        explanation=why,
        source=source,
        index=int(idx),
        marker_lr=float(lrs[idx]),
        marker_value=float(values[idx]),
        curve=curve,
    )

REGRET_FILE = "suggestion_regret.json"


def measured_regret() -> dict[str, dict]:
    """Each sweep rule's regret on the generated benchmark's held-out tasks
    (``bench/gen_bench.py --regret-file``), shipped as package data: ``{method: {"worst":
    points, "mean": points, "tasks": n, "spread": decades, ...}}``.

    Regret = the accuracy reached at the best peak of a grid of the task's own schedule minus
    the accuracy reached at the rule's median suggestion, in points (the loss tasks' % of the
    best loss beside it); the pages and the lessons show it beside each rule so a user can see
    which ones have trained well on tasks nobody tuned them to. Empty when the benchmark has
    not been run for this version.
    """
    return {str(k): dict(v) for k, v in (_shipped().get("methods") or {}).items()}


def measured_confidence() -> dict[str, dict]:
    """What a confidence meant on the generated benchmark's held-out tasks
    (``bench/gen_bench.py --regret-file``, shipped beside `measured_regret`): ``"ok"``, the
    tasks where the sweep's recommendation said "ok" (``n``) and the share of them within 1
    point / 2 % of the grid's best peak (``within``, of ``of`` tasks in all); ``"agree"`` and
    ``"disagree"``, the tasks where a default confirmation landed within
    `clr_core.suggest.confirm.AGREE_FACTOR` of the sweep's pick or not, with the share
    within tolerance of the confirmed peak (``within``) and of the sweep's (``sweep_within``);
    ``"by_cost"``, those two for a confirmation of each cost (``"1"`` ... ``"6"`` trainings).
    The pages turn these into their sentences; empty when the benchmark has not measured them.
    """
    return {str(k): dict(v) for k, v in (_shipped().get("confidence") or {}).items()}


def _shipped() -> dict:
    """The benchmark's figures shipped with the package, or {} where there are none."""
    try:
        text = resources.files(__package__).joinpath(REGRET_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    return json.loads(text)
