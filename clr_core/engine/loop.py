"""The training step the range test and training share, so they cannot disagree.

One place splits batches (pairs, dicts with the usual keys, or the caller's
``batch_to_inputs``), moves them to the device (numpy arrays converted to tensors on the
way), runs forward and backward under the one
mixed-precision policy (`precision_for`), accumulates gradients, restarts the loader at
the end of an epoch, evaluates, and decides when a run stops (cancel, loader exhausted,
non-finite loss, divergence). A range test and a training differ only in what they do
around each update (`drive`'s ``before_step`` / ``after_step``): the sweep's LR and
smoothing, or the schedule and its records.

The plain path (no accumulation, no AMP, no accuracy count) is kept as close to a bare
training loop as Python allows, one ``loss.item()`` per update and no per-step copies;
``bench/range_overhead.py`` measures it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import Tensor

from clr_core.engine import distributed
from clr_core.engine.clip import GradClip
from clr_core.engine.device import Precision, pick_device
from clr_core.engine.divergence import DivergenceCheck
from clr_core.engine.preflight import (
    ambiguous_batch,
    batch_fault,
    check_setup,
    check_val_loader,
    checked_loss,
    checked_split,
)
from clr_core.errors import ConfigError

__all__ = [
    "Batches",
    "DivergenceCheck",
    "LoaderExhausted",
    "Stepper",
    "as_tensor",
    "check_val_loader",
    "count_correct",
    "drive",
    "evaluate",
    "float_dtype_of",
    "model_device",
    "mover",
    "resolve_device",
    "split_batch",
]

_PAIR_TYPES = (tuple, list)
_X_KEYS = ("x", "input", "inputs", "image", "images", "data")
_Y_KEYS = ("y", "label", "labels", "target", "targets")


# ------------------------------------------------------------------ batches, devices


def split_batch(batch):
    """(inputs, targets) from a pair (x, y) or a dict with usual keys (longer: refused)."""
    if isinstance(batch, _PAIR_TYPES):
        if len(batch) < 2:
            raise ConfigError("a batch tuple/list needs (inputs, targets); pass batch_to_inputs")
        if len(batch) > 2:
            raise ambiguous_batch(len(batch))
        return batch[0], batch[1]
    if isinstance(batch, dict):
        x = next((batch[k] for k in _X_KEYS if k in batch), None)
        y = next((batch[k] for k in _Y_KEYS if k in batch), None)
        if x is None or y is None:
            raise ConfigError(
                f"dict batch needs one of {_X_KEYS} and one of {_Y_KEYS}, got keys "
                f"{sorted(batch)}; pass batch_to_inputs"
            )
        return x, y
    raise ConfigError(
        f"unsupported batch type {type(batch).__name__}; pass batch_to_inputs(batch) -> (x, y)"
    )


def as_tensor(array: np.ndarray, float_dtype: torch.dtype | None = None) -> Tensor:
    """A numpy batch as a tensor, so a loader of numpy arrays trains like torch's own
    ``default_collate`` output. Floating arrays take ``float_dtype`` (the model's, see
    `float_dtype_of`; torch's default when None): numpy's float64 default would not match
    a float32 model's weights. Integers (class labels) and booleans keep their dtype. An
    array torch cannot hold (strings, objects) is refused by name."""
    if array.dtype.kind not in "biufc":
        raise ConfigError(f"a batch holds a numpy array of dtype {array.dtype}, which torch "
                          "cannot hold: convert it to numbers, or pass batch_to_inputs")
    t = torch.from_numpy(np.ascontiguousarray(array))
    if t.is_floating_point():
        return t.to(float_dtype or torch.get_default_dtype())
    return t


def float_dtype_of(model: torch.nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating-point parameter (None without one)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), None)


def mover(device: torch.device, float_dtype: torch.dtype | None = None) -> Callable:
    """A function moving tensors (or containers of them) to ``device``; a no-op for
    tensors already there; numpy arrays become tensors (`as_tensor`, floating ones in
    ``float_dtype``)."""

    def move(obj):
        if isinstance(obj, np.ndarray):
            obj = as_tensor(obj, float_dtype)
        if isinstance(obj, Tensor):
            return obj if obj.device == device else obj.to(device, non_blocking=True)
        if isinstance(obj, dict):
            return {k: move(v) for k, v in obj.items()}
        if isinstance(obj, _PAIR_TYPES):
            return type(obj)(move(v) for v in obj)
        return obj

    return move


def model_device(model: torch.nn.Module) -> torch.device:
    """Where the model's first parameter (or buffer) lives; CPU for an empty model."""
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def resolve_device(device, model: torch.nn.Module) -> torch.device:
    """``device`` (checked by `pick_device`), or where the model already is when None."""
    if device is None:
        return model_device(model)
    dev = pick_device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


class LoaderExhausted(Exception):
    """A loader that cannot be restarted (a one-shot iterator) ran out mid-run."""


class Batches:
    """Endless batches from ``loader``: restarted at the end of each epoch, because a
    run may be longer than one. A loader that yields nothing on a restart is spent
    (`LoaderExhausted`); one that never yielded a batch is a `ConfigError`. The last
    ``keep`` batches stay in ``recent`` (references only), so a non-finite loss can be
    blamed on its data (`preflight.batch_fault`) after the fact."""

    __slots__ = ("_it", "epoch", "loader", "recent", "served")

    def __init__(self, loader: Iterable, keep: int = 1) -> None:
        self.loader = loader
        self._it = iter(loader)
        self.served = 0
        self.epoch = 0
        self.recent: deque = deque(maxlen=keep)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            batch = next(self._it)
        except StopIteration:
            self.epoch += 1
            distributed.next_epoch(self.loader, self.epoch)  # a DistributedSampler's shuffle
            self._it = iter(self.loader)
            try:
                batch = next(self._it)
            except StopIteration:
                if not self.served:
                    raise ConfigError(
                        "the loader yielded no batches (a data set smaller than one batch "
                        "with drop_last?)"
                    ) from None
                raise LoaderExhausted(f"the loader ran out after {self.served} batches") from None
        self.served += 1
        self.recent.append(batch)
        return batch


def _batch_size(y) -> int:
    if isinstance(y, Tensor):
        return int(y.shape[0]) if y.ndim else 1
    return len(y)


def count_correct(out, y) -> Tensor | None:
    """Right answers in a batch, as a device tensor: argmax over classes for integer
    targets, the logit's sign for binary float targets (0/1); None if neither fits. One
    label per sample only: a sequence's targets (a language model's next characters) are
    scored by the validation loss, not by an accuracy per sample."""
    if not isinstance(out, Tensor) or not isinstance(y, Tensor):
        return None
    if out.ndim == 2 and out.shape[1] > 1 and not y.is_floating_point() and y.ndim == 1:
        return (out.argmax(1) == y).sum()
    if y.is_floating_point() and out.shape == y.shape:
        return ((out > 0) == (y > 0.5)).sum()
    return None


# ------------------------------------------------------------------------ the step


class Stepper:
    """One optimizer update per `step()` call: batches, split, device move, forward
    under the precision policy, (scaled) backward over ``accumulation_steps``
    micro-batches, optimizer step. Returns the loss (mean over micro-batches) as a
    Python float: one device sync per update. With ``count_correct`` the update's
    accuracy is left in ``accuracy`` (NaN when the task is not classification)."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable,
        loader: Iterable,
        *,
        device: torch.device,
        precision: Precision,
        accumulation_steps: int = 1,
        batch_to_inputs: Callable | None = None,
        count_correct: bool = False,
        grad_clip_norm: float | None = None,
        grad_clip_value: float | None = None,
    ) -> None:
        check_setup(model, optimizer)  # meta tensors, closure optimizers: refused now
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.batches = Batches(loader, keep=accumulation_steps)
        self.device = device
        self.precision = precision
        self.scaler = precision.scaler()
        self.accumulation_steps = accumulation_steps
        self.split = batch_to_inputs if batch_to_inputs is not None else split_batch
        self.fast_split = batch_to_inputs is None
        self.move = mover(device, float_dtype_of(model))
        self.count_correct = count_correct
        self.accuracy = math.nan
        self.clip = GradClip(optimizer, grad_clip_norm, grad_clip_value)
        plain = (accumulation_steps == 1 and not precision.enabled and not count_correct
                 and not self.clip.active)
        self.step: Callable[[], float] = self._plain_step if plain else self._full_step

    def first_step(self) -> float:
        """The first update, its batch and loss checked first (`preflight`)."""
        loss_fn, split, fast = self.loss_fn, self.split, self.fast_split
        self.loss_fn = checked_loss(loss_fn)
        self.split, self.fast_split = checked_split(split, own=not fast), False
        try:
            return self.step()
        finally:
            self.loss_fn, self.split, self.fast_split = loss_fn, split, fast

    def data_fault(self) -> str | None:
        """Why the last update's batches (all its micro-batches) could not give a finite
        loss, if the data is to blame (`preflight.batch_fault`); None otherwise."""
        for batch in self.batches.recent:
            fault = batch_fault(batch)
            if fault is not None:
                return fault
        return None

    def _plain_step(self) -> float:
        """The bare-loop path: nothing here that a hand-written loop lacks."""
        batch = next(self.batches)
        if self.fast_split and type(batch) in _PAIR_TYPES and len(batch) >= 2:
            x, y = batch[0], batch[1]
        else:
            x, y = self.split(batch)
        dev = self.device
        if type(x) is not Tensor or x.device != dev:
            x = self.move(x)
        if type(y) is not Tensor or y.device != dev:
            y = self.move(y)
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def _full_step(self) -> float:
        n_micro = self.accumulation_steps
        scaler = self.scaler
        total = right = None
        seen = 0
        classified = self.count_correct
        self.optimizer.zero_grad()
        for _ in range(n_micro):
            x, y = self.split(next(self.batches))
            x, y = self.move(x), self.move(y)
            with self.precision.autocast():
                out = self.model(x)
                loss = self.loss_fn(out, y)
            if classified:
                c = count_correct(out, y)
                classified = c is not None
                if classified:
                    right = c if right is None else right + c
                    seen += _batch_size(y)
            if n_micro > 1:
                loss = loss / n_micro
            (scaler.scale(loss) if scaler is not None else loss).backward()
            total = loss.detach() if total is None else total + loss.detach()
        if self.clip.active:
            if scaler is not None:  # clip the true gradients, not the loss-scaled ones
                scaler.unscale_(self.optimizer)
            self.clip()
        if scaler is not None:
            scaler.step(self.optimizer)
            scaler.update()
        else:
            self.optimizer.step()
        if classified:  # one sync for both numbers
            loss_value, n_right = torch.stack([total.float(), right.float()]).tolist()
            self.accuracy = n_right / seen if seen else math.nan  # an empty batch
            return loss_value
        self.accuracy = math.nan
        return total.item()


# ----------------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    val_loader: Iterable,
    loss_fn: Callable,
    *,
    device: torch.device,
    precision: Precision,
    batch_to_inputs: Callable | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[float, float] | None:
    """(val_loss, val_accuracy): means over the whole loader in eval mode (the mode is
    restored). Accuracy is NaN when the task is not classification. A loader that yields
    nothing (an empty iterable, or a one-shot iterator spent by an earlier pass) is a
    `ConfigError`: a row of NaN metrics would look like a model that diverged. None when ``should_stop()`` turns true between batches:
    a long validation pass must not hold up a cancel. Sums stay on the device, so there
    is one sync per pass, not per batch."""
    split = batch_to_inputs if batch_to_inputs is not None else split_batch
    move = mover(device, float_dtype_of(model))
    shared = distributed.active()
    if shared:  # every rank must reach the sums below: a cancel waits for the next update
        should_stop = None
    was_training = model.training
    model.eval()
    loss_sum = correct = None
    count = 0
    classified = True
    try:
        for batch in val_loader:
            if should_stop is not None and should_stop():
                return None
            x, y = split(batch)
            x, y = move(x), move(y)
            with precision.autocast():
                out = model(x)
                loss = loss_fn(out, y)
            bs = _batch_size(y)
            weighted = loss.detach().float() * bs
            loss_sum = weighted if loss_sum is None else loss_sum + weighted
            count += bs
            c = count_correct(out, y) if classified else None
            classified = c is not None
            if classified:
                correct = c if correct is None else correct + c
    finally:
        model.train(was_training)
    if shared:  # each rank's shard: sums over ranks, then the means (DistributedSampler)
        sums = [float(loss_sum) if loss_sum is not None else 0.0,
                float(correct) if classified and correct is not None else 0.0, float(count)]
        loss_total, right, count = distributed.reduce_sums(sums)
        if count:
            return loss_total / count, (right / count if classified else math.nan)
    if count == 0:
        raise ConfigError(
            "the validation loader yielded no batches (an empty data set, or a one-shot "
            "iterator such as a generator that an earlier validation pass used up): pass a "
            "list or a DataLoader, which can be read again for every validation")
    if classified:
        total, right = torch.stack([loss_sum, correct.float()]).tolist()
        return total / count, right / count
    return float(loss_sum.item()) / count, math.nan


# ------------------------------------------------------------------- stopping rules


def drive(
    stepper: Stepper,
    num_iter: int,
    *,
    after_step: Callable[[int, float], str | None],
    before_step: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    eval_every: int = 0,
    on_eval: Callable[[int], None] | None = None,
) -> str:
    """Run up to ``num_iter`` updates and return why the run stopped.

    Each update: the cancel check (before anything, so a cancel lands within one update),
    ``before_step(i)`` (set the LR), the update, ``after_step(i, loss)`` (record, emit,
    return a stop reason or None). A non-finite loss stops the run after it is recorded.
    ``on_eval(done)`` runs after every ``eval_every``-th update and after the last one
    (``eval_every`` 0: never). A non-finite loss whose batch is empty or holds NaN/inf
    values is a `ConfigError` naming the data (the LR is not to blame). Stop reasons: "completed", "cancelled",
    "loader exhausted", "non-finite loss" or what ``after_step`` returned.

    Under ``torchrun`` (`distributed`), ``loss`` is the mean over ranks and the cancel is
    any rank's, both shared by one all-reduce per update, so every rank stops together."""
    if distributed.active():
        with distributed.shared_failure():
            return _drive(stepper, num_iter, after_step=after_step, before_step=before_step,
                          should_stop=should_stop, eval_every=eval_every, on_eval=on_eval,
                          sync=distributed.StepSync())
    return _drive(stepper, num_iter, after_step=after_step, before_step=before_step,
                  should_stop=should_stop, eval_every=eval_every, on_eval=on_eval)


def _drive(stepper: Stepper, num_iter: int, *, after_step, before_step, should_stop,
           eval_every: int, on_eval, sync: distributed.StepSync | None = None) -> str:
    isfinite = math.isfinite
    step, first = stepper.step, stepper.first_step
    for i in range(num_iter):
        if sync is not None:
            if sync.stop:  # some rank was cancelled at the last update
                return "cancelled"
        elif should_stop is not None and should_stop():
            return "cancelled"
        if before_step is not None:
            before_step(i)
        try:
            loss = step() if i else first()
        except LoaderExhausted:
            return "loader exhausted"
        if sync is not None:
            loss = sync(loss, should_stop, stepper)
        if not isfinite(loss):
            fault = stepper.data_fault()
            if sync is not None:  # every rank raises, or none does
                faults = distributed.reduce_sums([0.0 if fault is None else 1.0])[0]
                if faults and fault is None:
                    fault = "another rank's batch holds NaN/inf values or is empty"
            if fault is not None:
                raise ConfigError(f"the loss is {loss} at update {i + 1} and the data, not "
                                  f"the learning rate, is at fault: {fault}; drop or repair "
                                  "such batches (e.g. with torch.nan_to_num, or skip "
                                  "empty ones)")
        reason = after_step(i, loss)
        if reason is None and not isfinite(loss):
            reason = "non-finite loss"
        if reason is not None:
            return reason
        done = i + 1
        if eval_every and (done % eval_every == 0 or done == num_iter):
            on_eval(done)
    return "completed"
