"""fastai's four rules (``Learner.lr_find``'s valley, steep, minimum and slide),
transcribed from ``fastai/callback/schedule.py`` so the app can show them beside ours
and the benchmark can measure them on the same curves."""

from __future__ import annotations

import bisect

import numpy as np

from clr_core.suggest.types import (
    CLR_BASE_DIVISOR,
    CLR_RULE,
    SRC_FASTAI,
    Suggestion,
    finite_prefix,
    fmt_lr,
    make_suggestion,
    x_axis,
)

__all__ = ["minimum", "slide", "steep", "valley"]


def _lds_lengths(losses: np.ndarray) -> list[int]:
    """Length of the longest strictly decreasing subsequence ending at each point.

    Same numbers as fastai's O(n^2) double loop, computed with patience sorting in
    O(n log n), so a long curve stays cheap (tests check equality).
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
    cur = finite_prefix(lrs, losses, 3)
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
        f"Longest valley of the loss runs to {fmt_lr(lrs[max_end])}; about half-way down it: "
        f"max_lr = {fmt_lr(lr)}; {CLR_RULE}."
    )
    return make_suggestion("valley", lr, lr / CLR_BASE_DIVISOR, why, SRC_FASTAI.format("valley"), idx, lrs, losses)


def steep(lrs, losses, *, mode: str = "exp", accuracies=None) -> Suggestion | None:
    """fastai: where d loss / d log(lr) is most negative (left point of the step)."""
    cur = finite_prefix(lrs, losses, 2)
    if cur is None:
        return None
    lrs, losses = cur
    x = x_axis(lrs, mode)
    with np.errstate(divide="ignore", invalid="ignore"):
        grads = np.diff(losses) / np.diff(x)
    if not np.isfinite(grads).all():
        return None
    idx = int(np.argmin(grads))
    if grads[idx] >= 0:
        return None  # the loss never falls: no steep descent to point at
    lr = float(lrs[idx])
    axis = "log(lr)" if mode == "exp" else "lr"
    why = f"Steepest fall of the loss against {axis} at {fmt_lr(lr)}: max_lr = {fmt_lr(lr)}; {CLR_RULE}."
    return make_suggestion("steep", lr, lr / CLR_BASE_DIVISOR, why, SRC_FASTAI.format("steep"), idx, lrs, losses)


def minimum(lrs, losses, *, mode: str = "exp", accuracies=None) -> Suggestion | None:
    """fastai: one tenth of the LR at the lowest loss (the minimum is already too hot)."""
    cur = finite_prefix(lrs, losses, 2)
    if cur is None:
        return None
    lrs, losses = cur
    idx = int(np.argmin(losses))
    lr = float(lrs[idx]) / 10.0
    why = f"Lowest loss at {fmt_lr(lrs[idx])}; one tenth of it: max_lr = {fmt_lr(lr)}; {CLR_RULE}."
    return make_suggestion("minimum", lr, lr / CLR_BASE_DIVISOR, why, SRC_FASTAI.format("minimum"), idx, lrs, losses)


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
    cur = finite_prefix(lrs, losses, lr_diff + 1)
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
        f"near {fmt_lr(lrs[idx])}: max_lr = {fmt_lr(lr)}; {CLR_RULE}."
    )
    return make_suggestion("slide", lr, lr / CLR_BASE_DIVISOR, why, SRC_FASTAI.format("slide"), idx, lrs, losses)
