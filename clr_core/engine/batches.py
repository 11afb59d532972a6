"""Batches and devices for the step the range test and training share (`loop.Stepper`):
a batch split into inputs and targets (pairs, dicts with the usual keys), numpy arrays
made tensors of the model's float type, everything moved to the device, the loader
restarted at an epoch's end, the right answers of a batch counted, and a validation pass
over a whole loader (`evaluate`). Kept apart from the step so each file reads on its own;
`clr_core.engine.loop` re-exports these names.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import Tensor

from clr_core.engine import distributed
from clr_core.engine.device import Precision, pick_device
from clr_core.engine.preflight import ambiguous_batch
from clr_core.errors import ConfigError

__all__ = [
    "Batches",
    "LoaderExhausted",
    "as_tensor",
    "count_correct",
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
