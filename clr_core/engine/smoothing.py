"""Bias-corrected exponential moving average of a loss curve (fastai's debiased EMA).

A raw range-test loss is one mini-batch wide and too noisy to read a slope from.
fastai (and Dehaene's 2019 PyTorch walkthrough) smooth it with an EMA; fastai divides by
``1 - beta**t`` so the first points are not dragged towards zero, which is what
lets the divergence test ("smoothed > 4 x best") run from the first iteration.

``ema`` is the vectorised form for a whole curve; ``EmaSmoother`` is the online
form used inside the range-test loop. Both give the same numbers (to rounding).
A NaN or inf poisons every later value, exactly as the recurrence does.
"""

from __future__ import annotations

import math

import numpy as np

from clr_core.validation import check_probability

__all__ = ["DEFAULT_BETA", "ema", "EmaSmoother"]

DEFAULT_BETA = 0.98

# The closed form multiplies by beta**-k inside a block; blocks are cut so that
# factor stays below ~1e13 (no overflow, no precision loss).
_MAX_BLOCK = 512


def _check_beta(beta: float) -> float:
    return check_probability("beta", beta)


def ema(losses, beta: float = DEFAULT_BETA) -> np.ndarray:
    """Debiased EMA of ``losses``: ``avg_t / (1 - beta**(t+1))``.

    Computed block-wise in closed form (a weighted cumulative sum), so a long curve
    costs a handful of numpy calls instead of a Python loop.
    """
    beta = _check_beta(beta)
    x = np.asarray(losses, dtype=float).ravel()
    n = x.size
    if n == 0:
        return np.empty(0)
    if beta == 0.0:
        return x.copy()
    if beta < 0.5:
        # beta**-k overflows quickly; these betas barely smooth, a loop is fine.
        return _ema_loop(x, beta)
    block = max(1, min(_MAX_BLOCK, int(30.0 / -math.log(beta))))
    out = np.empty(n)
    carry = 0.0  # raw (biased) average before the block
    k = np.arange(min(block, n), dtype=float)
    up = beta ** -k  # beta**-k
    down = beta ** (k + 1)  # beta**(k+1)
    one_minus = 1.0 - beta
    with np.errstate(invalid="ignore", over="ignore"):
        for s in range(0, n, block):
            blk = x[s : s + block]
            m = blk.size
            # avg_{s+j} = beta**(j+1) carry + (1-beta) sum_{i<=j} beta**(j-i) x_{s+i}
            avg = down[:m] * carry + one_minus * np.cumsum(blk * up[:m]) * (down[:m] / beta)
            out[s : s + m] = avg
            carry = avg[-1]
        t = np.arange(1, n + 1, dtype=float)
        out /= -np.expm1(t * math.log(beta))  # 1 - beta**t, accurate for small t
    return out


def _ema_loop(x: np.ndarray, beta: float) -> np.ndarray:
    out = np.empty(x.size)
    sm = EmaSmoother(beta)
    for i, v in enumerate(x.tolist()):
        out[i] = sm.update(v)
    return out


class EmaSmoother:
    """Online debiased EMA; ``update(x)`` returns the smoothed value so far.

    Plain floats only, so one update costs well under a microsecond inside the
    range-test loop.
    """

    __slots__ = ("beta", "_avg", "_bias", "count", "value")

    def __init__(self, beta: float = DEFAULT_BETA) -> None:
        self.beta = _check_beta(beta)
        self.reset()

    def reset(self) -> None:
        self._avg = 0.0
        self._bias = 1.0  # beta**count
        self.count = 0
        self.value = math.nan

    def update(self, x: float) -> float:
        b = self.beta
        self._avg = b * self._avg + (1.0 - b) * x
        self._bias *= b
        self.count += 1
        self.value = self._avg / (1.0 - self._bias)
        return self.value
