"""How far each suggestion moves when only the seed changes; and the stability limit of
the optimizer in use, the LR past which it cannot stay stable (``stability_limit``).

Every finder (fastai, torch-lr-finder, Lightning) prints one LR from one run and none
says how much that number would move with another shuffle of the data or another
initialisation. Running the same test under a few seeds and reporting the spread in
decades turns "the suggestion" into "the suggestion, give or take a factor of N".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from clr_core.errors import ConfigError
from clr_core.suggest.types import Suggestion

__all__ = ["LIMIT_KINDS", "StabilitySummary", "stability_limit", "summarize_stability"]


#: The kinds of limit `stability_limit` knows (`clr_core.suggest.families` says which
#: optimizer has which; every other optimizer has none).
LIMIT_KINDS = ("gd", "nesterov", "adam")


def stability_limit(lambda_max: float, momentum: float = 0.0, kind: str = "gd") -> float:
    """The LR above which the optimizer diverges on a quadratic of curvature ``lambda_max``:
    heavy-ball gradient descent ("gd") 2(1+β)/λmax (Cohen et al. 2021); torch's Nesterov SGD
    ("nesterov") 2(1+β)/((1+2β)·λmax), the same linear iteration's spectral radius reaching 1
    (b ← βb + g, w ← w − η(g + βb) on ½λw²: at ηλ = 2(1+β)/(1+2β) an eigenvalue is −1);
    Adam ("adam", ``lambda_max`` the preconditioned sharpness, ``momentum`` β1)
    (2+2β1)/((1−β1)·λmax) (Cohen et al. 2022); infinite when the curvature is not positive."""
    if kind not in LIMIT_KINDS:
        raise ConfigError(f"no stability limit for optimizer kind {kind!r}; known: {LIMIT_KINDS}")
    if not lambda_max > 0:
        return float("inf")
    if kind == "adam":
        return (2.0 + 2.0 * momentum) / ((1.0 - momentum) * lambda_max)
    if kind == "nesterov":
        return 2.0 * (1.0 + momentum) / ((1.0 + 2.0 * momentum) * lambda_max)
    return 2.0 * (1.0 + momentum) / lambda_max


@dataclass(frozen=True)
class StabilitySummary:
    """One method across runs. ``min``/``max`` are of max_lr; medians are taken in
    log space (LRs live on a log scale), so with an even ``n`` the median is the
    geometric mean of the middle two. ``spread_decades = log10(max / min)``."""

    method: str
    median_max_lr: float
    median_base_lr: float
    min: float
    max: float
    spread_decades: float
    n: int
    n_runs: int
    max_lrs: tuple[float, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["max_lrs"] = list(self.max_lrs)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> StabilitySummary:
        return cls(
            method=str(d["method"]),
            median_max_lr=float(d["median_max_lr"]),
            median_base_lr=float(d["median_base_lr"]),
            min=float(d["min"]),
            max=float(d["max"]),
            spread_decades=float(d["spread_decades"]),
            n=int(d["n"]),
            n_runs=int(d.get("n_runs", d["n"])),
            max_lrs=tuple(float(v) for v in d.get("max_lrs", ())),
        )


def _log_median(values: list[float]) -> float:
    return float(10.0 ** np.median(np.log10(np.asarray(values, dtype=float))))


def summarize_stability(
    runs: Iterable[Mapping[str, Suggestion]],
) -> dict[str, StabilitySummary]:
    """Per method: median, range and spread (decades) of the suggested LRs, given each
    run's suggestions by method (a range test result's ``suggestions``).

    Pure. A method missing from some runs is summarised over the runs that have it
    (``n`` of ``n_runs``); non-positive or non-finite LRs are ignored.
    """
    runs = list(runs)
    by_method: dict[str, list[tuple[float, float]]] = {}
    for suggestions in runs:
        for name, s in suggestions.items():
            mx, bs = float(s.max_lr), float(s.base_lr)
            if math.isfinite(mx) and math.isfinite(bs) and mx > 0 and bs > 0:
                by_method.setdefault(name, []).append((mx, bs))
    out: dict[str, StabilitySummary] = {}
    for name, pairs in by_method.items():
        maxs = [p[0] for p in pairs]
        bases = [p[1] for p in pairs]
        lo, hi = min(maxs), max(maxs)
        out[name] = StabilitySummary(
            method=name,
            median_max_lr=min(max(_log_median(maxs), lo), hi),  # 10**log10 may round past
            median_base_lr=_log_median(bases),
            min=lo,
            max=hi,
            spread_decades=float(math.log10(hi / lo)),
            n=len(pairs),
            n_runs=len(runs),
            max_lrs=tuple(maxs),
        )
    return out
