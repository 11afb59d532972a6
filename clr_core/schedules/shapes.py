"""Phase shapes and the piecewise evaluation that phase schedules are written in.

The shapes are torch's OneCycleLR annealing functions (and fastai's `SchedExp` /
`SchedNo`), and `piecewise` follows OneCycleLR's phase table: float boundaries, a phase's
last step lands on its `end`, the next phase starts from there. Keeping torch's exact
arithmetic here is what lets 1cycle be written in phases and still match OneCycleLR
step for step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from clr_core.schedules import trace

__all__ = ["SHAPES", "piecewise", "piecewise_trace", "shape_trace", "shape_value"]

SHAPES = ("linear", "cos", "exp", "constant")


def shape_value(shape: str, a: float, b: float, pct: np.ndarray) -> np.ndarray:
    """The value `pct` of the way from a to b (torch's / fastai's formulas, verbatim)."""
    if shape == "cos":  # torch _annealing_cos
        return b + (a - b) / 2.0 * (np.cos(np.pi * pct) + 1)
    if shape == "linear":  # torch _annealing_linear
        return (b - a) * pct + a
    if shape == "exp":  # fastai SchedExp
        return a * (b / a) ** pct
    return np.full(np.shape(pct), a, dtype=np.float64)  # fastai SchedNo


def piecewise(k: np.ndarray, table: Sequence[tuple[float, float, float, str]]) -> np.ndarray:
    """Values at iterations k of (end_step, start, end, shape) phases; the first phase
    starts at 0, each covers k <= end_step, the last one everything after (OneCycleLR)."""
    out = np.empty(k.shape, dtype=np.float64)
    todo = np.ones(k.shape, dtype=bool)
    start = 0.0
    for i, (end, a, b, shape) in enumerate(table):
        sel = todo if i == len(table) - 1 else todo & (k <= end)
        out[sel] = shape_value(shape, a, b, (k[sel] - start) / (end - start))
        todo &= ~sel
        start = end
    return out


def shape_trace(out: np.ndarray, first: int, shape: str, a: float, b: float,
                start: float, end: float) -> None:
    """`shape_value(shape, a, b, (k - start) / (end - start))` for k = first, first + 1, ...
    written into `out` by the contiguous-range kernels."""
    length = end - start
    pct0 = (first - start) / length
    if shape == "cos":  # b + (a - b) / 2 * (cos(pi * pct) + 1)
        half = (a - b) / 2.0
        trace.cosine(out, math.pi * pct0, math.pi / length, b + half, half)
    elif shape == "linear":
        trace.affine(out, (b - a) * pct0 + a, (b - a) / length)
    elif shape == "exp":
        trace.exponential(out, a * (b / a) ** pct0, math.log(b / a) / length)
    else:
        trace.fill(out, a)


def piecewise_trace(out: np.ndarray, first: int,
                    table: Sequence[tuple[float, float, float, str]]) -> None:
    """`piecewise` over iterations first, first + 1, ..., phase by phase."""
    stop = first + out.size
    lo, start = first, 0.0
    for i, (end, a, b, shape) in enumerate(table):
        last = i == len(table) - 1
        hi = stop if last else min(stop, math.floor(end) + 1)  # integer k <= end
        if hi > lo:
            seg, at = trace.part(out, first, lo, hi)
            shape_trace(seg, at, shape, a, b, start, end)
            lo = hi
        start = end
