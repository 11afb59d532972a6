"""The LR range test: Smith's linear sweep (2015) and fastai's exponential one.

Train for ``num_iter`` steps while the LR climbs from ``start_lr`` to ``end_lr``, record
the loss, stop once the smoothed loss blows up, then put the model and the optimizer
back exactly as they were. The loop, the step and the set-up (device, precision, seeded RNG,
restore: `clr_core.engine.loop.prepared`) are the ones training uses; the range test is
two hooks on that loop (`loop.Hook`, as fastai's ``LRFinder`` is a callback on its
Learner's): `LrSweep` sets each update's LR, `CurveRecorder` records the smoothed curve
(`clr_core.engine.smoothing`) and decides the stop; `run_range_test` puts them together
and asks `clr_core.suggest` for the suggestions.

Design choices worth knowing:

* Defaults follow torch-lr-finder: ``start_lr`` is the optimizer's current LR,
  ``end_lr=10``, ``num_iter=100``, an exponential sweep, so
  ``run_range_test(model, opt, criterion, loader, end_lr=100, num_iter=100)`` works.
* Reference group: with several param groups (discriminative LRs) the sweep LR is
  applied to the group with the largest initial LR (the first one on ties) and every
  other group keeps its ratio to it; ``lrs`` records the reference group's LR.
* Divergence: `clr_core.engine.loop.DivergenceCheck` on the debiased smoothed loss, tested at every
  step like fastai (the debiased EMA equals the loss at step 0, so it can first fire
  at step 1): stop once it exceeds ``diverge_threshold`` x its lowest value so far (for
  a loss <= 0, a rise of ``diverge_threshold - 1`` times the loss's own scale). The
  first non-finite loss also stops the test and is kept in ``losses``.
* The sweep owns the LR: a model, loss or optimizer that changes the reference group's LR
  itself during an update (a scheduler stepped inside ``forward``) is a `RangeTestError`
  at that update, since the curve would be drawn against LRs the updates never used.
* A loader that cannot be restarted (a one-shot iterator) and runs out mid-sweep ends
  the test with stop reason "loader exhausted"; the partial curve is kept.
* Suggestions are computed by `clr_core.suggest.registry.suggest_all` on the smoothed
  curve, with the requested ``num_iter`` (fastai cuts a tenth of the requested iterations).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch

from clr_core.engine import distributed
from clr_core.engine.events import EVAL, STEP, Event
from clr_core.engine.loop import (
    DivergenceCheck,
    Hook,
    check_val_loader,
    drive,
    evaluate,
    prepared,
)
from clr_core.engine.preflight import check_setup
from clr_core.engine.results import SHARPNESS_COLUMNS, VAL_COLUMNS, RangeTestResult
from clr_core.engine.sharpness import (
    LastBatch,
    SharpnessTracker,
    limit_crossing,
    no_limit_reason,
    optimizer_beta,
    optimizer_kind,
)
from clr_core.engine.smoothing import EmaSmoother
from clr_core.engine.spec import BOUNDS, MODES, RangeTestSpec, normalise_mode
from clr_core.errors import ConfigError, RangeTestError
from clr_core.suggest.families import family_of
from clr_core.suggest.registry import suggest_all
from clr_core.validation import check_callable, check_lr_range

__all__ = [
    "MODES",
    "CurveRecorder",
    "LrSweep",
    "RangeTestSpec",
    "lr_sequence",
    "run_range_test",
    "settings_used",
]

_RENAMED = {"val_every": "eval_every", "callback": "emit"}


def lr_sequence(start_lr: float, end_lr: float, num_iter: int, mode: str = "exp") -> np.ndarray:
    """The LR of every step: ``start * (end/start) ** (i/(n-1))`` (exp) or a straight
    line (linear); the first and last steps hit ``start_lr`` and ``end_lr`` exactly."""
    start_lr, end_lr = check_lr_range(start_lr, end_lr)
    num_iter = BOUNDS["num_iter"].check_int("num_iter", num_iter)
    mode = normalise_mode(mode)
    t = np.arange(num_iter, dtype=float) / (num_iter - 1)
    if mode == "exp":
        lrs = start_lr * (end_lr / start_lr) ** t
    else:
        lrs = start_lr + (end_lr - start_lr) * t
    lrs[0], lrs[-1] = start_lr, end_lr
    return lrs


class LrSweep(Hook):
    """The range test's LR: before update i, the sweep's i-th LR on the reference group
    (the largest initial LR, the first on ties) and the same multiple of it on every other
    group; after it, a refusal if something else changed it (the curve would be drawn
    against LRs the updates never used)."""

    def __init__(self, groups: list[dict], lrs: list[float]) -> None:
        init = [float(g["lr"]) for g in groups]
        self.ref = ref = int(np.argmax(init))
        self.lrs, self.group = lrs, groups[ref]
        top = init[ref]
        #: each group's LR over the reference group's, kept through the sweep
        self.scales = [lr / top if top > 0 else 1.0 for lr in init]
        tensor_lr = [isinstance(g["lr"], torch.Tensor) for g in groups]
        if len(groups) == 1 and not tensor_lr[0]:
            group0 = groups[0]

            def set_lr(i: int) -> None:
                group0["lr"] = lrs[i]
        else:
            ratios = self.scales

            def set_lr(i: int) -> None:
                lr = lrs[i]
                for g, r, is_t in zip(groups, ratios, tensor_lr, strict=True):
                    if is_t:
                        g["lr"].fill_(lr * r)
                    else:
                        g["lr"] = lr * r

        self.before_step = set_lr  # type: ignore[method-assign]  # no method call per step

    def after_step(self, i: int, loss: float) -> None:
        now = self.group["lr"]
        now = float(now) if isinstance(now, torch.Tensor) else now
        want = self.lrs[i]
        if now != want and not (isinstance(now, float) and abs(now - want) <= 1e-6 * want):
            raise RangeTestError(
                f"the learning rate changed during update {i + 1}: the sweep set "
                f"{want:.4g} but param group {self.ref} holds {now!r} after it; something in "
                "the model, the loss or the optimizer sets the LR itself (a scheduler stepped "
                "in forward?), so the curve would be drawn against LRs never used: remove "
                "that LR change while the range test runs")
        return None


class CurveRecorder(Hook):
    """The range test's record: each update's loss and its debiased EMA, emitted as a
    "step" `Event`; the sharpness every ``sharpness_every`` updates; the stop once the
    smoothed loss diverges (`DivergenceCheck`) or a loss is not finite; each validation
    pass as a row and an "eval" `Event`."""

    def __init__(self, lrs: list[float], *, beta: float, diverging: DivergenceCheck | None,
                 emit: Callable[[Event], None] | None, tracker: SharpnessTracker | None = None,
                 sharpness_every: int = 0, last_inputs: Callable[[], tuple] | None = None) -> None:
        self.lrs, self.emit, self.diverging = lrs, emit, diverging
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.val_rows: list[tuple[float, float, float, float]] = []
        self.smooth = EmaSmoother(beta).update
        self.tracker, self.sharpness_every, self.last_inputs = tracker, sharpness_every, last_inputs

    def after_step(self, i: int, loss: float) -> str | None:
        lrs, emit = self.lrs, self.emit
        self.losses.append(loss)
        if not math.isfinite(loss):
            self.smoothed.append(math.nan)
            if i == 0:
                raise RangeTestError(
                    f"the first loss is already {loss} at lr={lrs[0]:.3g}: "
                    "check the model, the data and the loss, not the LR"
                )
            if emit is not None:
                emit(Event(STEP, i, lr=lrs[i], loss=loss))
            return "non-finite loss"
        sm = self.smooth(loss)
        self.smoothed.append(sm)
        if emit is not None:
            emit(Event(STEP, i, lr=lrs[i], loss=loss, smoothed=sm))
        if self.tracker is not None and i % self.sharpness_every == 0:
            self.tracker.measure(i, lrs[i], *self.last_inputs())
        if self.diverging is not None and self.diverging(sm):
            return "diverged"
        return None

    def evaluated(self, done: int, val_loss: float, accuracy: float) -> None:
        lr = self.lrs[done - 1]
        self.val_rows.append((float(done), lr, accuracy, val_loss))
        if self.emit is not None:
            self.emit(Event(EVAL, done, lr=lr, val_loss=val_loss, val_accuracy=accuracy))


def _checked_call(model, optimizer, loss_fn, loader, spec: RangeTestSpec | None,
                  overrides: dict, *, val_loader, batch_to_inputs, emit,
                  should_stop) -> tuple[RangeTestSpec, Callable[[Event], None] | None]:
    """The call's objects checked, and its settings as one spec: ``spec`` with the keyword
    ``overrides`` on top (old keyword names read with a warning); and the ``emit`` to use
    (None on every rank but the first under torchrun: rank 0 speaks for all)."""
    settings, others = RangeTestSpec.call_settings("run_range_test", overrides, _RENAMED)
    emit = others.get("emit", emit)
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not optimizer.param_groups:
        raise ConfigError("optimizer has no param groups")
    check_callable("loss_fn", loss_fn)
    check_setup(model, optimizer)  # meta tensors, closure optimizers, unusable LRs
    if loader is None or not isinstance(loader, Iterable):
        raise ConfigError("loader must be an iterable of batches")
    spec = RangeTestSpec.given(spec, settings)
    if val_loader is None and spec.eval_every:
        raise ConfigError("eval_every is set but no val_loader was given")
    check_val_loader(val_loader)
    check_callable("batch_to_inputs", batch_to_inputs)
    check_callable("emit", emit)
    check_callable("should_stop", should_stop)
    if distributed.active():
        if spec.sharpness_every:  # a Hessian-vector product through DDP is not its average
            raise ConfigError("sharpness_every is not available under torchrun; run the "
                              "sharpness probe in one process")
        if not distributed.is_main():
            emit = None  # rank 0 speaks for all: the curve is the same on every rank
    return spec, emit


def run_range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    loader: Iterable,
    spec: RangeTestSpec | None = None,
    *,
    val_loader: Iterable | None = None,
    batch_to_inputs: Callable | None = None,
    device=None,
    emit: Callable[[Event], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    restore: bool = True,
    **overrides,
) -> RangeTestResult:
    """Sweep the LR over ``num_iter`` optimizer steps and return the loss curve.

    The settings are a `RangeTestSpec` (``spec``), with ``overrides`` by field name on top
    (``start_lr=``, ``end_lr=``, ``num_iter=``, ``mode=``, ``smooth_beta=``,
    ``diverge_threshold=``, ``eval_every=``, ``accumulation_steps=``, ``amp=``, ``seed=``,
    ``sharpness_every=``, ``grad_clip_norm=``, ``grad_clip_value=``: the keywords this
    function always took); the spec checks them, and ``result.spec`` is what ran.

    ``start_lr=None`` starts at the optimizer's current LR (its largest group's).
    ``eval_every``: validate on ``val_loader`` after every that many steps and after the
    last (Smith's accuracy-versus-LR test); None with a ``val_loader`` means every step.
    ``diverge_threshold=None`` disables the smoothed-loss stop (non-finite still stops).
    ``emit(event)`` receives a "step" `Event` per step and an "eval" one per validation.
    ``amp`` follows `device.precision_for`, the same policy as training.
    ``seed`` seeds torch inside a forked RNG, so the caller's RNG is left alone.
    The old keyword names ``val_every`` and ``callback`` still work, with a warning.
    ``sharpness_every=k``: every k updates, λmax of the loss's Hessian on the batch just
    used (`clr_core.engine.sharpness`), in ``result.sharpness``; 0 computes nothing.
    Under ``torchrun`` with the model in ``DistributedDataParallel`` every rank sweeps the
    same LRs, the curve is the mean loss over ranks and only rank 0 emits
    (`clr_core.engine.distributed`); every rank restores its own model and optimizer.
    ``grad_clip_norm`` / ``grad_clip_value`` clip every update's gradients as the real
    training will (`loop.GradClip`, after AMP's unscale); None or 0 is no clipping.
    ``result.settings_used`` names the precision, accumulation and clipping the sweep ran.
    """
    spec, emit = _checked_call(model, optimizer, loss_fn, loader, spec, overrides,
                               val_loader=val_loader, batch_to_inputs=batch_to_inputs,
                               emit=emit, should_stop=should_stop)
    start_lr = spec.start_lr
    if start_lr is None:  # the optimizer's own LR (its largest group's)
        start_lr = max(float(g["lr"]) for g in optimizer.param_groups)
    lrs_all = lr_sequence(start_lr, spec.end_lr, spec.num_iter, spec.mode)
    mode, num_iter, beta, seed = spec.mode, spec.num_iter, spec.smooth_beta, spec.seed
    diverge_threshold, sharpness_every = spec.diverge_threshold, spec.sharpness_every
    # validation every eval_every updates (None or 0: every one) when there is a loader
    eval_every = (spec.eval_every or 1) if val_loader is not None else 0
    tracker = None
    family = family_of(optimizer)  # what the suggestions assume; on every result
    kind, sharpness_note = optimizer_kind(optimizer), ""
    if sharpness_every and kind == "none":
        sharpness_note = no_limit_reason(optimizer)
    elif sharpness_every:
        loader = LastBatch(loader)
        tracker = SharpnessTracker(model, loss_fn, optimizer=optimizer)

    lr_list = lrs_all.tolist()
    sweep = LrSweep(optimizer.param_groups, lr_list)
    recorder = CurveRecorder(lr_list, beta=beta, emit=emit,
                             diverging=DivergenceCheck(diverge_threshold)
                             if diverge_threshold is not None else None,
                             tracker=tracker, sharpness_every=sharpness_every)
    t0 = time.perf_counter()
    with prepared(model, optimizer, loss_fn, loader, device=device, amp=spec.amp,
                  accumulation_steps=spec.accumulation_steps, batch_to_inputs=batch_to_inputs,
                  grad_clip_norm=spec.grad_clip_norm, grad_clip_value=spec.grad_clip_value,
                  go_home=True, restore=restore, seed=seed) as stepper:
        precision, move, split = stepper.precision, stepper.move, stepper.split

        def last_inputs() -> tuple:  # the batch the update just used, for the sharpness
            x, y = split(loader.last)
            return move(x), move(y)

        def on_eval(done: int) -> None:
            metrics = evaluate(model, val_loader, loss_fn, device=stepper.device,
                               precision=precision, batch_to_inputs=batch_to_inputs,
                               should_stop=should_stop)
            if metrics is not None:  # None: cancelled mid-pass; the loop stops at its next check
                recorder.evaluated(done, *metrics)

        recorder.last_inputs = last_inputs
        stop_reason = drive(stepper, num_iter, hooks=(sweep, recorder), should_stop=should_stop,
                            eval_every=eval_every, on_eval=on_eval)

    losses, smoothed, val_rows = recorder.losses, recorder.smoothed, recorder.val_rows
    diverging = recorder.diverging
    lrs_arr = lrs_all[: len(losses)].copy()
    sm_arr = np.asarray(smoothed, dtype=float)
    accs = np.asarray(val_rows, dtype=float).reshape(-1, len(VAL_COLUMNS))
    rows = np.asarray(tracker.rows if tracker else [], dtype=float).reshape(-1, len(SHARPNESS_COLUMNS))
    opt_beta = optimizer_beta(optimizer)  # momentum or β1: the stability limit's β
    suggestions = suggest_all(lrs_arr, sm_arr, mode=mode, accuracies=accs if accs.size else None,
                              num_iter=int(num_iter), stop_reason=stop_reason,
                              raw=np.asarray(losses, dtype=float), smooth_beta=beta,
                              limit_lr=limit_crossing(rows.tolist(), opt_beta, kind), family=family.key)
    return RangeTestResult(
        lrs=lrs_arr,
        losses=np.asarray(losses, dtype=float),
        smoothed=sm_arr,
        diverged=stop_reason in ("diverged", "non-finite loss"),
        stop_reason=stop_reason,
        accuracies=accs,
        suggestions=suggestions,
        mode=mode,
        start_lr=float(lrs_all[0]),
        end_lr=float(lrs_all[-1]),
        num_iter=int(num_iter),
        elapsed_s=time.perf_counter() - t0,
        smooth_beta=beta,
        diverge_threshold=diverge_threshold,
        reference_group=sweep.ref,
        group_scales=sweep.scales,
        seed=seed,
        divergence_note=diverging.note if diverging is not None else "",
        amp_dtype=precision.label,
        sharpness=rows,
        sharpness_kind=kind,
        sharpness_beta=opt_beta,
        sharpness_note=sharpness_note,
        settings_used=settings_used(precision, spec.accumulation_steps, spec.grad_clip_norm,
                                    spec.grad_clip_value),
        spec=spec,
        optimizer_family=family.key,
        optimizer_class=type(optimizer).__name__,
    )


def settings_used(precision, accumulation_steps: int, grad_clip_norm: float | None,
                  grad_clip_value: float | None) -> dict:
    """What a run trained with, beyond its LRs: the precision it computed in, the
    micro-batches per update and the clipping (None: off). Integrations add what they
    read from a trainer."""
    return {"precision": precision.label or "float32",
            "accumulation_steps": int(accumulation_steps),
            "grad_clip_norm": grad_clip_norm, "grad_clip_value": grad_clip_value}
