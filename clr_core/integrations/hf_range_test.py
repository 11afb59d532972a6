"""The LR range test on a Hugging Face ``Trainer`` as it is, trained as its own updates
will be (`clr_core.integrations.huggingface` re-exports `range_test` and `optimizer_steps`):
its model and the optimizer ``create_optimizer`` builds, ``get_train_dataloader()``,
``model(**batch).loss``, and from its ``TrainingArguments`` the clipping
(``max_grad_norm``), the precision (``bf16``/``fp16``) and ``gradient_accumulation_steps``.

Under ``torchrun`` the Trainer's arguments join the process group (accelerate) and its
loader is already this rank's shard; the model goes into ``DistributedDataParallel`` as
``Trainer.train`` puts it, and the engine's machinery (`clr_core.engine.distributed`) does
the rest: every rank sweeps the same LRs on the mean loss over ranks, stops at the same
update, restores its own model, and holds the same result; rank 0 alone records.
Needs no transformers import of its own: it only reads the Trainer it is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

import clr_core.engine.range_test as engine
from clr_core.engine import distributed
from clr_core.errors import ConfigError
from clr_core.integrations.common import record_range_test
from clr_core.runs.recorder import StoreLike, describe_call

__all__ = ["optimizer_steps", "range_test"]


def _loss_of(output: Any) -> Tensor | None:
    loss = output.get("loss") if isinstance(output, Mapping) else getattr(output, "loss", None)
    return loss if isinstance(loss, Tensor) else None



class _BatchLoss(nn.Module):
    """``model(**batch).loss`` as a forward: a batch in, its loss out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> Tensor:
        if not isinstance(batch, Mapping):
            raise ConfigError(f"a Trainer batch should be a dict of tensors, got {type(batch).__name__}")
        loss = _loss_of(self.model(**batch))
        if loss is None:
            raise ConfigError("the model returned no loss: the batches need labels "
                              "(model(**batch).loss)")
        return loss


def _loss(out: Tensor, _target: Any) -> Tensor:
    return out


def _whole_batch(batch: Any) -> tuple[Any, None]:
    return batch, None


def _precision(args: Any) -> str | bool:
    """The Trainer's mixed precision as the engine's ``amp``: "bfloat16" for ``bf16``,
    "float16" for ``fp16``, False for float32 (`device.precision_for` runs bfloat16 on a
    CPU too, as the Trainer does there)."""
    if getattr(args, "bf16", False):
        return "bfloat16"
    if getattr(args, "fp16", False):
        return "float16"
    return False


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)  # transformers' str enums, as their names


def optimizer_steps(trainer: Any, loader: Any = None) -> dict[str, int | None]:
    """The real run's step counts in optimizer updates, as ``Trainer.train`` counts them:
    per epoch ``ceil(len(loader) / gradient_accumulation_steps)`` batches of this process
    (the loader ``get_train_dataloader`` returns is already sharded by accelerate under
    ``torchrun``, so the world size is counted in it), and in all ``max_steps`` when set,
    else ``ceil(num_train_epochs x per_epoch)`` (transformers issue #18436: a warm-up
    counted in batches is ``gradient_accumulation_steps`` times too long)."""
    args = trainer.args
    accumulation = max(1, int(getattr(args, "gradient_accumulation_steps", 1) or 1))
    if loader is None:
        loader = trainer.get_train_dataloader()
    try:
        batches = len(loader)
    except TypeError:
        batches = None
    per_epoch = None if batches is None else max(1, math.ceil(batches / accumulation))
    max_steps = int(getattr(args, "max_steps", -1) or -1)
    if max_steps > 0:
        total = max_steps
    elif per_epoch is not None:
        total = math.ceil(float(args.num_train_epochs) * per_epoch)
    else:
        total = None
    return {"per_epoch": per_epoch, "total": total, "accumulation_steps": accumulation,
            "world_size": int(getattr(args, "world_size", 1) or 1)}


def range_test(trainer: Any, *, start_lr: float = 1e-7, end_lr: float = 10.0,
               num_iter: int = 100, mode: str = "exp", record: Any = None,
               store: StoreLike = None, **engine_kwargs: Any):
    """The LR range test on ``trainer`` as it is (see the module doc); returns the engine's
    `RangeTestResult`. It trains as the Trainer's own updates will, from its
    ``TrainingArguments``:

    * clipping: ``max_grad_norm`` (1.0 by default; 0 or None is off) as the global norm;
    * precision: ``bf16`` / ``fp16`` autocast (bfloat16 also on a CPU; float16 on a CPU,
      which transformers does not autocast there, stays float32);
    * accumulation: each LR step accumulates ``gradient_accumulation_steps`` batches, so the
      suggestion is for the batch the training uses;
    * the optimizer ``create_optimizer`` builds (its betas, eps, weight-decay groups) or the
      one the Trainer holds; its learning rate and the scheduler arguments are not used,
      since the sweep sets the LR.

    Every param group keeps its ratio to the largest. ``engine_kwargs`` go to
    `clr_core.engine.range_test.run_range_test` (``seed``, ``smooth_beta``...) and win over
    the Trainer's (``grad_clip_norm=``, ``amp=``, ``accumulation_steps=``).
    ``result.settings_used`` says what was taken (``result.summary()`` prints it), with
    the run's step counts in optimizer updates (`optimizer_steps`) for the hand-off;
    ``record=NAME`` records it to the run store, and takes TensorBoard / MLflow sinks too
    (``record=["hf test", TensorBoardSink("runs/tb")]``, `clr_core.trackers`)."""
    model = getattr(trainer, "model", None)
    if not isinstance(model, nn.Module) or not hasattr(trainer, "get_train_dataloader"):
        raise ConfigError(f"trainer must be a transformers Trainer, got {type(trainer).__name__}")
    args = getattr(trainer, "args", None)
    taken: dict[str, Any] = {}
    if "accumulation_steps" not in engine_kwargs:  # the caller's own count wins
        steps = getattr(args, "gradient_accumulation_steps", 1)
        engine_kwargs["accumulation_steps"] = steps if steps is not None else 1
        taken["accumulation_steps"] = "gradient_accumulation_steps"
    if "grad_clip_norm" not in engine_kwargs:
        engine_kwargs["grad_clip_norm"] = getattr(args, "max_grad_norm", None) or None
        taken["grad_clip_norm"] = "max_grad_norm"
    if "amp" not in engine_kwargs:
        engine_kwargs["amp"] = _precision(args)
        taken["precision"] = "bf16" if engine_kwargs["amp"] == "bfloat16" else \
            "fp16" if engine_kwargs["amp"] == "float16" else "fp32"
    had = trainer.optimizer
    try:
        optimizer = had if had is not None else trainer.create_optimizer()
        loader = trainer.get_train_dataloader()
        steps = optimizer_steps(trainer, loader)
        config = describe_call({"model": model, "optimizer": optimizer, "loader": loader,
                                "start_lr": start_lr, "end_lr": end_lr, "num_iter": num_iter,
                                "mode": mode, **engine_kwargs})
        config.update({"source": "huggingface",
                       "batch_size": int(trainer.args.per_device_train_batch_size),
                       "training_steps": steps["total"]})
        # under torchrun: in DDP, as Trainer.train wraps it (the engine then averages)
        stepper = distributed.wrap_model(_BatchLoss(model))

        def run(emit: Any):
            result = engine.run_range_test(stepper, optimizer, _loss, loader, start_lr=start_lr,
                                           end_lr=end_lr, num_iter=num_iter, mode=mode,
                                           batch_to_inputs=_whole_batch, emit=emit,
                                           **engine_kwargs)
            result.settings_used.update({
                "source": "huggingface",
                "optimizer": type(optimizer).__name__,
                "scheduler": f"{_plain(getattr(args, 'lr_scheduler_type', None))} "
                             "(ignored: the sweep sets the LR)",
                "optimizer_steps_per_epoch": steps["per_epoch"],
                "optimizer_steps": steps["total"],
                "world_size": steps["world_size"],
                "taken_from_trainer": taken})
            return result

        return record_range_test(run, config, label=record, store=store,
                                 iters_per_epoch=steps["per_epoch"],
                                 device=str(next(model.parameters()).device),
                                 optimizer=optimizer)
    finally:
        trainer.optimizer = had


