"""CLR Studio in a PyTorch Lightning project, with the user's objects as they are.

* `StudioCallback`: ``Trainer(callbacks=[StudioCallback("my fit")])`` records the fit live
  to the run store: each optimizer update's loss, the LR and momentum of every param
  group (read just before ``optimizer.step()``, so the values that update used), each
  validation's logged metrics. A fit ended by an exception or Ctrl-C is marked "failed"
  or "cancelled" with everything recorded so far (Lightning hands callbacks the
  exception); the Runs page draws it as it trains.
* `range_test`: the LR range test on a ``LightningModule``: its ``configure_optimizers``
  builds the optimizers (one test per optimizer, or the one named), a ``Trainer``'s
  clipping, precision and accumulation are trained with, its ``training_step`` is the loss, its ``train_dataloader`` (or a
  datamodule's, or loaders given) the data; the engine's `run_range_test` runs it and puts
  the module back bit for bit. Lightning's own ``lr_find`` neither restores the optimizer
  nor applies its suggestion (Lightning issues #6675, #9672, #1983, #3219). With a
  ``Trainer(strategy="ddp", devices=N)`` it runs on the Trainer's N processes, on the
  shards its fit reads (`clr_core.integrations.lightning_ddp`).
* `scheduled`: the recommendation as a designed schedule, returned from
  ``configure_optimizers`` as the PyTorch export stepped every update.

Imports Lightning at the top: only users of this module need it.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

import clr_core.engine.range_test as engine
import clr_core.integrations.lightning_ddp as ddp
from clr_core.engine import distributed
from clr_core.errors import ConfigError
from clr_core.integrations.common import (
    LiveTraining,
    group_values,
    record_range_test,
    schedule_for,
)
from clr_core.runs.recorder import StoreLike, describe_call
from clr_core.runs.recording import RecordLike
from clr_core.schedules.base import Schedule
from clr_core.schedules.registry import from_dict

__all__ = ["StudioCallback", "all_optimizers", "first_optimizer", "range_test", "scheduled",
           "trainer_settings"]

#: Logged metric names read as the validation loss and accuracy, first found wins.
VAL_LOSS_KEYS = ("val_loss", "val/loss", "validation_loss")
VAL_ACCURACY_KEYS = ("val_acc", "val_accuracy", "val/acc", "val/accuracy")


def _first(metrics: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((metrics[k] for k in keys if k in metrics), None)


def _scalar(value: Any) -> float:
    if isinstance(value, Tensor):
        return float(value.detach().float().mean()) if value.numel() else math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class StudioCallback(pl.Callback):
    """Record ``Trainer.fit`` live (see the module doc). ``name`` is what ``record=`` takes:
    a run name, a sink (``TensorBoardSink``, ``MLflowSink``) or a list of a name and sinks.
    ``store``: a ``RunStore``, a path, or None for ``$CLR_STUDIO_DB`` (the app's)."""

    def __init__(self, name: RecordLike = "Lightning fit", *, store: StoreLike = None,
                 val_loss_keys: Sequence[str] = VAL_LOSS_KEYS,
                 val_accuracy_keys: Sequence[str] = VAL_ACCURACY_KEYS) -> None:
        super().__init__()
        self.live = LiveTraining(name, store=store)
        self.val_loss_keys = tuple(val_loss_keys)
        self.val_accuracy_keys = tuple(val_accuracy_keys)
        self._used: tuple[int, list[float], list[float]] | None = None
        self._losses: list[float] = []

    @property
    def run_id(self) -> int | None:
        """The run's id in the store once the fit has started."""
        return self.live.run_id

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        dm = getattr(trainer, "datamodule", None)
        config = describe_call({"model": pl_module, "optimizer": None, "device": pl_module.device})
        config.update({"dataset": type(dm).__name__ if dm is not None else "train_dataloader",
                       "source": "lightning", "max_epochs": trainer.max_epochs,
                       "max_steps": trainer.max_steps,
                       "accumulate_grad_batches": trainer.accumulate_grad_batches})
        num_iter = trainer.max_steps if trainer.max_steps > 0 else None
        with contextlib.suppress(Exception):  # loads the train loader, as Lightning would next
            num_iter = int(trainer.estimated_stepping_batches)
        config["num_iter"] = num_iter
        if dm is None and trainer.train_dataloader is not None:
            config["dataset"] = describe_call({"loader": trainer.train_dataloader})["dataset"]
        self.live.start(config, num_iter=num_iter, iters_per_epoch=None,
                        device=str(pl_module.device))
        self._used, self._losses = None, []

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        opt = trainer.optimizers[0] if trainer.optimizers else None
        described = describe_call({"optimizer": opt})
        self.live.config.update({k: described[k] for k in ("optimizer", "momentum", "weight_decay")})
        self.live.config["param_groups"] = len(opt.param_groups) if opt is not None else 0
        batches = trainer.num_training_batches
        if isinstance(batches, int) and batches > 0:
            self.live.iters_per_epoch = max(1, batches // max(1, trainer.accumulate_grad_batches))

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                                 optimizer: Any) -> None:
        if self._used is None:  # the first optimizer of a multi-optimizer module
            self._used = (trainer.global_step, *group_values(optimizer))

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if loss is not None:
            self._losses.append(_scalar(loss))
        if self._used is not None:
            step, lrs, momenta = self._used
            mean = sum(self._losses) / len(self._losses) if self._losses else math.nan
            self.live.step(step, mean, lrs, momenta)
            self._used, self._losses = None, []

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        rec = self.live.recorder
        if trainer.sanity_checking or rec is None or rec.finished:  # trainer.validate() after fit
            return
        metrics = {k: _scalar(v) for k, v in trainer.callback_metrics.items()}
        self.live.evaluated(trainer.global_step,
                            val_loss=_first(metrics, self.val_loss_keys),
                            val_accuracy=_first(metrics, self.val_accuracy_keys),
                            metrics=metrics)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.live.finish("done")

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        self.live.end_by(exception)


# ------------------------------------------------------------------- the range test


def all_optimizers(configured: Any) -> list[torch.optim.Optimizer]:
    """Every optimizer ``configure_optimizers`` may return, in its order: an optimizer, a
    list or tuple of them, ``(optimizers, schedulers)``, or dicts with "optimizer"."""
    found: list[torch.optim.Optimizer] = []

    def walk(item: Any, top: bool) -> None:
        if isinstance(item, torch.optim.Optimizer):
            found.append(item)
        elif isinstance(item, Mapping) and "optimizer" in item:
            walk(item["optimizer"], False)
        elif isinstance(item, list | tuple) and item:
            # ([optimizers], [schedulers]): the second list holds no optimizers
            if top and len(item) == 2 and all(isinstance(x, list | tuple) for x in item):
                walk(item[0], False)
            else:
                for x in item:
                    walk(x, False)

    walk(configured, True)
    if not found:
        raise ConfigError("configure_optimizers returned no optimizer (got "
                          f"{type(configured).__name__}); the range test needs one")
    return found


def first_optimizer(configured: Any) -> torch.optim.Optimizer:
    """The first optimizer among what ``configure_optimizers`` returns (`all_optimizers`)."""
    return all_optimizers(configured)[0]


class _StepLoss(nn.Module):
    """The module's ``training_step`` (or the caller's ``step_loss(module, batch)``) as a
    forward: a batch in, its loss out."""

    def __init__(self, module: pl.LightningModule, step_loss: Any = None) -> None:
        super().__init__()
        self.module = module
        self.step_loss = step_loss
        self.batch_idx = 0

    def forward(self, batch: Any) -> Tensor:
        if self.step_loss is not None:
            out = self.step_loss(self.module, batch)
        else:
            out = self.module.training_step(batch, self.batch_idx)
        self.batch_idx += 1
        loss = out.get("loss") if isinstance(out, Mapping) else out
        if not isinstance(loss, Tensor):
            raise ConfigError("training_step must return the loss (a tensor, or a dict with "
                              "'loss'); for manual optimization pass "
                              "step_loss=lambda module, batch: loss")
        return loss


def _loss(out: Tensor, _target: Any) -> Tensor:
    return out


def _whole_batch(batch: Any) -> tuple[Any, None]:
    return batch, None


def _train_loader(module: pl.LightningModule, trainer: Any, datamodule: Any, loader: Any) -> Any:
    if loader is not None:
        return loader
    if datamodule is not None:
        ddp.prepare_data(trainer, datamodule)
        datamodule.setup("fit")
        return datamodule.train_dataloader()
    try:
        return module.train_dataloader()
    except Exception as e:  # Lightning raises its own type when the hook is not overridden
        raise ConfigError("the module has no train_dataloader: pass datamodule= or "
                          f"train_dataloaders= ({type(e).__name__}: {e})") from e


def _precision(precision: Any) -> str | bool:
    """Lightning's ``precision`` ("bf16-mixed", "16-mixed", "bf16-true", "32-true"...) as
    the engine's ``amp``: autocast to bfloat16 or float16, or False for full precision.
    A "-true" half precision (weights in that dtype) is run as autocast to it, the
    nearest the engine runs."""
    text = str(precision or "32").lower()
    if text.startswith("bf16"):
        return "bfloat16"
    if text.startswith("16"):
        return "float16"
    return False


def trainer_settings(trainer: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The engine keywords a ``Trainer`` configures (clipping, precision, accumulation)
    and, for the result, which Trainer setting each came from."""
    if trainer is None:
        return {}, {}
    kwargs: dict[str, Any] = {}
    taken: dict[str, str] = {}
    clip = getattr(trainer, "gradient_clip_val", None)
    raw = getattr(trainer, "gradient_clip_algorithm", None)
    algorithm = str(getattr(raw, "value", raw) or "norm").lower()
    key = "grad_clip_value" if algorithm == "value" else "grad_clip_norm"
    kwargs[key] = float(clip) if clip else None
    taken[key] = f"gradient_clip_val ({algorithm})"
    kwargs["amp"] = _precision(getattr(trainer, "precision", None))
    taken["precision"] = str(getattr(trainer, "precision", None))
    kwargs["accumulation_steps"] = max(1, int(getattr(trainer, "accumulate_grad_batches", 1) or 1))
    taken["accumulation_steps"] = "accumulate_grad_batches"
    return kwargs, taken


def range_test(module: pl.LightningModule, *, trainer: pl.Trainer | None = None,
               datamodule: Any = None, train_dataloaders: Any = None,
               optimizer_index: int | None = None, step_loss: Any = None,
               start_lr: float = 1e-7, end_lr: float = 10.0,
               num_iter: int = 100, mode: str = "exp", record: Any = None,
               store: StoreLike = None, **engine_kwargs: Any):
    """The LR range test on ``module`` as it is (see the module doc); returns the engine's
    `RangeTestResult`, ``suggestions["recommended"]`` first among them.

    Optimizers: every one ``configure_optimizers`` returns, at its configured LRs (a
    scheduler it built is ignored), each swept alone on its own parameters with the
    module's whole loss: one optimizer gives one result; several give a list of results in
    their order, or the one result of ``optimizer_index``. Every param group keeps its
    ratio to the largest. The loss is what ``training_step`` returns; a module with manual
    optimization (several optimizers need it in Lightning 2) passes
    ``step_loss(module, batch) -> loss``.

    ``trainer`` (or the Trainer the module is attached to): the sweep trains as its fit
    will, with its ``gradient_clip_val`` / ``gradient_clip_algorithm`` ("norm": global
    norm, "value": elementwise), its ``precision`` ("bf16-mixed", "16-mixed"; bfloat16
    autocasts on a CPU too) and its ``accumulate_grad_batches``; ``result.settings_used``
    names what was taken. ``engine_kwargs`` go to
    `clr_core.engine.range_test.run_range_test` (``seed``, ``smooth_beta``, ``device``,
    ``grad_clip_norm``...) and win over the Trainer's. The module's weights, buffers,
    gradients and train/eval flags are restored bit for bit after each test.
    ``record=NAME`` records it (one run per optimizer, "NAME (optimizer i)", when several);
    it takes TensorBoard / MLflow sinks too, as ``run_range_test``'s does (`clr_core.trackers`).
    A ``strategy="ddp"`` Trainer of several devices runs it on every one of its processes
    (docs/distributed.md): the mean loss over ranks, one stop for all, every rank restored
    and holding the same result, rank 0 alone recording."""
    if not isinstance(module, pl.LightningModule):
        raise ConfigError(f"module must be a LightningModule, got {type(module).__name__}")
    if trainer is None:
        trainer = getattr(module, "_trainer", None)
    if step_loss is None and not module.automatic_optimization:
        raise ConfigError("the module uses manual optimization (its training_step steps the "
                          "optimizers itself): pass step_loss=lambda module, batch: loss")
    from_trainer, taken = trainer_settings(trainer)
    taken = {k: v for k, v in taken.items()
             if (k if k != "precision" else "amp") not in engine_kwargs}
    kwargs = {**{k: v for k, v in from_trainer.items() if k not in engine_kwargs},
              **engine_kwargs}
    def sweep() -> Any:  # on every process of a ddp Trainer, in its process group
        return _sweep(module, trainer, datamodule, train_dataloaders, optimizer_index,
                      step_loss, kwargs, taken, record=record, store=store, start_lr=start_lr,
                      end_lr=end_lr, num_iter=num_iter, mode=mode)

    return ddp.in_trainer_processes(trainer, sweep)


def _sweep(module: pl.LightningModule, trainer: Any, datamodule: Any, train_dataloaders: Any,
           optimizer_index: int | None, step_loss: Any, kwargs: dict[str, Any],
           taken: dict[str, str], *, record: Any, store: StoreLike, start_lr: float,
           end_lr: float, num_iter: int, mode: str) -> Any:
    """`range_test` on this process: one sweep per chosen optimizer."""
    optimizers = all_optimizers(module.configure_optimizers())
    if optimizer_index is not None:
        if not isinstance(optimizer_index, int) or not 0 <= optimizer_index < len(optimizers):
            raise ConfigError(f"optimizer_index must be 0 to {len(optimizers) - 1} "
                              f"(configure_optimizers returned {len(optimizers)}), "
                              f"got {optimizer_index!r}")
        chosen = [optimizer_index]
    else:
        chosen = list(range(len(optimizers)))
    loader = ddp.shard(trainer, _train_loader(module, trainer, datamodule,
                                              train_dataloaders))
    n = _length(loader)
    accumulation = int(kwargs.get("accumulation_steps", 1) or 1)
    per_epoch = None if n is None else max(1, math.ceil(n / accumulation))
    results = []
    stepper = _StepLoss(module, step_loss)
    forward = ddp.wrapped(trainer, stepper)  # under DDP: one wrapper for every sweep
    for index in chosen:
        optimizer = optimizers[index]
        for group in optimizer.param_groups:  # a scheduler's constructor may have moved it
            if "initial_lr" in group:
                group["lr"] = group.pop("initial_lr")
        stepper.batch_idx = 0
        config = describe_call({"model": module, "optimizer": optimizer, "loader": loader,
                                "start_lr": start_lr, "end_lr": end_lr, "num_iter": num_iter,
                                "mode": mode, **kwargs})
        config["source"] = "lightning"
        if len(optimizers) > 1:
            config["optimizer_index"] = index

        def run(emit: Any, optimizer: Any = optimizer, index: int = index):
            with warnings.catch_warnings():  # self.log() outside a Trainer: a no-op, say nothing
                warnings.filterwarnings("ignore", message=".*self.log.*")
                result = engine.run_range_test(forward, optimizer, _loss, loader,
                                               start_lr=start_lr, end_lr=end_lr,
                                               num_iter=num_iter, mode=mode,
                                               batch_to_inputs=_whole_batch, emit=emit,
                                               **kwargs)
            result.settings_used.update({
                "source": "lightning", "optimizer": type(optimizer).__name__,
                "optimizer_index": index, "optimizers": len(optimizers),
                "optimizer_steps_per_epoch": per_epoch, "world_size": distributed.world_size(),
                "taken_from_trainer": taken})
            return result

        label = record if record is None or len(chosen) == 1 else _per_optimizer(record, index)
        results.append(record_range_test(run, config, label=label, store=store,
                                         iters_per_epoch=per_epoch, device=str(module.device),
                                         optimizer=optimizer))
    return results[0] if len(results) == 1 else results


def _per_optimizer(record: Any, index: int) -> Any:
    """``record=`` for optimizer ``index`` of several: its run name suffixed; a sink is
    shared (each run opens and closes it in turn)."""
    items = list(record) if isinstance(record, list | tuple) else [record]
    return [f"{x} (optimizer {index})" if isinstance(x, str) else x for x in items]


def _length(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def scheduled(optimizer: torch.optim.Optimizer, schedule: Any, *, policy: str = "one_cycle",
              total_steps: int | None = None, **params: Any) -> dict[str, Any]:
    """What ``configure_optimizers`` returns to train ``optimizer`` on ``schedule``, stepped
    after every update: a `Schedule` or its dict as designed, or a range test's result (or
    a suggestion) sized by `clr_core.integrations.common.schedule_for` into ``policy`` over
    ``total_steps`` (``self.trainer.estimated_stepping_batches`` in the module). Param
    groups keep their LR ratios (the largest group follows the schedule)."""
    if isinstance(schedule, Mapping):
        schedule = from_dict(schedule)
    if not isinstance(schedule, Schedule):
        if total_steps is None:
            raise ConfigError("total_steps is needed to size a schedule from a range test "
                              "(self.trainer.estimated_stepping_batches in configure_optimizers)")
        schedule = schedule_for(schedule, policy, total_steps=int(total_steps), **params)
    return {"optimizer": optimizer,
            "lr_scheduler": {"scheduler": schedule.to_torch(optimizer), "interval": "step",
                             "frequency": 1}}
