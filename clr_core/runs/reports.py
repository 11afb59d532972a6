"""What a job returns: a range test, a set of trainings or a sweep, with the config it
ran and what the pages show beside the curves.

The runners build these, a job's result and the run store hold their ``to_dict()``
form, and the pages (and the CLI) read it back with `report_from_dict`, so nothing
outside this module knows the JSON layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from clr_core.engine.results import (
    RangeTestResult,
    TrainResult,
    suggestion_from_dict,
    suggestion_to_dict,
)
from clr_core.errors import ConfigError
from clr_core.present.notebook import ShownRangeTestResult
from clr_core.present.summary import result_headline
from clr_core.suggest.stability import StabilitySummary
from clr_core.suggest.types import Suggestion

__all__ = [
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


Report = RangeTestReport | TrainReport | SweepReport
_KINDS: dict[str, type] = {c.kind: c for c in (RangeTestReport, TrainReport, SweepReport)}


def report_from_dict(d: Mapping[str, Any], kind: str | None = None) -> Report:
    """A job result or stored run read back by its kind (``d["kind"]`` unless given)."""
    kind = kind or d.get("kind")
    if kind not in _KINDS:
        raise ConfigError(f"unknown result kind {kind!r}; known: {', '.join(_KINDS)}")
    return _KINDS[kind].from_dict(d)
