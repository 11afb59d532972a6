"""The other published rules: torch-lr-finder's and Lightning's steepest gradient,
Dehaene's (2019) minimum / 10 with base / 6, and Smith's (2015) accuracy test."""

from __future__ import annotations

import numpy as np

from clr_core.suggest.types import (
    CLR_BASE_DIVISOR,
    CLR_RULE,
    MIN10_BASE_DIVISOR,
    SRC_MIN10,
    SRC_PEERS,
    SRC_SMITH,
    Suggestion,
    finite_prefix,
    fmt_lr,
    make_suggestion,
    x_axis,
)

__all__ = ["min10_base6", "smith_accuracy", "steepest_gradient"]


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
    cur = finite_prefix(lrs, losses, 3)
    if cur is None:
        return None
    lrs, losses = cur
    g = _gradient(losses, x_axis(lrs, mode))
    if g is None:
        return None
    idx = int(np.argmin(g))
    if g[idx] >= 0:
        return None
    lr = float(lrs[idx])
    axis = "log(lr)" if mode == "exp" else "lr"
    why = f"Steepest gradient of the loss against {axis} at {fmt_lr(lr)}: max_lr = {fmt_lr(lr)}; {CLR_RULE}."
    return make_suggestion("steepest_gradient", lr, lr / CLR_BASE_DIVISOR, why, SRC_PEERS, idx, lrs, losses)


def min10_base6(lrs, losses, *, mode: str = "exp", accuracies=None) -> Suggestion | None:
    """Dehaene (2019): upper bound a factor 10 left of the loss minimum; base = upper / 6."""
    cur = finite_prefix(lrs, losses, 2)
    if cur is None:
        return None
    lrs, losses = cur
    idx = int(np.argmin(losses))
    lr = float(lrs[idx]) / 10.0
    why = (
        f"Lowest loss at {fmt_lr(lrs[idx])}; a factor 10 to its left: max_lr = {fmt_lr(lr)}; "
        f"base = max/6 (Dehaene 2019)."
    )
    return make_suggestion("min10_base6", lr, lr / MIN10_BASE_DIVISOR, why, SRC_MIN10, idx, lrs, losses)


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
        base_why = f"starts to rise at {fmt_lr(base_lr)}"
    else:
        base_lr = max_lr / CLR_BASE_DIVISOR
        base_why = f"rises too abruptly to separate, so {CLR_RULE}"
    tail = "; still rising at the end: sweep higher" if m == acc.size - 1 else ""
    why = f"Accuracy {base_why} and {reason} at {fmt_lr(max_lr)}{tail}."
    return make_suggestion("smith_accuracy", max_lr, base_lr, why, SRC_SMITH, m, a_lr, acc, curve="accuracy")
