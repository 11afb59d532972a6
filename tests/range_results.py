"""A `RangeTestResult` built from arrays, for the tests that draw or summarise a curve they
made up (the figure and the summary take a result, as the pages and a notebook hand them)."""

from __future__ import annotations

import numpy as np

from clr_core.engine.results import RangeTestResult
from clr_core.present.notebook import shown


def curve_result(lrs, losses, smoothed=None, *, suggestions=None, sharpness=(),
                 momentum: float | None = None, sharpness_kind: str = "gd",
                 stop_reason: str = "completed", **fields) -> RangeTestResult:
    """A finished range test of these arrays; ``momentum``: the β of its stability limit."""
    lrs = np.asarray(lrs, dtype=float)
    losses = np.asarray(losses, dtype=float)
    smoothed = losses if smoothed is None else np.asarray(smoothed, dtype=float)
    return shown(RangeTestResult(
        lrs, losses, smoothed, diverged=False, stop_reason=stop_reason,
        suggestions=dict(suggestions or {}),
        sharpness=np.asarray(sharpness, dtype=float).reshape(-1, 3),
        sharpness_beta=momentum, sharpness_kind=sharpness_kind,
        start_lr=float(lrs[0]) if lrs.size else float("nan"),
        end_lr=float(lrs[-1]) if lrs.size else float("nan"), num_iter=int(lrs.size), **fields))
