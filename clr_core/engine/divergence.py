"""When a loss curve has run away: the one rule the range test and training share."""

from __future__ import annotations

import math

__all__ = ["DivergenceCheck"]


class DivergenceCheck:
    """Whether a loss curve has run away, for losses of any sign.

    Called with each new value (the range test's smoothed loss, or a training's batch
    loss), from the first one on. ``relative_to="best"`` (fastai's rule for the range
    test) compares with the lowest value so far, ``"first"`` (training) with the first.
    With a positive reference the test is exactly ``value > threshold * reference``.
    With a reference <= 0 a ratio means nothing, so the allowed rise is measured in the
    loss's own scale: ``value - reference > (threshold - 1) * max(|reference|, |first|)``.
    A curve that is exactly 0 throughout has no scale; ``note`` then says the test could
    not run."""

    __slots__ = ("best", "first", "relative_to", "threshold", "unscaled")

    def __init__(self, threshold: float, relative_to: str = "best") -> None:
        self.threshold = threshold
        self.relative_to = relative_to
        self.best = math.inf
        self.first = math.nan
        self.unscaled = False

    def __call__(self, value: float) -> bool:
        if self.first != self.first:  # NaN: this is the first value
            self.first = value
        if value < self.best:
            self.best = value
            return False
        ref = self.best if self.relative_to == "best" else self.first
        if ref > 0:
            return value > self.threshold * ref
        scale = max(abs(ref), abs(self.first))
        if scale == 0:
            self.unscaled = True
            return False
        return value - ref > (self.threshold - 1.0) * scale

    @property
    def note(self) -> str:
        if self.unscaled and self.best == 0 and self.first == 0:
            return "the divergence test could not run: the loss was exactly 0, so no rise is measurable"
        return ""
