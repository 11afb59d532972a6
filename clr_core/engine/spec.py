"""The one definition of a range test's and a training's settings, checked once.

Why one type: the settings used to take four shapes between the page's Start and the
engine (the form, ``RangeTestConfig``, a hand copy in the job runner, the engine's 22
keywords), checked three times with different bounds (issue 30). A `RangeTestSpec` is
built once — from the page form, the CLI's flags (both through
`clr_core.setup.configs.RangeTestConfig`, which holds the data and model beside a spec), a
dict (`from_dict`) or keywords — validated in its constructor, frozen, and handed
unchanged to the worker, the engine, the stored report and the result
(``RangeTestResult.spec``). `BOUNDS` is the one set of limits: the checks here and the
page's widgets both read it.

A spec holds settings only (numbers, names, flags: JSON types); what a call is given as
Python objects (the model, the loaders, ``emit``, ``should_stop``, the device) stays a
keyword of `run_range_test` / `run_training`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from clr_core.errors import ConfigError
from clr_core.schedules import from_dict as schedule_from_dict
from clr_core.validation import (
    MAX_ITERATIONS,
    MAX_SEED,
    check_choice,
    check_float32_lr,
    check_grad_clip,
    check_int,
    check_lr_range,
    check_lr_values,
    check_number,
    renamed_keywords,
)

__all__ = [
    "BOUNDS",
    "MODES",
    "Bound",
    "RangeTestSpec",
    "TrainSpec",
    "normalise_mode",
]

MODES = ("exp", "linear")
_MODE_ALIASES = {"exponential": "exp", "exp": "exp", "linear": "linear"}


@dataclass(frozen=True)
class Bound:
    """Where a setting's values may lie: [lo, hi], ``lo_open`` / ``hi_open`` strict; None
    is unbounded on that side."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def check_int(self, name: str, value: Any) -> int:
        return check_int(name, value, lo=None if self.lo is None else int(self.lo),
                         hi=None if self.hi is None else int(self.hi))

    def check_number(self, name: str, value: Any) -> float:
        return check_number(name, value, lo=self.lo, hi=self.hi, lo_open=self.lo_open,
                            hi_open=self.hi_open)


#: The one set of limits of the settings, for the checks below and the forms' widgets.
#: ``num_iter`` >= 2: a sweep needs a first and a last LR (a curve that short may give no
#: suggestion, which the result says); the app used to ask for 10, the engine for 2.
BOUNDS: dict[str, Bound] = {
    "start_lr": Bound(0.0, None, lo_open=True),  # and start < end <= float32's largest
    "end_lr": Bound(0.0, None, lo_open=True),
    "num_iter": Bound(2, MAX_ITERATIONS),
    "train_num_iter": Bound(1, MAX_ITERATIONS),
    "smooth_beta": Bound(0.0, 1.0, hi_open=True),
    "diverge_threshold": Bound(1.0, None, lo_open=True),
    "eval_every": Bound(0, None),
    "accumulation_steps": Bound(1, None),
    "sharpness_every": Bound(0, None),
    "seed": Bound(0, MAX_SEED),
    "grad_clip_norm": Bound(0.0, None, lo_open=True),
    "grad_clip_value": Bound(0.0, None, lo_open=True),
}

#: Settings renamed since runs were first saved or scripts first written.
_RENAMED = {"val_every": "eval_every", "diverge_factor": "diverge_threshold"}


def normalise_mode(mode: Any) -> str:
    """"exp" or "linear" (also "exponential", any case)."""
    key = mode.lower() if isinstance(mode, str) else mode
    return _MODE_ALIASES[check_choice("mode", key, _MODE_ALIASES)]


def _check_amp(value: Any) -> bool | str:
    """True/False, or the name of a dtype a trainer was configured with ("bf16"...),
    which `device.precision_for` reads (it refuses an unknown name by name)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_ | int) and value in (0, 1):
        return bool(value)
    raise ConfigError(f"amp must be True/False or a dtype name such as 'bf16', got {value!r}")


class _Spec:
    """What both specs share: built from a dict by field name, written back the same way,
    copied with changes (checked again), the loop settings' checks."""

    _set = object.__setattr__  # the constructor normalises its own frozen fields

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        """A spec from a dict of settings (`to_dict`'s, a stored run's, a job's); old
        names are read as their new ones, an unknown name is refused by name."""
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        d = {_RENAMED.get(k, k): v for k, v in d.items()}
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ConfigError(f"unknown setting(s) {unknown}; valid: {sorted(names)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """Every field by name (JSON types: the constructor checked them finite)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes``, checked like a new one."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def call_settings(cls, function: str, overrides: Mapping[str, Any],
                      renames: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A call's keyword ``overrides`` split into this spec's settings and the rest (an
        old ``callback`` is ``emit``): old names still work, with the warning pointing one
        frame above ``function``'s body; an unknown keyword is a TypeError as Python's."""
        names = cls.names()
        renamed = renamed_keywords(function, {k: v for k, v in overrides.items()
                                              if k not in names}, renames, stacklevel=4)
        others = {k: renamed.pop(k) for k in list(renamed) if k not in names}
        return {**renamed, **{k: v for k, v in overrides.items() if k in names}}, others

    @classmethod
    def given(cls, spec: Any, settings: Mapping[str, Any]) -> Any:
        """The spec a call runs with: ``spec`` with the call's ``settings`` on top, or one
        built from them alone."""
        if spec is not None and not isinstance(spec, cls):
            raise ConfigError(f"spec must be a {cls.__name__}, got {type(spec).__name__}")
        if spec is None:
            return cls(**settings)
        return spec.replace(**settings) if settings else spec

    def _check_loop(self) -> None:
        """The step's settings both share: accumulation, precision, clipping, divergence."""
        self._set("accumulation_steps",
                  BOUNDS["accumulation_steps"].check_int("accumulation_steps",
                                                         self.accumulation_steps))
        self._set("amp", _check_amp(self.amp))
        for name in ("grad_clip_norm", "grad_clip_value"):  # None or 0: off
            self._set(name, check_grad_clip(name, getattr(self, name)))
        if self.diverge_threshold is not None:
            self._set("diverge_threshold", BOUNDS["diverge_threshold"].check_number(
                "diverge_threshold", self.diverge_threshold))


@dataclass(frozen=True)
class RangeTestSpec(_Spec):
    """An LR range test's settings (Smith 2015; fastai's and torch-lr-finder's defaults).

    ``start_lr`` None: the optimizer's current LR (its largest group's). ``eval_every``:
    validate after every that many updates when a validation loader is given (None or 0:
    every update then); ``diverge_threshold`` None: no smoothed-loss stop. ``seed`` seeds
    torch inside a forked RNG for the sweep alone. ``sharpness_every`` k: λmax of the
    Hessian every k updates (0: off). See `clr_core.engine.range_test.run_range_test`."""

    start_lr: float | None = None
    end_lr: float = 10.0
    num_iter: int = 100
    mode: str = "exp"
    smooth_beta: float = 0.98
    diverge_threshold: float | None = 4.0
    eval_every: int | None = None
    accumulation_steps: int = 1
    sharpness_every: int = 0
    amp: bool | str = False
    seed: int | None = None
    grad_clip_norm: float | None = None
    grad_clip_value: float | None = None

    kind: ClassVar[str] = "range_test"

    def __post_init__(self) -> None:
        if self.start_lr is None:
            self._set("end_lr", check_float32_lr(
                "end_lr", BOUNDS["end_lr"].check_number("end_lr", self.end_lr)))
        else:
            start, end = check_lr_range(self.start_lr, self.end_lr)
            self._set("start_lr", start)
            self._set("end_lr", end)
        self._set("num_iter", BOUNDS["num_iter"].check_int("num_iter", self.num_iter))
        self._set("mode", normalise_mode(self.mode))
        self._set("smooth_beta", BOUNDS["smooth_beta"].check_number("smooth_beta",
                                                                    self.smooth_beta))
        if self.eval_every is not None:
            self._set("eval_every", BOUNDS["eval_every"].check_int("eval_every",
                                                                   self.eval_every))
        self._set("sharpness_every", BOUNDS["sharpness_every"].check_int(
            "sharpness_every", self.sharpness_every))
        if self.seed is not None:
            self._set("seed", BOUNDS["seed"].check_int("seed", self.seed))
        self._check_loop()


@dataclass(frozen=True)
class TrainSpec(_Spec):
    """A short training's settings. ``schedule``: a schedule's dict (or a `Schedule`), None
    to keep the optimizer's LR; ``eval_every`` 0 or None: evaluate only at the end;
    ``diverge_threshold``: stop once a loss exceeds it x the first loss (None: off). See
    `clr_core.engine.train.run_training`."""

    num_iter: int = 300
    schedule: Any = None
    eval_every: int | None = 50
    diverge_threshold: float | None = None
    accumulation_steps: int = 1
    amp: bool | str = False
    grad_clip_norm: float | None = None
    grad_clip_value: float | None = None

    kind: ClassVar[str] = "train"

    def __post_init__(self) -> None:
        self._set("num_iter", BOUNDS["train_num_iter"].check_int("num_iter", self.num_iter))
        if self.eval_every is not None:
            self._set("eval_every", BOUNDS["eval_every"].check_int("eval_every",
                                                                   self.eval_every))
        self._check_loop()
        sched = self.resolved_schedule()
        if sched is not None and sched.total_steps is not None \
                and self.num_iter > sched.total_steps:
            raise ConfigError(f"num_iter ({self.num_iter}) is longer than the schedule's "
                              f"total_steps ({sched.total_steps}); make them equal for a "
                              "1cycle run")
        if sched is not None:  # every LR the run will be given: usable, or said now
            check_lr_values(sched.trace(self.num_iter) if hasattr(sched, "trace")
                            else sched.lr(np.arange(self.num_iter)))

    def resolved_schedule(self) -> Any:
        """The schedule object (a dict is read by `schedules.from_dict`), or None."""
        schedule = self.schedule
        if schedule is None:
            return None
        if isinstance(schedule, Mapping):
            return schedule_from_dict(schedule)  # ScheduleError names the parameter
        if not hasattr(schedule, "to_torch") or not hasattr(schedule, "lr"):
            raise ConfigError(f"schedule must be a Schedule, a schedule dict or None, "
                              f"got {schedule!r}")
        return schedule

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.schedule is not None and not isinstance(self.schedule, Mapping):
            to_dict = getattr(self.schedule, "to_dict", None)
            d["schedule"] = to_dict() if callable(to_dict) else repr(self.schedule)
        elif self.schedule is not None:
            d["schedule"] = dict(self.schedule)
        return d
