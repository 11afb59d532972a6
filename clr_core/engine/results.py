"""What a range test and a training return, typed until a JSON boundary.

The engine, the job runners and the pages pass these objects around; only the job
result and the run store hold their ``to_dict()`` form, and every reader turns it back
with ``from_dict`` (NaN/inf follow `clr_core.jsonsafe`: written as null).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from clr_core.engine.events import EVAL, Event, EventColumns
from clr_core.engine.spec import RangeTestSpec, TrainSpec
from clr_core.jsonsafe import from_json_array, from_json_float, to_json_array, to_json_float
from clr_core.suggest.types import Suggestion

__all__ = [
    "RANGE_STOP_REASONS",
    "RUNNING",
    "SHARPNESS_COLUMNS",
    "TRAIN_STOP_REASONS",
    "VAL_COLUMNS",
    "RangeTestResult",
    "TrainResult",
    "suggestion_from_dict",
    "suggestion_to_dict",
]

#: The status of a range test that has not ended: a live result drawn from the events
#: it has streamed so far (`RangeTestResult.streamed`).
RUNNING = "running"
#: Why a range test ended, or `RUNNING` while it has not. "loader exhausted": a one-shot
#: iterator ran out mid-sweep (the partial curve is kept, as after a cancel).
RANGE_STOP_REASONS = ("completed", "diverged", "non-finite loss", "cancelled", "loader exhausted",
                      RUNNING)
#: Why a training ended.
TRAIN_STOP_REASONS = ("completed", "cancelled", "diverged", "non-finite loss", "loader exhausted")
#: Columns of `RangeTestResult.accuracies`, one row per validation pass.
VAL_COLUMNS = ("iteration", "lr", "accuracy", "val_loss")
#: The "eval" `Event` field each of `VAL_COLUMNS` is read from in a streamed result.
_VAL_EVENT_FIELDS = {"iteration": "iteration", "lr": "lr", "accuracy": "val_accuracy",
                     "val_loss": "val_loss"}
#: Columns of `RangeTestResult.sharpness`, one row per estimate (``sharpness_every``).
SHARPNESS_COLUMNS = ("iteration", "lr", "lambda_max")

_SUGGESTION_FLOATS = tuple(f.name for f in fields(Suggestion) if "float" in str(f.type))


def suggestion_to_dict(s: Suggestion) -> dict[str, Any]:
    """A suggestion's ``to_dict`` with its floats under the JSON convention."""
    d = s.to_dict()
    for name in _SUGGESTION_FLOATS:
        if d.get(name) is not None:
            d[name] = to_json_float(d[name])
    return d


def suggestion_from_dict(d: Mapping[str, Any]) -> Suggestion:
    """Inverse of `suggestion_to_dict`."""
    d = dict(d)
    for name in _SUGGESTION_FLOATS:
        if name in d:
            d[name] = from_json_float(d[name])
    return Suggestion.from_dict(d)


def _empty_val() -> np.ndarray:
    return np.empty((0, len(VAL_COLUMNS)))


def _empty_sharpness() -> np.ndarray:
    return np.empty((0, len(SHARPNESS_COLUMNS)))


@dataclass
class RangeTestResult:
    """One range test, finished or (``stop_reason`` `RUNNING`) still streaming.
    ``accuracies`` has one row per validation pass, columns `VAL_COLUMNS` (iteration =
    updates done); no rows without validation.
    ``num_iter`` is the number of steps asked for, ``iterations`` the number run.
    ``divergence_note`` says why the divergence test could not run, when it could not;
    ``amp_dtype`` is the autocast type used ("bfloat16", "float16"), None without AMP.
    ``sharpness``: λmax of the loss's Hessian, one row per estimate, columns
    `SHARPNESS_COLUMNS`; no rows unless ``sharpness_every`` asked for it.
    ``group_scales``: each param group's LR over the reference group's at the start (the
    ratios the sweep kept); `group_lrs` turns a suggestion into every group's LR. For Adam and
    AdamW (``sharpness_kind`` "adam") it is the preconditioned sharpness λmax(P⁻¹H);
    ``sharpness_beta`` is the β of the limit (momentum, or β1); ``sharpness_note`` says
    why no limit was measured for another optimizer. ``optimizer_family``: the family the
    suggestions assumed (`clr_core.suggest.families`; ``family_label`` words it), set on every
    finished test; ``optimizer_class`` the optimizer's class name ("" in older runs).
    What a user receives
    (``clr_core.range_test.run_range_test``, a report read back) is its subclass
    `clr_core.present.notebook.ShownRangeTestResult`, which adds ``summary()``, ``plot()``
    and the notebook view: words and figures live above the engine."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    diverged: bool
    stop_reason: str
    accuracies: np.ndarray = field(default_factory=_empty_val)
    suggestions: dict[str, Suggestion] = field(default_factory=dict)
    mode: str = "exp"
    start_lr: float = math.nan
    end_lr: float = math.nan
    num_iter: int = 0
    elapsed_s: float = 0.0
    smooth_beta: float = 0.98
    diverge_threshold: float | None = 4.0
    reference_group: int = 0
    seed: int | None = None
    divergence_note: str = ""
    amp_dtype: str | None = None
    sharpness: np.ndarray = field(default_factory=_empty_sharpness)
    group_scales: list[float] = field(default_factory=list)
    sharpness_kind: str = "gd"
    sharpness_beta: float | None = None
    sharpness_note: str = ""
    settings_used: dict[str, Any] = field(default_factory=dict)
    optimizer_family: str = ""
    optimizer_class: str = ""
    #: the settings the test ran with, as given (``start_lr`` None: the optimizer's); None
    #: for a streamed result and a run stored before specs
    spec: RangeTestSpec | None = None

    def group_lrs(self, lr: float) -> list[float]:
        """Every param group's LR when the reference group is at ``lr``: the sweep kept
        each group's ratio to it (``group_scales``), so a suggestion holds for all groups
        at these LRs (one value for a single group)."""
        return [lr * s for s in (self.group_scales or [1.0])]

    @property
    def confidence(self) -> str:
        """The recommendation's confidence ("ok", "low", "none"); "none" without one."""
        rec = self.suggestions.get("recommended")
        return rec.confidence if rec is not None else "none"

    @classmethod
    def streamed(cls, steps: EventColumns | None, evals: EventColumns | None, *,
                 mode: str) -> RangeTestResult:
        """What a running range test has streamed so far (its "step" and "eval" event
        columns; None before the first of a kind), as a `RUNNING` result the pages draw
        like a finished one. Suggestions come with the finished result."""
        empty = np.array([])
        if evals is not None and len(evals):
            accuracies = np.column_stack([getattr(evals, _VAL_EVENT_FIELDS[c]) for c in VAL_COLUMNS])
        else:
            accuracies = _empty_val()
        return cls(
            lrs=steps.lr if steps is not None else empty,
            losses=steps.loss if steps is not None else empty,
            smoothed=steps.smoothed if steps is not None else empty,
            diverged=False, stop_reason=RUNNING, accuracies=accuracies, mode=mode)

    @property
    def running(self) -> bool:
        """Still streaming: a partial curve, no suggestions yet."""
        return self.stop_reason == RUNNING

    @property
    def iterations(self) -> int:
        return int(self.lrs.size)

    @property
    def val_lrs(self) -> np.ndarray:
        return self.accuracies[:, 1]

    @property
    def val_accuracy(self) -> np.ndarray:
        return self.accuracies[:, 2]

    @property
    def val_losses(self) -> np.ndarray:
        return self.accuracies[:, 3]

    @property
    def validated_without_accuracy(self) -> bool:
        """Validation rows that carry no accuracy (a language model, scored by its loss)."""
        return bool(len(self.accuracies)) and not np.isfinite(self.val_accuracy).any()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (``json.dumps(..., allow_nan=False)`` works)."""
        acc = np.asarray(self.accuracies, dtype=float).reshape(-1, len(VAL_COLUMNS))
        return {
            "lrs": to_json_array(self.lrs),
            "losses": to_json_array(self.losses),
            "smoothed": to_json_array(self.smoothed),
            "diverged": bool(self.diverged),
            "stop_reason": str(self.stop_reason),
            "accuracies": to_json_array(acc),
            "suggestions": {k: suggestion_to_dict(s) for k, s in self.suggestions.items()},
            "mode": self.mode,
            "start_lr": to_json_float(self.start_lr),
            "end_lr": to_json_float(self.end_lr),
            "num_iter": int(self.num_iter),
            "elapsed_s": to_json_float(self.elapsed_s),
            "smooth_beta": to_json_float(self.smooth_beta),
            "diverge_threshold": None
            if self.diverge_threshold is None
            else to_json_float(self.diverge_threshold),
            "reference_group": int(self.reference_group),
            "seed": self.seed,
            "divergence_note": self.divergence_note,
            "amp_dtype": self.amp_dtype,
            "sharpness": to_json_array(
                np.asarray(self.sharpness, dtype=float).reshape(-1, len(SHARPNESS_COLUMNS))),
            "group_scales": [float(s) for s in self.group_scales],
            "sharpness_kind": self.sharpness_kind,
            "sharpness_beta": None if self.sharpness_beta is None else to_json_float(self.sharpness_beta),
            "sharpness_note": self.sharpness_note,
            "settings_used": {str(k): (to_json_float(v) if isinstance(v, float) else v)
                              for k, v in self.settings_used.items()},
            "confidence": self.confidence,
            "optimizer_family": self.optimizer_family,
            "optimizer_class": self.optimizer_class,
            "spec": None if self.spec is None else self.spec.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RangeTestResult:
        dt = d.get("diverge_threshold", 4.0)
        return cls(
            lrs=from_json_array(d["lrs"]),
            losses=from_json_array(d["losses"]),
            smoothed=from_json_array(d["smoothed"]),
            diverged=bool(d["diverged"]),
            stop_reason=str(d["stop_reason"]),
            accuracies=from_json_array(d.get("accuracies"), width=len(VAL_COLUMNS)),
            suggestions={k: suggestion_from_dict(s) for k, s in (d.get("suggestions") or {}).items()},
            mode=str(d.get("mode", "exp")),
            start_lr=from_json_float(d.get("start_lr")),
            end_lr=from_json_float(d.get("end_lr")),
            num_iter=int(d.get("num_iter", 0)),
            elapsed_s=from_json_float(d.get("elapsed_s", 0.0)),
            smooth_beta=from_json_float(d.get("smooth_beta", 0.98)),
            diverge_threshold=None if dt is None else from_json_float(dt),
            reference_group=int(d.get("reference_group", 0)),
            seed=None if d.get("seed") is None else int(d["seed"]),
            divergence_note=str(d.get("divergence_note") or ""),
            amp_dtype=d.get("amp_dtype"),
            sharpness=from_json_array(d.get("sharpness"), width=len(SHARPNESS_COLUMNS)),
            group_scales=[float(s) for s in d.get("group_scales") or []],
            sharpness_kind=str(d.get("sharpness_kind") or "gd"),
            sharpness_beta=None if d.get("sharpness_beta") is None
            else from_json_float(d["sharpness_beta"]),
            sharpness_note=str(d.get("sharpness_note") or ""),
            settings_used=dict(d.get("settings_used") or {}),
            optimizer_family=str(d.get("optimizer_family") or ""),
            optimizer_class=str(d.get("optimizer_class") or ""),
            spec=RangeTestSpec.from_dict(d["spec"]) if d.get("spec") else None,
        )


def _none_if_nan(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _eval_from_dict(e: Mapping[str, Any]) -> Event:
    return Event.from_dict({"kind": EVAL, **e})


@dataclass
class TrainResult:
    """Per-update record, periodic evaluations and how the run ended.

    ``lrs[i]`` / ``momentums[i]`` are the values the optimizer used for update i (NaN
    momentum: the optimizer has none); ``losses[i]`` and ``batch_accuracies[i]`` are
    measured on batch i before that update. ``evals`` are the "eval" `Event` s of the run.
    ``final_val_accuracy`` / ``best_val_accuracy`` are None when nothing was evaluated or
    the task is not classification."""

    iterations: list[int] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    momentums: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    batch_accuracies: list[float] = field(default_factory=list)
    evals: list[Event] = field(default_factory=list)
    final_val_accuracy: float | None = None
    best_val_accuracy: float | None = None
    best_iteration: int | None = None
    stop_reason: str = "completed"
    elapsed_s: float = 0.0
    num_iter: int = 0
    device: str = "cpu"
    amp: bool = False
    epochs: float = 0.0
    amp_dtype: str | None = None
    #: precision, accumulation and clipping the run trained with (see `RangeTestResult`)
    settings_used: dict[str, Any] = field(default_factory=dict)
    #: the settings the run was given; None for a run stored before specs
    spec: TrainSpec | None = None

    _FLOAT_LISTS = ("lrs", "momentums", "losses", "batch_accuracies")

    @property
    def completed_iterations(self) -> int:
        return len(self.iterations)

    def eval_curve(self, key: str = "val_accuracy") -> tuple[np.ndarray, np.ndarray]:
        """(iterations, values) of one eval field (an `Event` float field), for plots."""
        its = np.array([e.iteration for e in self.evals], dtype=np.int64)
        vals = np.array([getattr(e, key) for e in self.evals], dtype=np.float64)
        return its, vals

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (``json.dumps(..., allow_nan=False)`` works): NaN/inf become None."""
        d: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in self._FLOAT_LISTS:
            d[name] = to_json_array(d[name])
        d["iterations"] = [int(i) for i in self.iterations]
        d["evals"] = [{k: v for k, v in e.to_dict().items() if k != "kind"} for e in self.evals]
        for name in ("final_val_accuracy", "best_val_accuracy"):
            d[name] = _none_if_nan(d[name])
        d["elapsed_s"] = to_json_float(self.elapsed_s)
        d["epochs"] = to_json_float(self.epochs)
        d["spec"] = None if self.spec is None else self.spec.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainResult:
        """Inverse of `to_dict` (None in the per-update lists comes back as NaN)."""
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        for name in cls._FLOAT_LISTS:
            kwargs[name] = from_json_array(kwargs.get(name)).tolist()
        kwargs["iterations"] = [int(v) for v in kwargs.get("iterations") or []]
        kwargs["evals"] = [_eval_from_dict(e) for e in kwargs.get("evals") or []]
        for name in ("final_val_accuracy", "best_val_accuracy"):
            kwargs[name] = _none_if_nan(kwargs.get(name))
        kwargs["elapsed_s"] = from_json_float(kwargs.get("elapsed_s") or 0.0)
        kwargs["epochs"] = from_json_float(kwargs.get("epochs") or 0.0)
        kwargs["spec"] = TrainSpec.from_dict(kwargs["spec"]) if kwargs.get("spec") else None
        return cls(**kwargs)
