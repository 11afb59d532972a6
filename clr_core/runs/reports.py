"""What a job returns: a range test, a set of trainings or a sweep, with the config it
ran and what the pages show beside the curves.

The runners build these, a job's result and the run store hold their ``to_dict()``
form, and the pages (and the CLI) read it back with `report_from_dict`, so nothing
outside this module knows the JSON layout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from clr_core.engine.results import (
    RangeTestResult,
    TrainResult,
    suggestion_from_dict,
    suggestion_to_dict,
)
from clr_core.errors import ConfigError
from clr_core.jsonsafe import from_json_float, json_safe, to_json_float
from clr_core.present.notebook import ShownRangeTestResult
from clr_core.present.summary import result_headline
from clr_core.suggest.confirm import ConfirmResult
from clr_core.suggest.stability import StabilitySummary
from clr_core.suggest.types import Suggestion

__all__ = [
    "ConfirmReport",
    "TrialCurve",
    "RangeTestReport",
    "Report",
    "SweepCurve",
    "SweepRecommendation",
    "SweepReport",
    "TrainReport",
    "TrainCurve",
    "range_test_report",
    "report_from_dict",
    "train_report",
]


@dataclass
class RangeTestReport:
    """A "range_test" job: the result, its config, and the loader's length (the designer
    sizes a cycle in epochs of it)."""

    range_test: RangeTestResult
    config: dict[str, Any] = field(default_factory=dict)
    iters_per_epoch: int | None = None
    device: str | None = None
    headline: str | None = None
    cancelled: bool = False
    kind: ClassVar[str] = "range_test"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": self.config, "iters_per_epoch": self.iters_per_epoch,
                "device": self.device, "range_test": self.range_test.to_dict(),
                "headline": self.headline, "cancelled": bool(self.cancelled)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RangeTestReport:
        return cls(range_test=ShownRangeTestResult.from_dict(d["range_test"]),
                   config=dict(d.get("config") or {}), iters_per_epoch=d.get("iters_per_epoch"),
                   device=d.get("device"), headline=d.get("headline"),
                   cancelled=bool(d.get("cancelled", False)))


def range_test_report(result: RangeTestResult, config: dict, *, iters_per_epoch: int | None,
                      device: str | None) -> RangeTestReport:
    """The report of a range test, headlined, whether a job or a script's ``record=`` ran it."""
    return RangeTestReport(range_test=result, config=config, iters_per_epoch=iters_per_epoch,
                           device=device, headline=result_headline(result),
                           cancelled=result.stop_reason == "cancelled")


@dataclass
class TrainCurve:
    """One training of a "train" job (the designed schedule or a baseline)."""

    label: str
    train: TrainResult
    config: dict[str, Any] = field(default_factory=dict)
    iters_per_epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "config": self.config,
                "iters_per_epoch": self.iters_per_epoch, "train": self.train.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainCurve:
        return cls(label=str(d["label"]), train=TrainResult.from_dict(d["train"]),
                   config=dict(d.get("config") or {}), iters_per_epoch=d.get("iters_per_epoch"))


@dataclass
class TrainReport:
    """A "train" job: its trainings in order, on the same data and model."""

    curves: list[TrainCurve] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    headline: str | None = None
    cancelled: bool = False
    kind: ClassVar[str] = "train"

    def to_dict(self) -> dict[str, Any]:
        # "runs" is the stored key (runs saved before the glossary keep reading back)
        return {"kind": self.kind, "config": self.config,
                "runs": [c.to_dict() for c in self.curves], "headline": self.headline,
                "cancelled": bool(self.cancelled)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainReport:
        return cls(curves=[TrainCurve.from_dict(r) for r in d.get("runs") or []],
                   config=dict(d.get("config") or {}), headline=d.get("headline"),
                   cancelled=bool(d.get("cancelled", False)))


def train_report(curves: list[TrainCurve], config: dict, *, cancelled: bool) -> TrainReport:
    """The report of trainings, headlined by the best validation accuracy."""
    scored = [c for c in curves if c.train.best_val_accuracy is not None]
    best = max(scored, key=lambda r: r.train.best_val_accuracy, default=None)
    line = None if best is None else f"best: {best.label} {100 * best.train.best_val_accuracy:.1f}%"
    return TrainReport(curves=curves, config=config, headline=line, cancelled=cancelled)


@dataclass
class SweepCurve:
    """One value of a sweep and its range test."""

    label: str
    value: Any
    range_test: RangeTestResult
    iters_per_epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "value": self.value, "range_test": self.range_test.to_dict(),
                "iters_per_epoch": self.iters_per_epoch}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepCurve:
        return cls(label=str(d["label"]), value=d["value"],
                   range_test=ShownRangeTestResult.from_dict(d["range_test"]),
                   iters_per_epoch=d.get("iters_per_epoch"))


@dataclass(frozen=True)
class SweepRecommendation:
    """Smith's (2018) rule applied to a sweep: the value to use and why. ``tie``: the
    values' suggestions do not differ, so the sweep is no evidence for any of them (``value``
    is then only the rule's default pick, never shown as a verdict)."""

    value: Any
    max_lr: float
    why: str
    tie: bool = False


@dataclass
class SweepReport:
    """A "sweep" job: one range test per value, the paper's rule, and for a seed sweep
    how far each suggestion moved and the seeds' recommendations combined."""

    param: str
    curves: list[SweepCurve] = field(default_factory=list)
    recommendation: SweepRecommendation | None = None
    stability: dict[str, StabilitySummary] = field(default_factory=dict)
    recommended: Suggestion | None = None
    config: dict[str, Any] = field(default_factory=dict)
    headline: str | None = None
    cancelled: bool = False
    kind: ClassVar[str] = "sweep"

    def to_dict(self) -> dict[str, Any]:
        rec = self.recommendation
        return {"kind": self.kind, "config": self.config, "param": self.param,
                "curves": [c.to_dict() for c in self.curves],
                "recommendation": None if rec is None else
                {"value": rec.value, "max_lr": rec.max_lr, "why": rec.why, "tie": rec.tie},
                "stability": {k: v.to_dict() for k, v in self.stability.items()},
                "recommended": None if self.recommended is None
                else suggestion_to_dict(self.recommended),
                "headline": self.headline, "cancelled": bool(self.cancelled)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepReport:
        rec = d.get("recommendation")
        return cls(param=str(d["param"]),
                   curves=[SweepCurve.from_dict(c) for c in d.get("curves") or []],
                   recommendation=None if not rec else SweepRecommendation(
                       rec["value"], float(rec["max_lr"]), str(rec["why"]),
                       bool(rec.get("tie", False))),
                   stability={k: StabilitySummary.from_dict(v)
                              for k, v in (d.get("stability") or {}).items()},
                   recommended=None if not d.get("recommended")
                   else suggestion_from_dict(d["recommended"]),
                   config=dict(d.get("config") or {}), headline=d.get("headline"),
                   cancelled=bool(d.get("cancelled", False)))


@dataclass(frozen=True)
class TrialCurve:
    """One confirming training: the peak it trained at, its share of the budget, its seed,
    its score (lower is better; NaN: diverged), and its training-loss curve (thinned)."""

    peak: float
    fraction: float
    seed: int
    score: float
    steps: int
    losses: tuple[float, ...] = ()
    val_loss: float = math.nan
    val_accuracy: float = math.nan
    stop_reason: str = "completed"

    def to_dict(self) -> dict[str, Any]:
        return {"peak": self.peak, "fraction": self.fraction, "seed": self.seed,
                "score": to_json_float(self.score), "steps": self.steps,
                "losses": [to_json_float(v) for v in self.losses],
                "val_loss": to_json_float(self.val_loss),
                "val_accuracy": to_json_float(self.val_accuracy), "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrialCurve:
        return cls(peak=float(d["peak"]), fraction=float(d["fraction"]), seed=int(d["seed"]),
                   score=from_json_float(d.get("score")), steps=int(d.get("steps") or 0),
                   losses=tuple(from_json_float(v) for v in d.get("losses") or ()),
                   val_loss=from_json_float(d.get("val_loss")),
                   val_accuracy=from_json_float(d.get("val_accuracy")),
                   stop_reason=str(d.get("stop_reason") or "completed"))


@dataclass
class ConfirmReport:
    """A "confirm" job: short trainings of the planned schedule at the sweep's candidate
    peaks (`clr_core.suggest.confirm`), each trial's curve, the winner, and the sweep's own
    pick to compare it with (the result's). ``metric``: "accuracy" (scores are -accuracy) or
    "loss"."""

    result: ConfirmResult
    trials: list[TrialCurve] = field(default_factory=list)
    metric: str = "accuracy"
    budget: int = 0
    policy: str = "one_cycle"
    config: dict[str, Any] = field(default_factory=dict)
    headline: str | None = None
    cancelled: bool = False
    kind: ClassVar[str] = "confirm"

    @property
    def sweep_pick(self) -> float | None:
        """The sweep's pick for the planned schedule (`ConfirmResult.sweep_pick`)."""
        return self.result.sweep_pick

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": self.config, "confirm": json_safe(self.result.to_dict()),
                "trials": [t.to_dict() for t in self.trials], "metric": self.metric,
                "sweep_pick": to_json_float(self.sweep_pick) if self.sweep_pick is not None else None,
                "budget": self.budget, "policy": self.policy, "headline": self.headline,
                "cancelled": bool(self.cancelled)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ConfirmReport:
        result, pick = ConfirmResult.from_dict(d["confirm"]), d.get("sweep_pick")
        if result.sweep_pick is None and pick is not None:  # stored before the result held it
            result = replace(result, sweep_pick=float(pick))
        return cls(result=result,
                   trials=[TrialCurve.from_dict(t) for t in d.get("trials") or []],
                   metric=str(d.get("metric") or "accuracy"),
                   budget=int(d.get("budget") or 0), policy=str(d.get("policy") or "one_cycle"),
                   config=dict(d.get("config") or {}), headline=d.get("headline"),
                   cancelled=bool(d.get("cancelled", False)))

    def reached(self, trial: TrialCurve) -> float:
        """A trial's score as the page shows it: accuracy in percent, or the loss."""
        return -100.0 * trial.score if self.metric == "accuracy" else trial.score

    def line(self) -> str:
        """The outcome in one line, as the page, the CLI and the run store head it."""
        best = self.result.best_peak
        if not self.trials or not math.isfinite(best):
            return "no confirmed peak (no trial finished)"
        return (f"confirmed max_lr {best:.3g} after {len(self.trials)} trials "
                f"({self.result.cost_in_trainings:.2g} trainings of {self.budget} steps)")


Report = RangeTestReport | TrainReport | SweepReport | ConfirmReport
_KINDS: dict[str, type] = {c.kind: c for c in (RangeTestReport, TrainReport, SweepReport,
                                               ConfirmReport)}


def report_from_dict(d: Mapping[str, Any], kind: str | None = None) -> Report:
    """A job result or stored run read back by its kind (``d["kind"]`` unless given)."""
    kind = kind or d.get("kind")
    if kind not in _KINDS:
        raise ConfigError(f"unknown result kind {kind!r}; known: {', '.join(_KINDS)}")
    return _KINDS[kind].from_dict(d)
