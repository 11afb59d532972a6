"""Confirm a Hugging Face range test's peak with short trainings (issue 31's "Confirm").

Why a range test's peak needs confirming, and how (successive halving ending at the full
budget, `clr_core.suggest.confirm.run_confirmation`): `clr_core.engine.confirm`, whose
`confirm_peak` this mirrors; only the training of a trial is the ``Trainer``'s here.
Each trial is a fresh ``Trainer`` from the caller's
``make_trainer()`` (called after seeding, so its model is a fresh one), trained for the
trial's ``max_steps`` on the trial's schedule (transformers' own scheduler where it computes
the schedule exactly, `hf_schedule`, else the schedule's PyTorch export) and scored by
``trainer.evaluate()``'s ``eval_loss``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import torch
from transformers import Trainer

from clr_core.engine.confirm import plan_for, planned_pick, trial_schedule, trial_steps
from clr_core.engine.results import RangeTestResult
from clr_core.errors import ConfigError
from clr_core.integrations.huggingface import hf_schedule
from clr_core.runs.confirm_record import confirm_settings, measured_curve, record_confirmation
from clr_core.runs.recorder import StoreLike
from clr_core.runs.recording import RecordLike
from clr_core.schedules.registry import from_dict
from clr_core.suggest.confirm import ConfirmResult, Trial, run_confirmation
from clr_core.validation import MAX_ITERATIONS, check_callable, check_int, check_number

__all__ = ["confirm"]


def _scheduler(schedule: dict, optimizer: torch.optim.Optimizer) -> Any:
    designed = from_dict(schedule)
    hf = hf_schedule(designed)
    return hf.get_scheduler(optimizer) if hf is not None else designed.to_torch(optimizer)


def confirm(make_trainer: Callable[[], Trainer], result: RangeTestResult, *,
            budget: int | None = None, schedule: str | Mapping[str, Any] = "one_cycle",
            trainings: float = 4.0, seed: int = 0,
            on_trial: Callable[[Trial, dict[str, float]], None] | None = None,
            record: RecordLike = None, store: StoreLike = None) -> ConfirmResult:
    """Confirm ``result``'s peak (see the module doc); returns the `ConfirmResult`
    (``best_peak``, every trial, ``cost_in_trainings``) that `confirm_peak` returns.

    ``make_trainer()``: a fresh ``Trainer`` with a fresh model and an ``eval_dataset``
    (``lambda: Trainer(model=make_model(), args=args, train_dataset=..., eval_dataset=...)``),
    called once per trial after ``torch.manual_seed(trial seed)``; its ``max_steps``, ``seed``
    and scheduler are the trial's. ``budget``: the planned run's optimizer steps (default:
    the range-tested Trainer's, ``result.settings_used["optimizer_steps"]``); ``schedule``:
    its policy ("one_cycle", "warmup_cosine", ...) or its schedule dict planned over
    ``budget`` steps. ``trainings``: the cost allowed, in trainings of that budget (1, 2, 3,
    4 or 6). ``on_trial(trial, metrics)`` hears each trial with what ``evaluate`` returned.
    ``record``/``store``: as ``run_range_test``'s (a run name, a sink, or a list of one
    name and sinks; None: not recorded): the confirmation stored as a "confirm" run, the
    app's layout, which the Runs page opens (each trial's evaluation, not its batches)."""
    if isinstance(make_trainer, Trainer) or not callable(make_trainer):
        raise ConfigError("make_trainer must be a function returning a fresh Trainer (with a "
                          f"fresh model), got {type(make_trainer).__name__}")
    if not isinstance(result, RangeTestResult):
        raise ConfigError(f"result must be the range test's RangeTestResult, got "
                          f"{type(result).__name__}")
    if budget is None:
        budget = result.settings_used.get("optimizer_steps")
        if budget is None:
            raise ConfigError("budget is needed: the planned run's optimizer steps")
    budget = check_int("budget", budget, lo=1, hi=MAX_ITERATIONS)
    check_number("trainings", trainings, lo=0.0, lo_open=True)
    check_callable("on_trial", on_trial)
    plan = plan_for(result, trainings=trainings)
    heard: dict[tuple[float, float, int], dict[str, float]] = {}
    steps: dict[tuple[float, float, int], int] = {}

    def train_at(peak: float, fraction: float, trial_seed: int) -> float:
        sched = trial_schedule(schedule, peak=peak, budget=budget, fraction=fraction)
        torch.manual_seed(trial_seed)  # the model make_trainer builds
        trainer = make_trainer()
        if not isinstance(trainer, Trainer):
            raise ConfigError(f"make_trainer must return a Trainer, got {type(trainer).__name__}")
        if trainer.eval_dataset is None:
            raise ConfigError("the Trainer has no eval_dataset: the trials are compared on "
                              "held-out data, never on the batches they trained on")
        trainer.model_init = None  # train() would rebuild the model and drop the scheduler
        trainer.args.max_steps = trial_steps(budget, fraction)
        trainer.args.seed = int(trial_seed)  # the batches' order
        optimizer = trainer.optimizer or trainer.create_optimizer()
        trainer.lr_scheduler = _scheduler(sched, optimizer)
        trainer.train()
        metrics = {k: float(v) for k, v in trainer.evaluate().items()
                   if isinstance(v, int | float)}
        heard[(float(peak), float(fraction), int(trial_seed))] = metrics
        steps[(float(peak), float(fraction), int(trial_seed))] = int(trainer.state.global_step)
        loss = metrics.get("eval_loss", math.nan)
        return loss if math.isfinite(loss) else math.nan

    def run(stored: Callable[[Any], None]) -> ConfirmResult:
        def told(trial: Trial) -> None:
            key = (float(trial.peak), float(trial.fraction), int(trial.seed))
            metrics = heard.get(key) or {}
            if on_trial is not None:
                on_trial(trial, heard.get(key))
            stored(measured_curve(trial, steps=steps.get(key, 0), val_loss=metrics.get("eval_loss"),
                                  val_accuracy=metrics.get("eval_accuracy")))

        return replace(run_confirmation(plan, train_at, on_trial=told, seed=seed),
                       sweep_pick=planned_pick(result, schedule, budget))

    config = confirm_settings(result, budget=budget, schedule=schedule, trainings=trainings,
                              metric="loss", seed=seed,  # scored by eval_loss alone
                              described={"integration": "huggingface",
                                         "optimizer": result.optimizer_class or None})
    return record_confirmation(run, config, record=record, store=store, metric="loss")
