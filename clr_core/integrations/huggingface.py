"""CLR Studio with a Hugging Face ``Trainer``, with the user's objects as they are.

* `StudioCallback`: ``Trainer(..., callbacks=[StudioCallback("my run")])`` records
  ``trainer.train()`` live to the run store: each optimizer update's loss (every forward
  in training mode that returns a ``loss``, averaged over the accumulated micro-batches),
  the LR and momentum of every param group as the update used them, each evaluation's
  metrics. The Trainer tells callbacks nothing of exceptions: use the callback as a
  context manager (``with cb: trainer.train()``) to mark a run that raised "failed" or
  "cancelled" at once, with the exception's message. Outside ``with``, a watch thread sees
  ``Trainer.train`` leave its thread's stack without ``on_train_end`` and ends the run
  "failed" within a second (the message then says only that it raised), so a notebook or
  server that lives on never shows a dead training as "running".
* `range_test`: the LR range test on a ``Trainer``: its model, the optimizer its
  ``create_optimizer`` builds (weight-decay groups included), its
  ``get_train_dataloader()``, ``model(**batch).loss``, and its
  ``gradient_accumulation_steps`` (each LR step accumulates that many batches, as the
  Trainer's updates do, so the suggestion is for the batch the training uses, not one that
  many times smaller), its ``max_grad_norm`` clipping and its bf16/fp16 precision; the
  model is restored bit for bit and the Trainer's optimizer put back as it was. The result
  names the settings it took (``settings_used``).
* `scheduler_args`: the recommendation as transformers' own scheduler: the arguments of
  ``get_scheduler`` and of ``TrainingArguments`` (warm-up and WSD step counts computed,
  transformers issue #34905).

Imports transformers at the top: only users of this module need it.
"""

from __future__ import annotations

import inspect
import math
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from transformers import Trainer, TrainerCallback, get_scheduler

from clr_core.errors import ConfigError, TrainingError
from clr_core.integrations.common import (
    LiveTraining,
    group_values,
    schedule_for,
)
from clr_core.integrations.hf_range_test import _loss_of, optimizer_steps, range_test
from clr_core.runs.recorder import StoreLike, describe_call
from clr_core.runs.recording import RecordLike

__all__ = ["HFSchedule", "StudioCallback", "hf_schedule", "optimizer_steps", "range_test",
           "scheduler_args"]


#: How often a run's watch looks whether ``Trainer.train`` is still running.
WATCH_S = 0.5
_TRAIN_CODE = inspect.unwrap(Trainer.train).__code__


def _train_frame() -> Any:
    """The frame of the ``Trainer.train`` call this callback runs in (None when a hook is
    called some other way, say by hand)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code is not _TRAIN_CODE:
        frame = frame.f_back
    return frame


def _on_stack(frame: Any, thread_id: int) -> bool:
    """Whether ``frame`` is still executing in thread ``thread_id``."""
    top = sys._current_frames().get(thread_id)
    while top is not None:
        if top is frame:
            return True
        top = top.f_back
    return False


class StudioCallback(TrainerCallback):
    """Record ``Trainer.train`` live to the run store under ``name`` (see the module doc).
    ``store``: a ``RunStore``, a path, or None for ``$CLR_STUDIO_DB`` (the app's).
    ``name`` is ``record=`` of the engine's runs: a sink or a list of a name and sinks
    writes the training to TensorBoard or MLflow too, or instead (`clr_core.trackers`)."""

    def __init__(self, name: RecordLike = "Hugging Face Trainer", *,
                 store: StoreLike = None) -> None:
        self.live = LiveTraining(name, store=store)
        self._hook: Any = None
        self._losses: list[Tensor] = []
        self._used: tuple[int, list[float], list[float]] | None = None
        self._lock = threading.RLock()  # the watch and the Trainer's thread end runs in turn
        self._watch_stop: threading.Event | None = None
        self._in_with = 0  # inside `with`, __exit__ ends a raised run with its exception

    def _watch(self, frame: Any) -> None:
        """End this run "failed" once ``frame`` (``Trainer.train``) has left its thread
        without ``on_train_end``: it raised, and the Trainer told no callback."""
        rec, thread_id, stop = self.live.recorder, threading.get_ident(), threading.Event()
        self._watch_stop = stop

        def watch() -> None:
            while not stop.wait(WATCH_S):
                with self._lock:
                    if stop.is_set() or rec is not self.live.recorder or rec.finished:
                        return
                    if not self._in_with and not _on_stack(frame, thread_id):
                        self._remove_hook()
                        self.live.end_by(TrainingError(
                            "Trainer.train raised before the training ended (the Trainer "
                            "does not pass exceptions to callbacks: use `with callback: "
                            "trainer.train()` to record the exception's message)"))
                        return

        threading.Thread(target=watch, name=f"clr-hf-watch-{rec.run_id}", daemon=True).start()

    def _end_watch(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None

    @property
    def run_id(self) -> int | None:
        """The run's id in the store once training has started."""
        return self.live.run_id

    def _capture(self, module: nn.Module, args: Any, output: Any) -> None:
        loss = _loss_of(output) if module.training else None
        if loss is not None:
            self._losses.append(loss.detach())

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       optimizer: Any = None, train_dataloader: Any = None, **kw: Any) -> None:
        config = describe_call({"model": model, "optimizer": optimizer,
                                "loader": train_dataloader, "device": args.device})
        accumulation = max(1, int(args.gradient_accumulation_steps))
        config.update({"source": "huggingface", "num_iter": int(state.max_steps),
                       "batch_size": int(args.per_device_train_batch_size),
                       "accumulation_steps": accumulation,
                       "param_groups": len(getattr(optimizer, "param_groups", []))})
        try:
            per_epoch = max(1, len(train_dataloader) // accumulation)
        except TypeError:
            per_epoch = None
        with self._lock:
            self._end_watch()
            rec = self.live.recorder
            if rec is not None and not rec.finished:  # a train() that raised, then a new one
                self.live.end_by(TrainingError(
                    "Trainer.train started again before this training ended (it raised, or "
                    "auto_find_batch_size restarted it)"))
            self.live.start(config, num_iter=int(state.max_steps), iters_per_epoch=per_epoch,
                            device=str(args.device))
            self._remove_hook()
            if isinstance(model, nn.Module):
                self._hook = model.register_forward_hook(self._capture)
            self._losses, self._used = [], None
            frame = _train_frame()
            if frame is not None:
                self._watch(frame)

    def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, optimizer: Any = None,
                              **kw: Any) -> None:
        self._used = (int(state.global_step), *group_values(optimizer))

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self._used is None:  # an optimizer step skipped (say, by the AMP scaler)
            return
        step, lrs, momenta = self._used
        loss = torch.stack(self._losses).float().mean().item() if self._losses else math.nan
        self.live.step(step, loss, lrs, momenta)
        self._losses, self._used = [], None

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None,
                    **kw: Any) -> None:
        metrics = dict(metrics or {})
        accuracy = next((metrics[k] for k in ("eval_accuracy", "eval_acc") if k in metrics), None)
        self.live.evaluated(int(state.global_step), val_loss=metrics.get("eval_loss"),
                            val_accuracy=accuracy,
                            metrics={k: v for k, v in metrics.items()
                                     if isinstance(v, int | float)})

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        with self._lock:
            self._end_watch()
            self._remove_hook()
            self.live.finish("done")

    def _remove_hook(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def __enter__(self) -> StudioCallback:
        self._in_with += 1
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        with self._lock:
            self._in_with -= 1
            if exc is not None:
                self._end_watch()
                self._remove_hook()
                self.live.end_by(exc)


@dataclass(frozen=True)
class HFSchedule:
    """A designed schedule as transformers' own scheduler computes it: ``learning_rate``
    (the optimizer's LR, which transformers scales) and ``get_scheduler``'s arguments."""

    learning_rate: float
    name: str
    num_warmup_steps: int | None
    num_training_steps: int | None
    scheduler_specific_kwargs: dict[str, Any] = field(default_factory=dict)

    def get_scheduler(self, optimizer: torch.optim.Optimizer) -> Any:
        """``transformers.get_scheduler`` on ``optimizer``, its groups set to
        ``learning_rate`` first (the largest group at it, the others kept in ratio)."""
        top = max(float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups)
        for g in optimizer.param_groups:
            g["lr"] = self.learning_rate * (float(g.pop("initial_lr", g["lr"])) / top
                                            if top > 0 else 1.0)
        return get_scheduler(self.name, optimizer, num_warmup_steps=self.num_warmup_steps,
                             num_training_steps=self.num_training_steps,
                             scheduler_specific_kwargs=self.scheduler_specific_kwargs or None)

    def training_args(self) -> dict[str, Any]:
        """Keyword arguments for ``TrainingArguments`` giving the same schedule."""
        out: dict[str, Any] = {"learning_rate": self.learning_rate,
                               "lr_scheduler_type": self.name}
        if self.num_warmup_steps is not None:
            out["warmup_steps"] = self.num_warmup_steps
        if self.num_training_steps is not None:
            out["max_steps"] = self.num_training_steps
        if self.scheduler_specific_kwargs:
            out["lr_scheduler_kwargs"] = dict(self.scheduler_specific_kwargs)
        return out


def scheduler_args(result: Any, policy: str = "warmup_cosine", *,
                   num_training_steps: int | None = None, trainer: Any = None,
                   **params: Any) -> HFSchedule:
    """The recommendation (a `RangeTestResult` or a suggestion) as a designed schedule of
    ``num_training_steps`` updates (`clr_core.integrations.common.schedule_for`), in the
    form transformers computes exactly; ConfigError for a policy it has no scheduler for.
    Without ``num_training_steps`` it is the ``trainer``'s optimizer steps
    (`optimizer_steps`: accumulation and epochs counted), else the range test's own count."""
    if num_training_steps is None:
        if trainer is not None:
            num_training_steps = optimizer_steps(trainer)["total"]
        else:
            num_training_steps = getattr(result, "settings_used", {}).get("optimizer_steps")
        if num_training_steps is None:
            raise ConfigError("num_training_steps is needed: pass it, or trainer= to count "
                              "the Trainer's optimizer steps")
    schedule = schedule_for(result, policy, total_steps=num_training_steps, **params)
    hf = hf_schedule(schedule)
    if hf is None:
        raise ConfigError(f"transformers has no scheduler that computes {policy!r} exactly; "
                          "use warmup_cosine, warmup_linear, warmup_constant, polynomial, "
                          "inverse_sqrt or wsd, or pass schedule.to_torch(optimizer) to the "
                          "Trainer as its lr_scheduler")
    return hf


def hf_schedule(schedule: Any) -> HFSchedule | None:
    """A designed `Schedule` as transformers' own scheduler, or None where transformers
    has none that computes it exactly (1cycle, a ramp)."""
    spec = None if schedule.has_ramp else schedule.hf_export()
    if spec is None:
        return None
    name, lr, kwargs = spec
    return HFSchedule(learning_rate=float(lr), name=str(name),
                      num_warmup_steps=kwargs.get("num_warmup_steps"),
                      num_training_steps=kwargs.get("num_training_steps"),
                      scheduler_specific_kwargs=dict(kwargs.get("scheduler_specific_kwargs") or {}))
