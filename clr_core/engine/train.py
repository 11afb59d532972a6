"""Short training runs under a schedule.

The loop records exactly what the optimizer used at each update (lr, momentum) so a run
can be checked against its schedule's closed form, and it ends cleanly, with a partial
record, on cancel, divergence or a spent loader: the UI shows what happened instead of a
trace. The training step is `clr_core.engine.loop`'s, shared with the range test (same batch
handling, same mixed-precision policy); what is training's own is here: the schedule,
the per-update record and the evaluation cadence. Smith's (2015) baselines to compare
against live in `clr_core.engine.baselines`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from clr_core.engine import distributed
from clr_core.engine.batches import evaluate as _evaluate
from clr_core.engine.device import precision_for
from clr_core.engine.events import EVAL, STEP, Event
from clr_core.engine.loop import (
    DivergenceCheck,
    Hook,
    Stepper,
    check_val_loader,
    drive,
    prepared,
)
from clr_core.engine.param_groups import get_momentum
from clr_core.engine.preflight import check_setup
from clr_core.engine.range_test import settings_used
from clr_core.engine.results import TrainResult
from clr_core.engine.spec import TrainSpec
from clr_core.errors import TrainingError
from clr_core.validation import check_callable

__all__ = [
    "evaluate",
    "run_training",
]

_RENAMED = {"callback": "emit", "diverge_factor": "diverge_threshold"}


def evaluate(model: nn.Module, loader: Any, loss_fn: Callable, *, device: torch.device | str,
             batch_to_inputs: Callable | None = None, amp: bool = False,
             should_stop: Callable[[], bool] | None = None) -> tuple[float, float] | None:
    """(val_loss, val_accuracy) over a whole loader in eval mode; see `batches.evaluate`."""
    device = torch.device(device)
    return _evaluate(model, loader, loss_fn, device=device, precision=precision_for(device, amp),
                     batch_to_inputs=batch_to_inputs, should_stop=should_stop)


def run_training(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable,
                 train_loader: Any, spec: TrainSpec | None = None, *,
                 val_loader: Any = None, device: torch.device | str | None = None,
                 emit: Callable[[Event], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 batch_to_inputs: Callable[[Any], tuple[Any, Any]] | None = None,
                 **overrides) -> TrainResult:
    """Train for `num_iter` updates, the LR (and momentum) set by `schedule` each update.

    `schedule`: a Schedule, its dict, or None (the optimizer's lr stays). `device=None`
    keeps the model where it is. `eval_every` 0/None: evaluate only at the end.
    `batch_to_inputs(batch) -> (inputs, targets)` for loaders that don't yield pairs.
    `amp` follows `device.precision_for`, the range test's policy (`result.amp_dtype` says
    what ran). `emit(event)` gets a "step" `Event` per update and an "eval" one per
    evaluation. Stops early with stop_reason "cancelled" (should_stop() true, checked
    before every update), "non-finite loss", "diverged" (a loss above
    `diverge_threshold` x the first loss, when set: BatchNorm nets can blow up to 1e20
    without reaching inf) or "loader exhausted" (a one-shot iterator ran out).
    `grad_clip_norm` / `grad_clip_value` clip each update's gradients (`loop.GradClip`,
    after AMP's unscale; None or 0: off), recorded in `result.settings_used`.
    The settings are a `TrainSpec` (``spec``) with ``overrides`` by field name on top
    (``num_iter=``, ``schedule=``, ``eval_every=``, ``diverge_threshold=``,
    ``accumulation_steps=``, ``amp=``, ``grad_clip_norm=``, ``grad_clip_value=``: the
    keywords this function always took; ``num_iter`` is needed when no spec is given).
    The old keyword names `callback` and `diverge_factor` still work, with a warning.
    Under ``torchrun`` with the model in ``DistributedDataParallel`` the losses and
    validation metrics are means over ranks, a cancel on any rank stops all, and only rank
    0 emits (`clr_core.engine.distributed`)."""
    settings, others = TrainSpec.call_settings("run_training", overrides, _RENAMED)
    emit = others.get("emit", emit)
    if spec is None and "num_iter" not in settings:
        raise TypeError("run_training() missing 1 required keyword-only argument: 'num_iter'")
    spec = TrainSpec.given(spec, settings)
    num_iter, eval_every = spec.num_iter, spec.eval_every or 0
    diverge_threshold, accumulation_steps = spec.diverge_threshold, spec.accumulation_steps
    grad_clip_norm, grad_clip_value = spec.grad_clip_norm, spec.grad_clip_value
    check_callable("emit", emit)
    check_callable("should_stop", should_stop)
    check_callable("batch_to_inputs", batch_to_inputs)
    check_val_loader(val_loader)
    if not distributed.is_main():  # under torchrun rank 0 speaks for all (same curve)
        emit = None
    check_setup(model, optimizer)  # meta tensors, closure optimizers, unusable LRs
    sched = spec.resolved_schedule()  # checked by the spec: its length and every LR
    with prepared(model, optimizer, loss_fn, train_loader, device=device, amp=spec.amp,
                  accumulation_steps=accumulation_steps, batch_to_inputs=batch_to_inputs,
                  count_correct=True, grad_clip_norm=grad_clip_norm,
                  grad_clip_value=grad_clip_value) as stepper:
        device, precision = stepper.device, stepper.precision
        scheduler = sched.to_torch(optimizer) if sched is not None else None
        result = TrainResult(num_iter=num_iter, device=str(device), amp=precision.enabled,
                             amp_dtype=precision.label,
                             settings_used=settings_used(precision, accumulation_steps,
                                                         grad_clip_norm, grad_clip_value),
                             spec=spec)
        recorder = _Recorder(result, optimizer.param_groups[0], stepper, scheduler, num_iter,
                             emit, DivergenceCheck(diverge_threshold, relative_to="first")
                             if diverge_threshold is not None else None)

        def on_eval(done: int) -> None:
            _optimizer_mode(optimizer, "eval")
            metrics = _evaluate(model, val_loader, loss_fn, device=device, precision=precision,
                                batch_to_inputs=batch_to_inputs, should_stop=should_stop)
            _optimizer_mode(optimizer, "train")
            if metrics is not None:  # None: cancelled mid-pass; the loop stops at its next check
                recorder.evaluated(done, *metrics)

        _optimizer_mode(optimizer, "train")
        start = time.perf_counter()
        try:
            stop_reason = drive(stepper, num_iter, hooks=(recorder,), should_stop=should_stop,
                                eval_every=(eval_every or num_iter) if val_loader is not None
                                else 0, on_eval=on_eval)
        finally:  # the model is left holding the weights to use: the averaged ones
            _optimizer_mode(optimizer, "eval")
    recorder.trim()
    # A cancelled run is not evaluated again (the user wants it to stop now) and a diverged
    # model's weights are NaN; both report the last evaluation they had.
    if result.evals and math.isfinite(result.evals[-1].val_accuracy):
        result.final_val_accuracy = result.evals[-1].val_accuracy
    result.stop_reason = stop_reason
    result.elapsed_s = time.perf_counter() - start
    try:
        result.epochs = stepper.batches.served / len(train_loader)
    except (TypeError, ZeroDivisionError):
        result.epochs = 0.0
    return result


def _optimizer_mode(optimizer: Any, mode: str) -> None:
    """``optimizer.train()`` / ``.eval()`` where it has them: a schedule-free optimizer
    (Defazio et al. 2024) steps one sequence of weights and is evaluated at their average, so
    it must be in eval mode for evaluation and in train mode for every step."""
    switch = getattr(optimizer, mode, None)
    if callable(switch):
        switch()


class _Recorder(Hook):
    """What training does around each update: read the LR and momentum the optimizer is
    about to use, record the update, emit it, step the schedule, and keep the training
    loss and accuracy since the last evaluation."""

    def __init__(self, result: TrainResult, group: dict, stepper: Stepper, scheduler,
                 num_iter: int, emit, diverging: DivergenceCheck | None) -> None:
        self.result, self.group, self.stepper = result, group, stepper
        self.scheduler, self.num_iter, self.emit, self.diverging = scheduler, num_iter, emit, diverging
        self.window_losses: list[float] = []
        self.window_accs: list[float] = []

    def before_step(self, i: int) -> None:
        r = self.result
        momentum = get_momentum(self.group)
        r.iterations.append(i)
        r.lrs.append(float(self.group["lr"]))
        r.momentums.append(math.nan if momentum is None else momentum)

    def after_step(self, i: int, loss: float) -> str | None:
        r = self.result
        used = self.group["lr"]
        if used is not r.lrs[-1]:  # the model or the loss set the LR during the update:
            used = float(used)     # record the one the step used, not the one planned
            if used != r.lrs[-1]:
                r.lrs[-1] = used
        accuracy = self.stepper.accuracy
        r.losses.append(loss)
        r.batch_accuracies.append(accuracy)
        if self.emit is not None:
            self.emit(Event(STEP, i, lr=r.lrs[-1], momentum=r.momentums[-1], loss=loss))
        if not math.isfinite(loss):
            if i == 0:
                raise TrainingError(
                    f"the loss was never finite: the first loss is already {loss} at "
                    f"lr={r.lrs[-1]:.3g}; check the model, the data and the loss, not the LR")
            return "non-finite loss"
        if self.diverging is not None and self.diverging(loss):
            return "diverged"
        self.window_losses.append(loss)
        self.window_accs.append(accuracy)
        if self.scheduler is not None and i + 1 < self.num_iter:  # never past the schedule's end
            self.scheduler.step()
        return None

    def evaluated(self, done: int, val_loss: float, val_accuracy: float) -> None:
        r = self.result
        accs = np.asarray(self.window_accs, dtype=float)
        event = Event(
            EVAL, done, lr=r.lrs[-1] if r.lrs else math.nan, val_loss=val_loss,
            val_accuracy=val_accuracy,
            train_loss=float(np.mean(self.window_losses)) if self.window_losses else math.nan,
            train_accuracy=float(np.nanmean(accs)) if np.isfinite(accs).any() else math.nan)
        self.window_losses.clear()
        self.window_accs.clear()
        r.evals.append(event)
        if math.isfinite(val_accuracy) and (r.best_val_accuracy is None
                                            or val_accuracy > r.best_val_accuracy):
            r.best_val_accuracy, r.best_iteration = val_accuracy, done
        if self.emit is not None:
            self.emit(event)

    def trim(self) -> None:
        """Drop the record of an update that never happened (the loader ran out)."""
        r = self.result
        n = len(r.losses)
        del r.iterations[n:], r.lrs[n:], r.momentums[n:]
