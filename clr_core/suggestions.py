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

import bisect
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from importlib import resources

import numpy as np

from .errors import ConfigError

__all__ = [
    "CLR_BASE_DIVISOR",
    "MIN10_BASE_DIVISOR",
    "REGRET_FILE",
    "SUGGESTERS",
    "Suggestion",
    "SuggesterSpec",
    "measured_regret",
    "min10_base6",
    "minimum",
    "slide",
    "smith_accuracy",
    "steep",
    "steepest_gradient",
    "suggest_all",
    "valley",
]

CLR_BASE_DIVISOR = 4.0  # Smith 2015: base_lr = max_lr / 3 or / 4
MIN10_BASE_DIVISOR = 6.0  # Dehaene 2019: "a factor R smaller ... our used factor was 6"
_CLR_RULE = "base = max/4 (Smith 2015: /3 or /4)"

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
    NaN for a rule that gives a point and no band (every rule but ``recommended``)."""

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

    @property
    def has_band(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    def to_dict(self) -> dict:
        """JSON-safe: a missing band is written as None, not NaN."""
        d = asdict(self)
        for k in ("low", "high"):
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
        )


# --------------------------------------------------------------------------- helpers


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _x_axis(lrs: np.ndarray, mode: str) -> np.ndarray:
    """The abscissa slopes are taken against: log(lr) (exp sweep) or lr (linear)."""
    return np.log(lrs) if mode == "exp" else lrs


def _finite_prefix(lrs, losses, min_points: int):
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


def _make(method, max_lr, base_lr, why, source, idx, lrs, values, curve="loss") -> Suggestion:
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


# ----------------------------------------------------------------------- fastai rules


def _lds_lengths(losses: np.ndarray) -> list[int]:
    """Length of the longest strictly decreasing subsequence ending at each point.

    Same numbers as fastai's O(n^2) double loop, computed with patience sorting in
    O(n log n) so a 1000-point curve costs microseconds (tests check equality).
    """
    tails: list[float] = []  # tails[k]: smallest -loss ending an increasing run of k+1
    out = []
    find, grow, keep = bisect.bisect_left, tails.append, out.append
    for v in (-losses).tolist():
        k = find(tails, v)
        if k == len(tails):
            grow(v)
        else:
            tails[k] = v
        keep(k + 1)
    return out


def _longest_valley(losses: np.ndarray) -> tuple[int, int]:
    """(first index where the longest decreasing subsequence ends, its length): what
    fastai's valley keeps from its pass. The max length only grows when patience
    sorting opens a new pile, so the last new pile marks fastai's ``max_end``."""
    tails: list[float] = []
    find, grow = bisect.bisect_left, tails.append
    max_end = 0
    for i, v in enumerate((-losses).tolist()):
        k = find(tails, v)
        if k == len(tails):
            grow(v)
            max_end = i
        else:
            tails[k] = v
    return max_end, len(tails)


def _lds_lengths_fastai(losses) -> list[int]:
    """fastai's quadratic pass, verbatim in spirit; the reference for ``_lds_lengths``."""
    n = len(losses)
    lds = [1] * n
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
    return lds


def valley(lrs, losses, *, mode: str = "exp", accuracies=None) -> Suggestion | None:
    """fastai's default: the longest valley (longest decreasing subsequence of the
    loss), then the point about half-way down it, well before the minimum."""
    cur = _finite_prefix(lrs, losses, 3)
    if cur is None:
        return None
    lrs, losses = cur
    max_end, length = _longest_valley(losses)
    if length < 2:
        return None
    max_start = max_end - length
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    idx = min(max(idx, 0), losses.size - 1)  # fastai can index -1 on a short curve
    lr = float(lrs[idx])
    why = (
        f"Longest valley of the loss runs to {_fmt(lrs[max_end])}; about half-way down it: "
        f"max_lr = {_fmt(lr)}; {_CLR_RULE}."
    )
    return _make("valley", lr, lr / CLR_BASE_DIVISOR, why, SRC_FASTAI.format("valley"), idx, lrs, losses)


def steep(lrs, losses, *, mode: str = "exp", accuracies=None) -> Suggestion | None:
    """fastai: where d loss / d log(lr) is most negative (left point of the step)."""
    cur = _finite_prefix(lrs, losses, 2)
    if cur is None:
        return None
    lrs, losses = cur
    x = _x_axis(lrs, mode)
    with np.errstate(divide="ignore", invalid="ignore"):
        grads = np.diff(losses) / np.diff(x)
    if not np.isfinite(grads).all():
        return None
    idx = int(np.argmin(grads))
    if grads[idx] >= 0:
        return None  # the loss never falls: no steep descent to point at
    lr = float(lrs[idx])
    axis = "log(lr)" if mode == "exp" else "lr"
    why = f"Steepest fall of the loss against {axis} at {_fmt(lr)}: max_lr = {_fmt(lr)}; {_CLR_RULE}."
    return _make("steep", lr, lr / CLR_BASE_DIVISOR, why, SRC_FASTAI.format("steep"), idx, lrs, losses)


def minimum(lrs, losses, *, mode: str = "exp", accuracies=None) -> Suggestion | None:
    """fastai: one tenth of the LR at the lowest loss (the minimum is already too hot)."""
    cur = _finite_prefix(lrs, losses, 2)
    if cur is None:
        return None
    lrs, losses = cur
    idx = int(np.argmin(losses))
    lr = float(lrs[idx]) / 10.0
    why = f"Lowest loss at {_fmt(lrs[idx])}; one tenth of it: max_lr = {_fmt(lr)}; {_CLR_RULE}."
    return _make("minimum", lr, lr / CLR_BASE_DIVISOR, why, SRC_FASTAI.format("minimum"), idx, lrs, losses)


def slide(
    lrs,
    losses,
    *,
    mode: str = "exp",
    accuracies=None,
    lr_diff: int = 15,
    thresh: float = 0.005,
    adjust_value: float = 1.0,
) -> Suggestion | None:
    """fastai's interval slide rule: walk left from the end until the per-point loss
    gradients ``lr_diff`` points apart differ by less than ``thresh``.

    Gradients are per point (``np.gradient(losses)``) as in fastai, so ``thresh``
    depends on the loss scale and the number of points, as it does there.
    """
    cur = _finite_prefix(lrs, losses, lr_diff + 1)
    if cur is None:
        return None
    lrs, losses = cur
    n = losses.size
    g = np.gradient(losses)
    # pair (l, l + lr_diff) for l = n-1-lr_diff down to 0; fastai stops at the first
    # pair within thresh and keeps the left LR of the pair before it.
    close = np.abs(g[lr_diff:] - g[:-lr_diff]) <= thresh
    hits = np.flatnonzero(close)
    first = n - 1 - lr_diff
    if hits.size == 0:
        idx = 0  # walked off the left end
    else:
        stop = int(hits[-1])
        idx = stop if stop == first else stop + 1
    lr = float(lrs[idx]) * adjust_value
    why = (
        f"Slide rule: loss gradients {lr_diff} points apart first agree (within {thresh}) "
        f"near {_fmt(lrs[idx])}: max_lr = {_fmt(lr)}; {_CLR_RULE}."
    )
    return _make("slide", lr, lr / CLR_BASE_DIVISOR, why, SRC_FASTAI.format("slide"), idx, lrs, losses)


# ------------------------------------------------------- torch-lr-finder and Dehaene


def _gradient(y: np.ndarray, x: np.ndarray) -> np.ndarray | None:
    """``np.gradient(y, x)`` (second order inside, first order at the ends) in a few
    array ops; None unless x increases strictly."""
    hx = np.diff(x)
    if not (hx > 0).all():
        return None
    dy = np.diff(y)
    g = np.empty_like(y)
    g[0], g[-1] = dy[0] / hx[0], dy[-1] / hx[-1]
    a, b = hx[:-1], hx[1:]  # left and right spacing of each inner point
    g[1:-1] = (a * a * y[2:] - b * b * y[:-2] + (b * b - a * a) * y[1:-1]) / (a * b * (a + b))
    return g


def steepest_gradient(lrs, losses, *, mode: str = "exp", accuracies=None) -> Suggestion | None:
    """torch-lr-finder / Lightning: steepest gradient of the smoothed loss, with the
    slope taken against log(lr) (exp) or lr (linear) instead of the point index."""
    cur = _finite_prefix(lrs, losses, 3)
    if cur is None:
        return None
    lrs, losses = cur
    g = _gradient(losses, _x_axis(lrs, mode))
    if g is None:
        return None
    idx = int(np.argmin(g))
    if g[idx] >= 0:
        return None
    lr = float(lrs[idx])
    axis = "log(lr)" if mode == "exp" else "lr"
    why = f"Steepest gradient of the loss against {axis} at {_fmt(lr)}: max_lr = {_fmt(lr)}; {_CLR_RULE}."
    return _make("steepest_gradient", lr, lr / CLR_BASE_DIVISOR, why, SRC_PEERS, idx, lrs, losses)


def min10_base6(lrs, losses, *, mode: str = "exp", accuracies=None) -> Suggestion | None:
    """Dehaene (2019): upper bound a factor 10 left of the loss minimum; base = upper / 6."""
    cur = _finite_prefix(lrs, losses, 2)
    if cur is None:
        return None
    lrs, losses = cur
    idx = int(np.argmin(losses))
    lr = float(lrs[idx]) / 10.0
    why = (
        f"Lowest loss at {_fmt(lrs[idx])}; a factor 10 to its left: max_lr = {_fmt(lr)}; "
        f"base = max/6 (Dehaene 2019)."
    )
    return _make("min10_base6", lr, lr / MIN10_BASE_DIVISOR, why, SRC_MIN10, idx, lrs, losses)


def _accuracy_curve(lrs, accuracies):
    """(lr, accuracy) from validation rows (iteration, lr, accuracy[, val_loss]),
    from dicts with "lr"/"accuracy", or from one accuracy per point of ``lrs``."""
    if accuracies is None:
        return None
    if isinstance(accuracies, (list, tuple)) and accuracies and isinstance(accuracies[0], dict):
        a_lr = np.array([float(r["lr"]) for r in accuracies])
        acc = np.array([float(r["accuracy"]) for r in accuracies])
    else:
        arr = np.asarray(accuracies, dtype=float)
        if arr.ndim == 2 and arr.shape[1] >= 3:
            a_lr, acc = arr[:, 1], arr[:, 2]
        elif arr.ndim == 1 and lrs is not None and arr.size == np.asarray(lrs).size:
            a_lr, acc = np.asarray(lrs, dtype=float).ravel(), arr
        else:
            return None
    keep = np.isfinite(a_lr) & np.isfinite(acc) & (a_lr > 0)
    return a_lr[keep], acc[keep]


def smith_accuracy(lrs, losses=None, *, mode: str = "exp", accuracies=None) -> Suggestion | None:
    """Smith 2015: base_lr where validation accuracy starts to rise, max_lr where the
    rise slows, turns ragged or falls.

    Read with fixed fractions of the total gain so it is repeatable: "starts to rise" =
    first point past 10% of the gain; "slows" = first point past 90% of it; "ragged or
    falls" = the point before the first drop of more than 10% of the gain below the
    running best, whichever comes first.
    """
    cur = _accuracy_curve(lrs, accuracies)
    if cur is None:
        return None
    a_lr, acc = cur
    if acc.size < 4:
        return None
    a0 = float(acc[0])
    peak = int(np.argmax(acc))
    gain = float(acc[peak]) - a0
    if not gain > 0.02 * max(abs(float(acc[peak])), 1e-12):
        return None  # accuracy never really rises: nothing to read
    b = int(np.argmax(acc[: peak + 1] >= a0 + 0.1 * gain))
    m = b + int(np.argmax(acc[b : peak + 1] >= a0 + 0.9 * gain))
    reason = "stops rising (90% of its gain)"
    run_best = np.maximum.accumulate(acc[b : peak + 1])
    drops = np.flatnonzero(acc[b + 1 : peak + 1] < run_best[:-1] - 0.1 * gain)
    if drops.size and b + drops[0] < m:
        m = b + int(drops[0])  # point before the first drop (drops are offset by one)
        reason = "turns ragged (first drop)"
    max_lr = float(a_lr[m])
    if a_lr[b] < max_lr:
        base_lr = float(a_lr[b])
        base_why = f"starts to rise at {_fmt(base_lr)}"
    else:
        base_lr = max_lr / CLR_BASE_DIVISOR
        base_why = f"rises too abruptly to separate, so {_CLR_RULE}"
    tail = "; still rising at the end: sweep higher" if m == acc.size - 1 else ""
    why = f"Accuracy {base_why} and {reason} at {_fmt(max_lr)}{tail}."
    return _make("smith_accuracy", max_lr, base_lr, why, SRC_SMITH, m, a_lr, acc, curve="accuracy")


# ------------------------------------------------------------------------- registry


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
) -> dict[str, Suggestion]:
    """Every applicable rule on one curve, keyed by method name, ``recommended`` (see
    ``clr_core.recommend``) first whenever a loss rule answered.

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
        from .recommend import recommended  # it reads these rules: imported late, no cycle

        start = _fastai_skip(n if num_iter is None else int(num_iter))
        if skip_start is not None:
            start = int(skip_start)
        if start not in windows:
            windows[start] = _window(lrs, losses, start, n - int(skip_end))
        win = windows[start]
        rec = (
            recommended(win[0], win[1], out, mode=mode, start=start, sweep=(lo, hi))
            if win
            else recommended(lrs[:0], losses[:0], out, mode=mode, sweep=(lo, hi))
        )
        rec = _sane(rec, lo, hi)
        if rec is not None:  # first: what a result, the store and the pages lead with
            out = {"recommended": rec, **out}
    return out


# ------------------------------------------------------------------ measured quality

REGRET_FILE = "suggestion_regret.json"


def measured_regret() -> dict[str, dict]:
    """Each rule's regret as ``bench/suggestions.py`` measured it, shipped as package data:
    ``{method: {"worst": points, "mean": points, "spread": decades, "tasks": n}}``.

    Regret = best validation accuracy over a grid of 1cycle max_lr minus the accuracy
    reached at the rule's median suggestion, in points; the pages and the lessons show it
    beside each rule so a user can see which ones have trained well. Empty when the
    benchmark has not been run for this version.
    """
    try:
        text = resources.files(__package__).joinpath(REGRET_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    data = json.loads(text)
    return {str(k): dict(v) for k, v in (data.get("methods") or {}).items()}
