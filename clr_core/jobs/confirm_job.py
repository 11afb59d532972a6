"""The "confirm" job: short confirming trainings after a range test, as the app and the CLI
run them (`clr_core.engine.confirm` does the training, `clr_core.suggest.confirm` the plan).

Its config is the range test's data and model settings plus the sweep's curve, so a
confirmation can be run again, stored and read back without the range test's run. Each
trial builds its model, optimizer and data afresh from the config with the trial's seed.
One "trial" event per finished trial carries its peak, share of the budget, score and
loss curve (the page's chart is drawn from those); the limits count every trial's steps.
The trial's curve and event are `clr_core.runs.confirm_record`'s, which records a script's
``confirm_peak(record=...)`` in the same layout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from clr_core.engine.confirm import (
    METRICS,
    make_train_at,
    planned_pick,
    trial_steps,
    without_cancelled,
)
from clr_core.engine.events import Event
from clr_core.engine.results import RangeTestResult, TrainResult
from clr_core.engine.spec import TrainSpec
from clr_core.errors import ConfigError
from clr_core.jobs.state import Emit, ShouldStop
from clr_core.runs.confirm_record import TRIAL, report_metric, trial_curve, trial_event
from clr_core.runs.reports import ConfirmReport, TrialCurve
from clr_core.setup.configs import LOOP_SETTINGS, DataModelConfig, build, carried_settings
from clr_core.suggest.confirm import ConfirmPlan, Trial, plan_confirmation, run_confirmation
from clr_core.suggest.handoff import HANDOFF_POLICIES
from clr_core.validation import (
    MAX_ITERATIONS,
    check_choice,
    check_int,
    check_number,
)

__all__ = ["TRIAL", "ConfirmConfig", "confirm_config", "confirm_iterations", "run_confirm_job",
           "trial_event"]

#: Verify's training length (`runners.verify_config`): the budget the page offers first.
DEFAULT_BUDGET = 300


@dataclass
class ConfirmConfig(DataModelConfig):
    """A confirmation: the range test's data and model settings, its curve (``lrs`` and
    the smoothed ``losses``), its pick, and the planned training (``policy`` over
    ``budget`` steps) the trials are compressed from."""

    lrs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    sweep_pick: float | None = None
    policy: str = "one_cycle"
    budget: int = DEFAULT_BUDGET
    trainings: float = 4.0
    metric: str = "auto"
    #: the loop's settings as the range test ran them (`LOOP_SETTINGS`): the trials train so
    accumulation_steps: int = 1
    amp: bool | str = False
    grad_clip_norm: float | None = None
    grad_clip_value: float | None = None

    def validate(self) -> None:
        super().validate()
        self.loop_spec()  # the loop's settings, checked as a training's
        if len(self.lrs) != len(self.losses) or len(self.lrs) < 2:
            raise ConfigError("a confirmation needs the range test's curve: lrs and losses of "
                              "the same length, at least 2 points")
        self.lrs = [float(v) for v in self.lrs]
        self.losses = [math.nan if v is None else float(v) for v in self.losses]
        self.budget = check_int("budget", self.budget, lo=1, hi=MAX_ITERATIONS)
        self.trainings = check_number("trainings", self.trainings, lo=0.0, lo_open=True, hi=100.0)
        check_choice("policy", self.policy, HANDOFF_POLICIES)
        check_choice("metric", self.metric, METRICS)
        if self.sweep_pick is not None:
            self.sweep_pick = check_number("sweep_pick", self.sweep_pick, lo=0.0, lo_open=True)

    def loop_spec(self) -> TrainSpec:
        """The trials' loop settings as a `TrainSpec` (each trial sets its length and schedule)."""
        return TrainSpec(**{k: getattr(self, k) for k in LOOP_SETTINGS})

    def plan(self) -> ConfirmPlan:
        return plan_confirmation(self.lrs, self.losses, trainings=self.trainings)


def confirm_config(range_test_config: Mapping[str, Any], result: RangeTestResult, *,
                   budget: int = DEFAULT_BUDGET, trainings: float = 4.0,
                   policy: str = "one_cycle", metric: str = "auto") -> dict:
    """The "confirm" job for a range test: its data and model settings, its curve and
    recommendation, and the planned training the trials sample."""
    config = {**carried_settings(range_test_config),
              "lrs": [float(v) for v in result.lrs],
              "losses": [None if not math.isfinite(v) else float(v) for v in result.smoothed],
              "sweep_pick": planned_pick(result, policy, int(budget)),
              "policy": policy, "budget": int(budget), "trainings": float(trainings),
              "metric": metric}
    ConfirmConfig.from_dict(config)  # bad input said now, before a job is queued
    return config


def _plan_steps(plan: ConfirmPlan, budget: int) -> int:
    n = len(plan.peaks)
    return sum(min(r.candidates, n) * trial_steps(budget, r.fraction) for r in plan.rounds)


def confirm_iterations(config: Mapping[str, Any]) -> int | None:
    """The training steps a confirmation asks for in all (every trial of its plan), for the
    server's limit per job; None when the config cannot be read (the runner says why)."""
    try:
        cfg = ConfirmConfig.from_dict(dict(config))
        return _plan_steps(cfg.plan(), cfg.budget)
    except (ConfigError, TypeError, ValueError):
        return None


def run_confirm_job(config: dict, emit: Emit, should_stop: ShouldStop) -> dict:
    """Runner for kind "confirm": plan from the sweep's curve, train each trial afresh,
    stream it, report the winner and every trial."""
    cfg = ConfirmConfig.from_dict(config)
    plan = cfg.plan()
    total = max(_plan_steps(plan, cfg.budget), 1)
    done = [0]  # steps trained so far, over every trial: the job's progress

    def on_step(event: Event) -> None:
        done[0] += 1
        emit(None, progress=min(done[0] / total, 1.0))

    def fresh(seed: int, lr: float):
        return build(replace(cfg, seed=seed), lr=lr, with_val=True)

    kept: dict[tuple[float, float, int], TrainResult] = {}
    train_at = make_train_at(fresh, budget=cfg.budget, schedule=cfg.policy, metric=cfg.metric,
                             should_stop=should_stop, on_step=on_step, trainings=kept,
                             spec=cfg.loop_spec())
    curves: list[TrialCurve] = []

    def on_trial(trial: Trial) -> None:
        run = kept.get((float(trial.peak), float(trial.fraction), int(trial.seed)))
        if run is not None and run.stop_reason == "cancelled":
            return  # cut short by Cancel: not a result
        curves.append(trial_curve(trial, run))
        emit(trial_event(len(curves) - 1, curves[-1]), progress=min(done[0] / total, 1.0))

    result = without_cancelled(
        run_confirmation(plan, train_at, on_trial=on_trial, should_stop=should_stop, seed=cfg.seed),
        kept)
    result = replace(result, sweep_pick=cfg.sweep_pick)
    report = ConfirmReport(result=result, trials=curves, metric=report_metric(cfg.metric, curves),
                           budget=cfg.budget, policy=cfg.policy,
                           config=config, cancelled=bool(should_stop()))
    report.headline = report.line()
    return report.to_dict()
