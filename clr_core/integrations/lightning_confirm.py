"""Confirm a Lightning range test's peak with short trainings (issue 31's "Confirm").

Why a range test's peak needs confirming, and how (successive halving ending at the full
budget, `clr_core.suggest.confirm.run_confirmation`): `clr_core.engine.confirm`, whose
`confirm_peak` this mirrors; only the training of a trial is Lightning's here.
Each trial is a fresh module (``module_factory()`` after seeding,
so no trial inherits another's weights) fitted by a fresh ``pl.Trainer(max_steps=...)``,
its ``configure_optimizers`` optimizer stepped on the trial's schedule by `scheduled`, and
scored by ``trainer.validate``'s logged metric (-val_acc where logged, else val_loss).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import lightning.pytorch as pl

from clr_core.engine.confirm import plan_for, planned_pick, trial_schedule, trial_steps
from clr_core.engine.results import RangeTestResult
from clr_core.errors import ConfigError
from clr_core.integrations.lightning import (
    VAL_ACCURACY_KEYS,
    VAL_LOSS_KEYS,
    _first,
    _scalar,
    all_optimizers,
    scheduled,
)
from clr_core.runs.confirm_record import confirm_settings, measured_curve, record_confirmation
from clr_core.runs.recorder import StoreLike
from clr_core.runs.recording import RecordLike
from clr_core.suggest.confirm import ConfirmResult, Trial, run_confirmation
from clr_core.validation import MAX_ITERATIONS, check_callable, check_int, check_number

__all__ = ["confirm", "validation_score"]

#: A trial's Trainer unless ``trainer_kwargs`` say otherwise: nothing written to disk, no bars.
QUIET = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
         "enable_model_summary": False, "num_sanity_val_steps": 0}


def validation_score(metrics: Mapping[str, Any]) -> float:
    """Lower is better: -validation accuracy where one is logged, else the validation loss;
    NaN when it is not finite (a diverged trial). ConfigError when neither is logged."""
    acc = _first(metrics, VAL_ACCURACY_KEYS)
    if acc is not None:
        value = -_scalar(acc)
    else:
        loss = _first(metrics, VAL_LOSS_KEYS)
        if loss is None:
            raise ConfigError("the module logs no validation metric to compare the trials on: "
                              f"self.log one of {', '.join(VAL_LOSS_KEYS + VAL_ACCURACY_KEYS)} "
                              f"in validation_step (logged: {', '.join(metrics) or 'nothing'})")
        value = _scalar(loss)
    return value if math.isfinite(value) else math.nan


def _on_schedule(module: pl.LightningModule, schedule: dict) -> None:
    """``module.configure_optimizers`` returning its one optimizer stepped on ``schedule``."""
    own = module.configure_optimizers

    def configure_optimizers() -> dict[str, Any]:
        optimizers = all_optimizers(own())
        if len(optimizers) != 1:
            raise ConfigError("confirm trains a module with one optimizer; configure_optimizers "
                              f"returned {len(optimizers)}")
        for group in optimizers[0].param_groups:  # a scheduler's constructor may have moved it
            if "initial_lr" in group:
                group["lr"] = group.pop("initial_lr")
        return scheduled(optimizers[0], schedule)

    module.configure_optimizers = configure_optimizers


def confirm(module_factory: Callable[[], pl.LightningModule], result: RangeTestResult, *,
            budget: int, schedule: str | Mapping[str, Any] = "one_cycle",
            trainings: float = 4.0, datamodule: Any = None, train_dataloaders: Any = None,
            val_dataloaders: Any = None, trainer_kwargs: Mapping[str, Any] | None = None,
            seed: int = 0,
            on_trial: Callable[[Trial, dict[str, float]], None] | None = None,
            record: RecordLike = None, store: StoreLike = None) -> ConfirmResult:
    """Confirm ``result``'s peak (see the module doc); returns the `ConfirmResult`
    (``best_peak``, every trial, ``cost_in_trainings``) that `confirm_peak` returns.

    ``module_factory()``: a fresh module (``lambda: Net()``), called once per trial after
    ``pl.seed_everything(trial seed)``; its ``configure_optimizers`` returns one optimizer
    (a scheduler it returns is replaced by the trial's). ``budget``: the planned fit's
    optimizer steps (``trainer.estimated_stepping_batches``); ``schedule``: its policy
    ("one_cycle", "warmup_cosine", ...) or its schedule dict planned over ``budget`` steps.
    ``trainings``: the cost allowed, in fits of that budget (1, 2, 3, 4 or 6). Data: the
    ``datamodule``, or ``train_dataloaders`` / ``val_dataloaders``, or the module's own
    hooks, as ``trainer.fit`` takes them. ``trainer_kwargs``: the Trainer's other settings
    (accelerator, precision, gradient_clip_val...; ``max_steps`` is the trial's).
    ``on_trial(trial, metrics)`` hears each trial as it ends, with what it validated.
    ``record``/``store``: as ``run_range_test``'s (a run name, a sink, or a list of one
    name and sinks; None: not recorded): the confirmation stored as a "confirm" run, the
    app's layout, which the Runs page opens (each trial's validation, not its batches)."""
    if isinstance(module_factory, pl.LightningModule) or not callable(module_factory):
        raise ConfigError("module_factory must be a function returning a fresh LightningModule "
                          f"(lambda: Net()), got {type(module_factory).__name__}")
    if not isinstance(result, RangeTestResult):
        raise ConfigError(f"result must be the range test's RangeTestResult, got "
                          f"{type(result).__name__}")
    budget = check_int("budget", budget, lo=1, hi=MAX_ITERATIONS)
    check_number("trainings", trainings, lo=0.0, lo_open=True)
    check_callable("on_trial", on_trial)
    settings = dict(trainer_kwargs or {})
    clash = sorted({"max_steps", "max_epochs"} & set(settings))
    if clash:
        raise ConfigError(f"trainer_kwargs may not set {', '.join(clash)}: each trial's length "
                          "is its share of budget")
    if datamodule is not None and (train_dataloaders is not None or val_dataloaders is not None):
        raise ConfigError("pass a datamodule or train_dataloaders / val_dataloaders, not both")
    plan = plan_for(result, trainings=trainings)
    heard: dict[tuple[float, float, int], dict[str, float]] = {}
    steps: dict[tuple[float, float, int], int] = {}

    def train_at(peak: float, fraction: float, trial_seed: int) -> float:
        pl.seed_everything(trial_seed, verbose=False)
        module = module_factory()
        if not isinstance(module, pl.LightningModule):
            raise ConfigError("module_factory must return a LightningModule, got "
                              f"{type(module).__name__}")
        if not module.automatic_optimization:
            raise ConfigError("confirm needs automatic optimization: the trial's schedule is "
                              "stepped by the Trainer after each update")
        _on_schedule(module, trial_schedule(schedule, peak=peak, budget=budget,
                                            fraction=fraction))
        trainer = pl.Trainer(**{**QUIET, **settings, "max_epochs": -1,
                                "max_steps": trial_steps(budget, fraction)})
        data = {"datamodule": datamodule} if datamodule is not None else {}
        trainer.fit(module, train_dataloaders=train_dataloaders,
                    val_dataloaders=val_dataloaders, **data)
        out = trainer.validate(module, dataloaders=val_dataloaders, verbose=False, **data)
        metrics = {k: _scalar(v) for k, v in (out[0] if out else {}).items()}
        heard[(float(peak), float(fraction), int(trial_seed))] = metrics
        steps[(float(peak), float(fraction), int(trial_seed))] = int(trainer.global_step)
        return validation_score(metrics)

    def run(stored: Callable[[Any], None]) -> ConfirmResult:
        def told(trial: Trial) -> None:
            key = (float(trial.peak), float(trial.fraction), int(trial.seed))
            metrics = heard.get(key)
            if on_trial is not None:
                on_trial(trial, metrics)
            stored(measured_curve(trial, steps=steps.get(key, 0),
                                  val_loss=_first(metrics or {}, VAL_LOSS_KEYS),
                                  val_accuracy=_first(metrics or {}, VAL_ACCURACY_KEYS)))

        return replace(run_confirmation(plan, train_at, on_trial=told, seed=seed),
                       sweep_pick=planned_pick(result, schedule, budget))

    made = module_factory.__name__ if isinstance(module_factory, type) else None
    config = confirm_settings(result, budget=budget, schedule=schedule, trainings=trainings,
                              metric="auto", seed=seed,
                              described={"integration": "lightning", "model": made,
                                         "optimizer": result.optimizer_class or None,
                                         **_plain(settings)})
    return record_confirmation(run, config, record=record, store=store)


def _plain(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The Trainer settings a config can hold as they are (accelerator, precision, ...)."""
    return {k: v for k, v in settings.items() if isinstance(v, bool | int | float | str)}
