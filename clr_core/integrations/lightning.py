"""CLR Studio in a PyTorch Lightning project, with the user's objects as they are.

* `StudioCallback`: ``Trainer(callbacks=[StudioCallback("my fit")])`` records the fit live
  to the run store: each optimizer update's loss, the LR and momentum of every param
  group (read just before ``optimizer.step()``, so the values that update used), each
  validation's logged metrics. A fit ended by an exception or Ctrl-C is marked "failed"
  or "cancelled" with everything recorded so far (Lightning hands callbacks the
  exception); the Runs page draws it as it trains.
* `range_test`: the LR range test on a ``LightningModule``: its ``configure_optimizers``
  builds the optimizer, its ``training_step`` is the loss, its ``train_dataloader`` (or a
  datamodule's, or loaders given) the data; the engine's `run_range_test` runs it and puts
  the module back bit for bit. Lightning's own ``lr_find`` neither restores the optimizer
  nor applies its suggestion (Lightning issues #6675, #9672, #1983, #3219).
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
from clr_core.errors import ConfigError
from clr_core.integrations.common import (
    LiveTraining,
    group_values,
    record_range_test,
    schedule_for,
)
from clr_core.runs.recorder import StoreLike, describe_call
from clr_core.schedules.base import Schedule
from clr_core.schedules.registry import from_dict

__all__ = ["StudioCallback", "first_optimizer", "range_test", "scheduled"]

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
    """Record ``Trainer.fit`` live to the run store under ``name`` (see the module doc).
    ``store``: a ``RunStore``, a path, or None for ``$CLR_STUDIO_DB`` (the app's)."""

    def __init__(self, name: str = "Lightning fit", *, store: StoreLike = None,
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


def first_optimizer(configured: Any) -> torch.optim.Optimizer:
    """The (first) optimizer among what ``configure_optimizers`` may return: an optimizer,
    a list or tuple of them, ``(optimizers, schedulers)``, or dicts with "optimizer"."""
    item = configured
    while True:
        if isinstance(item, torch.optim.Optimizer):
            return item
        if isinstance(item, Mapping) and "optimizer" in item:
            item = item["optimizer"]
        elif isinstance(item, list | tuple) and item:
            item = item[0]
        else:
            raise ConfigError("configure_optimizers returned no optimizer (got "
                              f"{type(configured).__name__}); the range test needs one")


class _StepLoss(nn.Module):
    """The module's ``training_step`` as a forward: a batch in, its loss out."""

    def __init__(self, module: pl.LightningModule) -> None:
        super().__init__()
        self.module = module
        self.batch_idx = 0

    def forward(self, batch: Any) -> Tensor:
        out = self.module.training_step(batch, self.batch_idx)
        self.batch_idx += 1
        loss = out.get("loss") if isinstance(out, Mapping) else out
        if not isinstance(loss, Tensor):
            raise ConfigError("training_step must return the loss (a tensor, or a dict with "
                              "'loss'); manual optimization cannot be range-tested this way")
        return loss


def _loss(out: Tensor, _target: Any) -> Tensor:
    return out


def _whole_batch(batch: Any) -> tuple[Any, None]:
    return batch, None


def _train_loader(module: pl.LightningModule, datamodule: Any, loader: Any) -> Any:
    if loader is not None:
        return loader
    if datamodule is not None:
        datamodule.prepare_data()
        datamodule.setup("fit")
        return datamodule.train_dataloader()
    try:
        return module.train_dataloader()
    except Exception as e:  # Lightning raises its own type when the hook is not overridden
        raise ConfigError("the module has no train_dataloader: pass datamodule= or "
                          f"train_dataloaders= ({type(e).__name__}: {e})") from e


def range_test(module: pl.LightningModule, *, datamodule: Any = None,
               train_dataloaders: Any = None, start_lr: float = 1e-7, end_lr: float = 10.0,
               num_iter: int = 100, mode: str = "exp", record: str | None = None,
               store: StoreLike = None, **engine_kwargs: Any):
    """The LR range test on ``module`` as it is (see the module doc); returns the engine's
    `RangeTestResult`, ``suggestions["recommended"]`` first among them. The optimizer is
    the first ``configure_optimizers`` returns, at its configured LRs (a scheduler it built
    is ignored); every param group keeps its ratio to the largest. The module's weights,
    buffers, gradients and train/eval flags are restored bit for bit afterwards.
    ``engine_kwargs`` go to `clr_core.engine.range_test.run_range_test` (``seed``,
    ``smooth_beta``, ``device``, ``accumulation_steps``...); ``record=NAME`` records it."""
    if not isinstance(module, pl.LightningModule):
        raise ConfigError(f"module must be a LightningModule, got {type(module).__name__}")
    optimizer = first_optimizer(module.configure_optimizers())
    for group in optimizer.param_groups:  # a scheduler's constructor may have moved it
        if "initial_lr" in group:
            group["lr"] = group.pop("initial_lr")
    loader = _train_loader(module, datamodule, train_dataloaders)
    stepper = _StepLoss(module)
    config = describe_call({"model": module, "optimizer": optimizer, "loader": loader,
                            "start_lr": start_lr, "end_lr": end_lr, "num_iter": num_iter,
                            "mode": mode, **engine_kwargs})
    config["source"] = "lightning"

    def run(emit: Any):
        with warnings.catch_warnings():  # self.log() outside a Trainer: a no-op, say nothing
            warnings.filterwarnings("ignore", message=".*self.log.*")
            return engine.run_range_test(stepper, optimizer, _loss, loader, start_lr=start_lr,
                                         end_lr=end_lr, num_iter=num_iter, mode=mode,
                                         batch_to_inputs=_whole_batch, emit=emit,
                                         **engine_kwargs)

    return record_range_test(run, config, label=record, store=store,
                             iters_per_epoch=_length(loader), device=str(module.device))


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
