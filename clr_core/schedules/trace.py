"""Contiguous-range kernels: the preview's fast path (`Schedule.trace`).

`Schedule.lr(k)` takes any iterations. A preview asks for a contiguous range, and there a
schedule's structure pays: a held value is a fill, a periodic schedule is one cycle
tiled, and a cosine or an exponential over an arithmetic progression of iterations is
the outer product of two short tables (cos(a + b) = cos a cos b - sin a sin b,
e^(a+b) = e^a e^b). 10^6 iterations then cost a few thousand transcendental calls and a
few multiply-adds done in CPU-cache-sized chunks, where the closed form costs 10^6
cosines (numpy's float64 cos runs at about 8 ns each).

Every kernel fills `out`, the slice of a trace holding iterations first, first + 1, ...
(i below is the position in `out`), and agrees with the closed form to a few units in
the last place of the values' scale (a test holds every policy to 1e-12 of its peak).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "CHUNK",
    "affine",
    "chunked",
    "cosine",
    "exponential",
    "fill",
    "part",
    "periodic",
    "power",
    "reciprocal_sqrt",
    "rows_scaled",
    "tile",
]

CHUNK = 1 << 15  # values per in-cache step (256 KB of float64)
ROW = 4096  # row length of the two-table products
_INDEX = np.arange(max(CHUNK, ROW), dtype=np.float64)


def part(out: np.ndarray, first: int, lo: int, hi: int | None = None) -> tuple[np.ndarray, int]:
    """(the slice of `out` covering iterations [lo, hi), its first iteration); empty when
    the range misses `out` (hi None: to the end)."""
    a = max(lo, first)
    b = first + out.size if hi is None else min(hi, first + out.size)
    if b <= a:
        return out[:0], a
    return out[a - first:b - first], a


def _spans(n: int, size: int = CHUNK):
    for s0 in range(0, n, size):
        yield s0, min(n, s0 + size)


def chunked(out: np.ndarray, first: int, closed_form: Callable[[np.ndarray], np.ndarray]) -> None:
    """out[i] = closed_form(first + i), evaluated a cache-sized chunk at a time: the fallback
    for any elementwise closed form of the iteration."""
    for s0, s1 in _spans(out.size):
        out[s0:s1] = closed_form(np.arange(first + s0, first + s1, dtype=np.int64))


def fill(out: np.ndarray, value: float) -> None:
    out.fill(value)


def affine(out: np.ndarray, start: float, slope: float) -> None:
    """out[i] = start + slope * i."""
    for s0, s1 in _spans(out.size):
        o = out[s0:s1]
        np.multiply(_INDEX[:s1 - s0], slope, out=o)
        o += start + slope * s0


def reciprocal_sqrt(out: np.ndarray, scale: float, start: float, slope: float) -> None:
    """out[i] = scale / sqrt(start + slope * i) (inverse-square-root decays)."""
    affine(out, start, slope)
    for s0, s1 in _spans(out.size):
        o = out[s0:s1]
        np.sqrt(o, out=o)
        np.divide(scale, o, out=o)


def power(out: np.ndarray, start: float, slope: float, divisor: float, exponent: float,
          scale: float, offset: float) -> None:
    """out[i] = offset + scale * |(start + slope * i) / divisor| ** exponent (polynomial
    decays; with whole start and slope the base is exact where it reaches 0, which an
    exponent below 1 would otherwise magnify)."""
    affine(out, start, slope)
    for s0, s1 in _spans(out.size):
        o = out[s0:s1]
        o /= divisor
        np.abs(o, out=o)
        if exponent == 2:
            np.square(o, out=o)
        elif exponent == 0.5:
            np.sqrt(o, out=o)
        else:
            np.power(o, exponent, out=o)
        o *= scale
        o += offset


def _rows(n: int, row: int) -> int:
    return n // row if n >= 2 * row else 0


def cosine(out: np.ndarray, theta0: float, dtheta: float, offset: float, amplitude: float,
           floor: float | None = None) -> None:
    """out[i] = offset + amplitude * cos(theta0 + dtheta * i), at least `floor` if given.

    Row j, column m: cos(A_j + b_m) = cos A_j cos b_m - sin A_j sin b_m, with
    A_j = theta0 + dtheta * ROW * j and b_m = dtheta * m."""
    n = out.size
    rows = _rows(n, ROW)
    if rows:
        heads = theta0 + (dtheta * ROW) * np.arange(rows, dtype=np.float64)
        ca, sa = amplitude * np.cos(heads), amplitude * np.sin(heads)
        b = dtheta * _INDEX[:ROW]
        cb, sb = np.cos(b), np.sin(b)
        grid = out[:rows * ROW].reshape(rows, ROW)
        per = max(1, CHUNK // ROW)
        tmp = np.empty((per, ROW))
        for r0 in range(0, rows, per):
            r1 = min(rows, r0 + per)
            o, t = grid[r0:r1], tmp[:r1 - r0]
            np.multiply.outer(ca[r0:r1], cb, out=o)
            np.multiply.outer(sa[r0:r1], sb, out=t)
            o -= t
            o += offset
            if floor is not None:
                np.maximum(o, floor, out=o)
    tail = out[rows * ROW:]
    for s0, s1 in _spans(tail.size):
        o = tail[s0:s1]
        np.multiply(_INDEX[:s1 - s0], dtheta, out=o)
        o += theta0 + dtheta * (rows * ROW + s0)
        np.cos(o, out=o)
        o *= amplitude
        o += offset
        if floor is not None:
            np.maximum(o, floor, out=o)


def exponential(out: np.ndarray, start: float, log_ratio: float) -> None:
    """out[i] = start * exp(log_ratio * i): row j, column m is
    (start * e^(log_ratio * ROW * j)) * e^(log_ratio * m)."""
    row = min(ROW, out.size)
    rows_scaled(out, np.exp(log_ratio * _INDEX[:row]),
                lambda j: start * np.exp((log_ratio * row) * j), None)


def tile(out: np.ndarray, pattern: np.ndarray) -> None:
    """out[i] = pattern[i % len(pattern)]."""
    size = pattern.size
    rows = out.size // size
    out[:rows * size].reshape(rows, size)[:] = pattern
    out[rows * size:] = pattern[:out.size - rows * size]


def periodic(out: np.ndarray, first: int, period: int,
             closed_form: Callable[[np.ndarray], np.ndarray]) -> None:
    """out[i] = closed_form(first + i) for a closed form repeating every `period`
    iterations: whole cycles, at least a row of them, evaluated once and tiled (the closed
    form chunk by chunk when the range holds fewer than four cycles)."""
    if out.size < 4 * period:
        return chunked(out, first, closed_form)
    length = period * -(-ROW // period)
    tile(out, closed_form(np.arange(first, first + length, dtype=np.int64)))


def rows_scaled(out: np.ndarray, pattern: np.ndarray,
                row_scale: Callable[[np.ndarray], np.ndarray], offset: float | None) -> None:
    """out[j * len(pattern) + m] = offset + row_scale(j) * pattern[m]: a repeating shape
    whose amplitude changes from row to row (triangular2 halving per cycle; exp_range's
    gamma**k as gamma**(row start) * gamma**m; an exponential)."""
    if not out.size:
        return
    size = pattern.size
    full = out.size // size
    scales = row_scale(np.arange(-(-out.size // size), dtype=np.float64))
    grid = out[:full * size].reshape(full, size)
    per = max(1, CHUNK // size)
    for r0 in range(0, full, per):
        r1 = min(full, r0 + per)
        o = grid[r0:r1]
        np.multiply.outer(scales[r0:r1], pattern, out=o)
        if offset is not None:
            o += offset
    tail = out[full * size:]
    if tail.size:
        np.multiply(pattern[:tail.size], scales[full], out=tail)
        if offset is not None:
            tail += offset
