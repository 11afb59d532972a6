"""Short training runs under a schedule, and Smith's (2015) baselines to compare against.

The loop records exactly what the optimizer used at each iteration (lr, momentum) so a
run can be checked against its schedule's closed form, and it ends cleanly, with a
partial record, on cancel or divergence: the UI shows what happened instead of a trace.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from clr_core.device import amp_available, amp_dtype, pick_device
from clr_core.errors import ConfigError
from clr_core.events import EVAL, STEP, Event
from clr_core.optim import get_momentum
from clr_core.results import TrainResult

STOP_REASONS = ("completed", "cancelled", "diverged")


# --------------------------------------------------------------------------- helpers
def _to_device(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def _default_split(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, list | tuple) and len(batch) >= 2:
        return batch[0], batch[1]
    raise ConfigError("a batch must be (inputs, targets); pass batch_to_inputs to unpack others")


def _cycle(loader: Any) -> Iterator[Any]:
    """Loop over the loader forever (re-iterating: a seeded loader keeps its order)."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ConfigError("the training loader yields no batches (data set smaller than one "
                              "batch with drop_last?)")


def _batch_size(targets: Any) -> int:
    if isinstance(targets, torch.Tensor):
        return int(targets.shape[0]) if targets.ndim else 1
    return len(targets)


def _correct(outputs: Any, targets: Any) -> torch.Tensor | None:
    """Number of right answers when this looks like classification, else None."""
    if (isinstance(outputs, torch.Tensor) and isinstance(targets, torch.Tensor)
            and outputs.ndim == 2 and targets.ndim == 1 and not targets.is_floating_point()):
        return (outputs.argmax(dim=1) == targets).sum()
    return None


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@torch.no_grad()
def evaluate(model: nn.Module, loader: Any, loss_fn: Callable, *, device: torch.device | str,
             batch_to_inputs: Callable | None = None,
             autocast_dtype: torch.dtype | None = None,
             should_stop: Callable[[], bool] | None = None) -> dict[str, float | None] | None:
    """Mean loss and accuracy over a whole loader, in eval mode (the mode is restored).

    Returns None if `should_stop()` turns true between batches: a 10,000-image validation
    pass on a CPU takes long enough that Cancel must not wait for it."""
    device = torch.device(device)
    split = batch_to_inputs or _default_split
    was_training = model.training
    model.eval()
    loss_sum, correct, n, classified = 0.0, 0, 0, True
    try:
        for batch in loader:
            if should_stop is not None and should_stop():
                return None
            inputs, targets = (_to_device(v, device) for v in split(batch))
            with _autocast(device, autocast_dtype):
                outputs = model(inputs)
                loss = loss_fn(outputs, targets)
            b = _batch_size(targets)
            right = _correct(outputs, targets)
            vals = torch.stack([loss.detach().float(),
                                (right if right is not None else torch.zeros((), device=loss.device))
                                .float()]).tolist()
            loss_sum += vals[0] * b
            correct += int(vals[1])
            classified &= right is not None
            n += b
    finally:
        model.train(was_training)
    if n == 0:
        return {"val_loss": None, "val_accuracy": None}
    return {"val_loss": loss_sum / n, "val_accuracy": correct / n if classified else None}


def _resolve_schedule(schedule: Any):
    if schedule is None:
        return None
    if isinstance(schedule, Mapping):
        from clr_core.schedules import from_dict

        return from_dict(schedule)
    if not hasattr(schedule, "to_torch") or not hasattr(schedule, "lr"):
        raise ConfigError(f"schedule must be a Schedule, a schedule dict or None, got {schedule!r}")
    return schedule


def _resolve_device(device: Any, model: nn.Module) -> torch.device:
    if device is None:  # stay where the caller put the model
        p = next(model.parameters(), None)
        return p.device if p is not None else torch.device("cpu")
    return pick_device(device)


# --------------------------------------------------------------------------- the loop
def run_training(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable,
                 train_loader: Any, *, num_iter: int, schedule: Any = None,
                 val_loader: Any = None, eval_every: int | None = 50,
                 device: torch.device | str | None = None,
                 callback: Callable[[dict], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 batch_to_inputs: Callable[[Any], tuple[Any, Any]] | None = None,
                 amp: bool = False, diverge_factor: float | None = None) -> TrainResult:
    """Train for `num_iter` updates, the LR (and momentum) set by `schedule` each iteration.

    `schedule`: a Schedule, its dict, or None (the optimizer's lr stays). `device=None`
    keeps the model where it is. `eval_every` 0/None: evaluate only at the end.
    `batch_to_inputs(batch) -> (inputs, targets)` for loaders that don't yield pairs.
    `amp=True` is ignored where `amp_available(device)` is False (result.amp says).
    Stops early with stop_reason "cancelled" (should_stop() true, checked before every
    update) or "diverged" (a non-finite loss, or one above `diverge_factor` x the first
    loss when that is set: BatchNorm nets can blow up to 1e20 without reaching inf; the
    loss is recorded, no update made)."""
    if isinstance(num_iter, bool) or not isinstance(num_iter, int | np.integer) or num_iter < 1:
        raise ConfigError(f"num_iter must be a positive integer, got {num_iter!r}")
    num_iter = int(num_iter)
    if eval_every is not None and (isinstance(eval_every, bool) or not isinstance(eval_every, int)
                                   or eval_every < 0):
        raise ConfigError(f"eval_every must be an integer >= 0 (0: only at the end), got {eval_every!r}")
    if diverge_factor is not None and (isinstance(diverge_factor, bool)
                                       or not isinstance(diverge_factor, int | float)
                                       or not diverge_factor > 1):
        raise ConfigError(f"diverge_factor must be a number > 1 or None, got {diverge_factor!r}")
    sched = _resolve_schedule(schedule)
    if sched is not None and sched.total_steps is not None and num_iter > sched.total_steps:
        raise ConfigError(f"num_iter ({num_iter}) is longer than the schedule's total_steps "
                          f"({sched.total_steps}); make them equal for a 1cycle run")
    device = _resolve_device(device, model)
    model.to(device)
    scheduler = sched.to_torch(optimizer) if sched is not None else None

    use_amp = bool(amp) and amp_available(device)
    dtype = amp_dtype(device) if use_amp else None
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None

    split = batch_to_inputs or _default_split
    try:
        batches_per_epoch = len(train_loader)
    except TypeError:
        batches_per_epoch = 0

    result = TrainResult(num_iter=num_iter, device=str(device), amp=use_amp)
    window_losses: list[float] = []
    window_accs: list[float] = []
    last_eval = 0

    def emit(event: Event) -> None:
        if callback is not None:
            callback(event)

    def do_eval(done: int) -> None:
        nonlocal last_eval
        last_eval = done
        metrics = evaluate(model, val_loader, loss_fn, device=device,
                           batch_to_inputs=batch_to_inputs, autocast_dtype=dtype,
                           should_stop=should_stop)
        if metrics is None:  # cancelled mid-evaluation; the loop stops at its next check
            return
        accs = np.asarray(window_accs, dtype=float)
        row = Event(
            EVAL, done, lr=result.lrs[-1] if result.lrs else math.nan,
            val_loss=math.nan if metrics["val_loss"] is None else metrics["val_loss"],
            val_accuracy=math.nan if metrics["val_accuracy"] is None else metrics["val_accuracy"],
            train_loss=float(np.mean(window_losses)) if window_losses else math.nan,
            train_accuracy=float(np.nanmean(accs)) if np.isfinite(accs).any() else math.nan)
        window_losses.clear()
        window_accs.clear()
        result.evals.append(row)
        acc = row.val_accuracy
        if math.isfinite(acc) and (result.best_val_accuracy is None or acc > result.best_val_accuracy):
            result.best_val_accuracy, result.best_iteration = acc, done
        emit(row)

    batches = _cycle(train_loader)
    model.train()
    start = time.perf_counter()
    stop_reason = "completed"
    for i in range(num_iter):
        if should_stop is not None and should_stop():
            stop_reason = "cancelled"
            break
        inputs, targets = (_to_device(v, device) for v in split(next(batches)))
        group = optimizer.param_groups[0]
        lr = float(group["lr"])
        momentum = get_momentum(group)

        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, dtype):
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
        right = _correct(outputs, targets)
        if right is not None:  # one device sync for both numbers
            loss_value, n_right = torch.stack([loss.detach().float(), right.float()]).tolist()
            accuracy = n_right / _batch_size(targets)
        else:
            loss_value, accuracy = float(loss.detach()), float("nan")

        result.iterations.append(i)
        result.lrs.append(lr)
        result.momentums.append(float("nan") if momentum is None else momentum)
        result.losses.append(loss_value)
        result.batch_accuracies.append(accuracy)
        emit(Event(STEP, i, lr=lr, momentum=result.momentums[-1], loss=loss_value))
        if not math.isfinite(loss_value) or (
                diverge_factor is not None and result.losses[0] > 0
                and loss_value > diverge_factor * result.losses[0]):
            stop_reason = "diverged"
            break
        window_losses.append(loss_value)
        window_accs.append(accuracy)

        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        if scheduler is not None and i + 1 < num_iter:  # never step past the schedule's end
            scheduler.step()

        done = i + 1
        if val_loader is not None and eval_every and done % eval_every == 0:
            do_eval(done)

    done = len(result.iterations)
    if stop_reason == "completed" and val_loader is not None and last_eval != done:
        do_eval(done)
    # A cancelled run is not evaluated again (the user wants it to stop now) and a diverged
    # model's weights are NaN; both report the last evaluation they had.
    if result.evals:
        last = result.evals[-1].val_accuracy
        result.final_val_accuracy = last if math.isfinite(last) else None
    result.stop_reason = stop_reason
    result.elapsed_s = time.perf_counter() - start
    result.epochs = done / batches_per_epoch if batches_per_epoch else 0.0
    return result


# --------------------------------------------------------------------------- baselines
#: Adam's baseline LR: Kingma & Ba's default. A range test run with SGD does not transfer
#: to Adam, and Smith (2015) compared adaptive methods at their usual settings.
ADAM_LR = 1e-3


@dataclass(frozen=True)
class BaselineInfo:
    label: str
    description: str


BASELINES: dict[str, BaselineInfo] = {
    "fixed": BaselineInfo(
        "Fixed LR (SGD)", "A constant LR = base_lr, like the paper's fixed 0.001 that became CLR's "
        "base_lr; the accuracy CLR should reach in fewer iterations."),
    "decay": BaselineInfo(
        "Linear decay (SGD)", "max_lr down to base_lr over the first half of the run, then flat "
        "(Smith 2015's control: decreasing alone is not enough)."),
    "step": BaselineInfo(
        "Step decay (SGD)", "Starts at max_lr and divides by 10 after each third of the run "
        "(Caffe 'step' / StepLR)."),
    "exp": BaselineInfo(
        "Exponential decay (SGD)", "max_lr * gamma**k, gamma chosen to reach base_lr at the end "
        "(Caffe 'exp')."),
    "adam": BaselineInfo(
        "Adam, fixed 1e-3", "An adaptive optimizer at its usual LR (Kingma & Ba's 1e-3), "
        "independent of the SGD range test."),
}


def baseline_plan(name: str, *, max_lr: float, base_lr: float,
                  num_iter: int) -> tuple[dict, str]:
    """(schedule dict, optimizer name) of a baseline sized to the run being compared."""
    from clr_core.schedules import make_schedule

    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; choose one of {sorted(BASELINES)}")
    for label, v in (("max_lr", max_lr), ("base_lr", base_lr)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            raise ConfigError(f"{label} must be a positive number, got {v!r}")
    if base_lr >= max_lr:
        raise ConfigError(f"base_lr ({base_lr:g}) must be below max_lr ({max_lr:g})")
    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 2:
        raise ConfigError(f"num_iter must be an integer >= 2, got {num_iter!r}")
    if name == "fixed":
        sched, opt = make_schedule("fixed", lr=base_lr), "sgd"
    elif name == "decay":
        sched = make_schedule("decay", base_lr=base_lr, max_lr=max_lr,
                              step_size=max(1, num_iter // 2))
        opt = "sgd"
    elif name == "step":
        sched = make_schedule("step", base_lr=max_lr, gamma=0.1, step_size=max(1, num_iter // 3))
        opt = "sgd"
    elif name == "exp":
        gamma = (base_lr / max_lr) ** (1.0 / num_iter)
        sched, opt = make_schedule("exp", base_lr=max_lr, gamma=gamma), "sgd"
    else:  # adam
        sched, opt = make_schedule("fixed", lr=ADAM_LR), "adam"
    return sched.to_dict(), opt


def _as_result(r: TrainResult | Mapping) -> TrainResult:
    return r if isinstance(r, TrainResult) else TrainResult.from_dict(r)


def _first_reaching(result: TrainResult, target: float) -> int | None:
    for e in result.evals:
        if e.val_accuracy >= target:
            return int(e.iteration)
    return None


def compare_runs(results: Mapping[str, TrainResult | Mapping], *, reference: str | None = None,
                 fraction: float = 0.99) -> pd.DataFrame:
    """One row per run: accuracies and iterations to reach `fraction` of the reference's
    best accuracy (Smith 2015: CLR reaches fixed-LR accuracy in fewer iterations).

    The reference is `reference`, else the run named "fixed" (or whose name contains
    "fixed"), else the first run. `speedup` = reference's iterations / the run's."""
    if not results:
        return pd.DataFrame(columns=[
            "final_val_accuracy", "best_val_accuracy", "best_iteration", "iterations",
            "stop_reason", "elapsed_s", "target_accuracy", "iters_to_target", "speedup",
            "is_reference"])
    if not 0 < fraction <= 1:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction!r}")
    runs = {name: _as_result(r) for name, r in results.items()}
    if reference is None:
        reference = "fixed" if "fixed" in runs else next(
            (n for n in runs if "fixed" in n.lower()), next(iter(runs)))
    elif reference not in runs:
        raise ConfigError(f"reference {reference!r} is not one of the runs {sorted(runs)}")
    ref_best = runs[reference].best_val_accuracy
    target = ref_best * fraction if ref_best is not None else None
    ref_iters = _first_reaching(runs[reference], target) if target is not None else None

    rows = []
    for name, r in runs.items():
        iters = _first_reaching(r, target) if target is not None else None
        rows.append({
            "run": name,
            "final_val_accuracy": r.final_val_accuracy,
            "best_val_accuracy": r.best_val_accuracy,
            "best_iteration": r.best_iteration,
            "iterations": r.completed_iterations,
            "stop_reason": r.stop_reason,
            "elapsed_s": r.elapsed_s,
            "target_accuracy": target,
            "iters_to_target": iters,
            "speedup": (ref_iters / iters) if ref_iters and iters else None,
            "is_reference": name == reference,
        })
    df = pd.DataFrame(rows).set_index("run")
    for col in ("final_val_accuracy", "best_val_accuracy", "elapsed_s", "target_accuracy",
                "speedup"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("best_iteration", "iters_to_target"):
        df[col] = pd.array(df[col].tolist(), dtype="Int64")
    return df
