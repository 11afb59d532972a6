"""Short confirming trainings after a range test: the planned schedule trained at a few
candidate peaks from the sweep's bracket, each from a fresh model, and the peak chosen by
what the trainings reached.

Why: a range test sees 100 steps, the best peak depends on the budget, the schedule and the
noise of hundreds of steps it never sees (short-horizon bias; Wu et al. 2018,
"Understanding Short-Horizon Bias in Stochastic Meta-Optimization"). Which peaks train, for
how long, and how the winner is read is `clr_core.suggest.confirm`'s (successive halving,
Jamieson & Talwalkar 2016; Li et al. 2017, "Hyperband"); this module is the training each
trial asks for: ``train_at(peak, fraction, seed)`` builds a fresh model and optimizer,
trains the plan at that peak compressed to ``fraction`` of the budget
(`clr_core.schedules.rescale`) and scores it on the validation data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from clr_core.engine.events import Event
from clr_core.engine.results import RangeTestResult, TrainResult
from clr_core.engine.spec import TrainSpec
from clr_core.engine.train import run_training
from clr_core.errors import ConfigError
from clr_core.schedules import from_dict as schedule_from_dict
from clr_core.schedules.rescale import rescaled
from clr_core.suggest.confirm import (
    ConfirmPlan,
    ConfirmResult,
    Trial,
    plan_confirmation,
    run_confirmation,
)
from clr_core.suggest.handoff import HANDOFF_POLICIES, verify_schedule
from clr_core.suggest.recommend import RECOMMENDED
from clr_core.suggest.schedule_fit import for_schedule
from clr_core.validation import (
    MAX_ITERATIONS,
    check_callable,
    check_choice,
    check_int,
    check_number,
)

__all__ = ["METRICS", "TrialRun", "confirm_peak", "losses_of", "make_train_at", "plan_for",
           "trial_schedule", "trial_score", "trial_steps", "without_cancelled"]

#: What a trial is scored by: "accuracy" (-validation accuracy: lower is better), "loss"
#: (validation loss) or "auto" (accuracy where the task has one, else loss).
METRICS = ("auto", "accuracy", "loss")


@dataclass
class TrialRun:
    """What one trial trains: a fresh model and its optimizer, and the data. ``fresh(seed,
    lr)`` callables return this (or anything with these attributes, such as
    `clr_core.setup.configs.Built`, whose training loader is ``loader``)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loader: Any
    val_loader: Any = None
    loss_fn: Callable = nn.CrossEntropyLoss()
    batch_to_inputs: Callable | None = None
    device: Any = None


def trial_steps(budget: int, fraction: float) -> int:
    """A trial's length: ``fraction`` of the budget, at least two steps (a warm-up step and a
    cool-down step: WSD has no shape in fewer)."""
    return max(2, int(round(budget * fraction)))


def trial_schedule(schedule: str | Mapping[str, Any], *, peak: float, budget: int,
                   fraction: float) -> dict:
    """The planned schedule at ``peak``, compressed to ``fraction`` of ``budget``: a
    hand-off policy name ("one_cycle", "warmup_cosine", ...) is sized to the trial as
    Verify sizes it; a schedule dict planned over ``budget`` steps is rescaled."""
    if isinstance(schedule, str):
        check_choice("schedule", schedule, HANDOFF_POLICIES)
        return verify_schedule(schedule, max_lr=peak, num_iter=trial_steps(budget, fraction))
    return rescaled(schedule, budget=budget, peak=peak, fraction=fraction)


def trial_score(result: TrainResult, metric: str = "auto") -> float:
    """What a trial reached, lower is better: -validation accuracy or validation loss at the
    end (``metric``), NaN when it diverged, was cancelled or was never evaluated."""
    if result.stop_reason != "completed" or not result.evals:
        return math.nan
    last = result.evals[-1]
    acc, loss = last.val_accuracy, last.val_loss
    if metric == "accuracy" or (metric == "auto" and math.isfinite(acc)):
        return -acc if math.isfinite(acc) else math.nan
    return loss if math.isfinite(loss) else math.nan


def plan_for(result: RangeTestResult, *, trainings: float = 4.0) -> ConfirmPlan:
    """The confirmation a range test's curve asks for: the default plan on its smoothed
    loss, exactly as ``bench/gen_bench.py`` measured it (the bracket is not widened by the
    recommendation: that was compared there and did no better)."""
    if len(result.lrs) < 2:
        raise ConfigError("the range test has fewer than 2 points: nothing to confirm from")
    return plan_confirmation(result.lrs, result.smoothed, trainings=trainings)


def planned_pick(result: RangeTestResult, schedule: str | Mapping[str, Any], budget: int
                 ) -> float | None:
    """The sweep's pick for the planned training: ``recommended`` fitted to ``schedule``
    (`clr_core.suggest.schedule_fit.for_schedule`, as the hand-off fits it), the peak a
    confirmation's winner is compared with (`ConfirmResult.agrees`); None without one."""
    rec = result.suggestions.get(RECOMMENDED)
    if rec is None or not (math.isfinite(rec.max_lr) and rec.max_lr > 0):
        return None
    planned = verify_schedule(schedule, max_lr=rec.max_lr, num_iter=budget) \
        if isinstance(schedule, str) else dict(schedule)
    return float(for_schedule(rec, planned).max_lr)


#: ``on_training(trial, result)``: each finished trial and the training it ran.
OnTraining = Callable[[Trial, TrainResult], None]


def make_train_at(fresh: Callable[[int, float], Any], *, budget: int,
                  schedule: str | Mapping[str, Any] = "one_cycle", metric: str = "auto",
                  should_stop: Callable[[], bool] | None = None,
                  on_step: Callable[[Event], None] | None = None,
                  trainings: dict[tuple[float, float, int], TrainResult] | None = None,
                  spec: TrainSpec | None = None) -> Callable[[float, float, int], float]:
    """``train_at(peak, fraction, seed) -> score`` for `run_confirmation`: ``fresh(seed,
    lr)`` builds a new model, optimizer and data (a `TrialRun`-like object) seeded with
    ``seed``, so no trial starts from another's weights; the trial trains the planned
    schedule at ``peak`` for ``fraction`` of ``budget`` and is scored by `trial_score`.
    Each training is kept in ``trainings`` under (peak, fraction, seed). ``spec``: the
    planned training's loop settings (amp, clipping, accumulation, divergence stop), a
    `TrainSpec` whose length, schedule and evaluation each trial replaces."""
    budget = check_int("budget", budget, lo=1, hi=MAX_ITERATIONS)
    check_choice("metric", metric, METRICS)
    kept = trainings if trainings is not None else {}
    base = spec if spec is not None else TrainSpec()

    def train_at(peak: float, fraction: float, seed: int) -> float:
        sched = trial_schedule(schedule, peak=peak, budget=budget, fraction=fraction)
        steps = trial_steps(budget, fraction)
        # a warm-up starts at 0, which no optimizer takes: build at the peak, the schedule sets it
        first = float(schedule_from_dict(sched).lr(0)) or float(peak)
        run = fresh(int(seed), first)
        trial = base.replace(num_iter=steps, schedule=sched, eval_every=0)  # scored at the end
        result = run_training(run.model, run.optimizer, run.loss_fn, getattr(run, "loader", None),
                              trial, val_loader=run.val_loader, device=run.device, emit=on_step,
                              should_stop=should_stop, batch_to_inputs=run.batch_to_inputs)
        kept[(float(peak), float(fraction), int(seed))] = result
        return trial_score(result, metric)

    return train_at


def _seeded_setup(setup: Callable[[], tuple[nn.Module, torch.optim.Optimizer]], train_loader: Any,
                  val_loader: Any, loss_fn: Callable | None, batch_to_inputs: Callable | None,
                  device: Any) -> Callable[[int, float], TrialRun]:
    def fresh(seed: int, lr: float) -> TrialRun:
        torch.manual_seed(seed)  # the model's init and a default loader's order
        made = setup()
        if not (isinstance(made, tuple) and len(made) == 2):
            raise ConfigError("setup() must return (model, optimizer): a fresh model and an "
                              f"optimizer on its parameters, got {type(made).__name__}")
        model, optimizer = made
        for group in optimizer.param_groups:
            group["lr"] = lr
        return TrialRun(model, optimizer, train_loader, val_loader,
                        loss_fn or nn.CrossEntropyLoss(), batch_to_inputs, device)

    return fresh


def without_cancelled(result: ConfirmResult, trainings: Mapping[tuple[float, float, int], TrainResult]
                      ) -> ConfirmResult:
    """The result less the trials a cancel cut short (they were not scored, only stopped)."""
    cut = {k for k, r in trainings.items() if r.stop_reason == "cancelled"}
    if not cut:
        return result
    trials = tuple(t for t in result.trials if (float(t.peak), float(t.fraction), int(t.seed)) not in cut)
    return replace(result, trials=trials,
                   cost_in_trainings=float(sum(t.fraction for t in trials)))


def confirm_peak(result: RangeTestResult, setup: Callable[[], tuple[nn.Module, torch.optim.Optimizer]],
                 train_loader: Any, *, budget: int, val_loader: Any = None,
                 schedule: str | Mapping[str, Any] = "one_cycle", trainings: float = 4.0,
                 loss_fn: Callable | None = None, metric: str = "auto", device: Any = None,
                 batch_to_inputs: Callable | None = None,
                 on_trial: OnTraining | None = None, should_stop: Callable[[], bool] | None = None,
                 seed: int = 0, **training: Any) -> ConfirmResult:
    """Confirm a range test's peak with short trainings of the planned schedule.

    ``result``: what `run_range_test` returned. ``setup()``: a fresh model and its optimizer
    (called once per trial after ``torch.manual_seed(seed)``, like fastai's and Lightning's
    model factories: no trial inherits another's weights, so nothing needs restoring).
    ``budget``: the planned training's steps; ``schedule``: its policy ("one_cycle", as the
    page hands off) or its dict planned over ``budget``. ``trainings``: what the confirmation
    may cost, in trainings of that budget. ``val_loader``: scored on it (the validation
    accuracy where there is one, else the loss; ``metric`` to choose); without one, the
    trials cannot be told apart, so it is required. ``on_trial(trial, training)`` hears each
    trial as it ends; ``should_stop()`` cancels between and inside trials (the cut trial is
    left out). ``training``: the planned run's loop settings (a `TrainSpec`'s: amp,
    grad_clip_norm, accumulation_steps, diverge_threshold). Returns the `ConfirmResult`:
    ``best_peak``, every trial and the cost in trainings."""
    if val_loader is None:
        raise ConfigError("confirm_peak needs a val_loader: the trials are compared on "
                          "held-out data, never on the batches they trained on")
    check_number("trainings", trainings, lo=0.0, lo_open=True)
    check_callable("setup", setup)
    check_callable("on_trial", on_trial)
    check_callable("should_stop", should_stop)
    plan = plan_for(result, trainings=trainings)
    kept: dict[tuple[float, float, int], TrainResult] = {}
    train_at = make_train_at(_seeded_setup(setup, train_loader, val_loader, loss_fn, batch_to_inputs,
                                           device),
                             budget=budget, schedule=schedule, metric=metric,
                             should_stop=should_stop, trainings=kept, spec=TrainSpec(**training))

    def heard(trial: Trial) -> None:
        run = kept.get((float(trial.peak), float(trial.fraction), int(trial.seed)))
        if on_trial is not None and run is not None and run.stop_reason != "cancelled":
            on_trial(trial, run)

    out = run_confirmation(plan, train_at, on_trial=heard, should_stop=should_stop, seed=seed)
    return replace(without_cancelled(out, kept), sweep_pick=planned_pick(result, schedule, budget))


def losses_of(result: TrainResult, max_points: int = 120) -> list[float]:
    """A trial's training-loss curve, thinned to at most ``max_points`` (for events and
    hover labels: the shape, not every batch)."""
    losses = np.asarray(result.losses, dtype=float)
    if losses.size <= max_points:
        return [float(v) for v in losses]
    idx = np.unique(np.linspace(0, losses.size - 1, max_points).round().astype(int))
    return [float(v) for v in losses[idx]]
