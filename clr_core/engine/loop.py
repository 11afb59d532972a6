"""The training loop the range test and training share, so they cannot disagree.

One place sets a run up (`prepared`: the device, the mixed-precision policy
(`precision_for`), the seeded RNG, the move to the device and, for a range test, the exact
restore), steps (`Stepper`: batches split, moved, forward and backward, gradients
accumulated and clipped, the loader restarted at an epoch's end) and decides when a run
stops (`drive`: cancel, loader exhausted, non-finite loss, divergence). A range test and a
training differ only in what they do around each update (`Hook`): the sweep's LR and its
curve, or the schedule and its records. The batches and the validation pass (`evaluate`)
are `clr_core.engine.batches`'s, re-exported here.

Why the set-up lives beside the loop: the range test and a training each worked out the
device, the precision and the `Stepper` on their own, and the range test also its RNG, its
move and its restore (issue 30); one context next to the step it prepares is one place to
read how a run starts and how it is put back.

The plain path (no accumulation, no AMP, no accuracy count) is kept as close to a bare
training loop as Python allows, one ``loss.item()`` per update and no per-step copies;
``bench/range_overhead.py`` measures it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch import Tensor

from clr_core.engine import distributed
from clr_core.engine.batches import (
    _PAIR_TYPES,
    Batches,
    LoaderExhausted,
    _batch_size,
    as_tensor,
    count_correct,
    evaluate,
    float_dtype_of,
    model_device,
    mover,
    resolve_device,
    split_batch,
)
from clr_core.engine.clip import GradClip
from clr_core.engine.device import Precision, precision_for
from clr_core.engine.divergence import DivergenceCheck
from clr_core.engine.preflight import (
    batch_fault,
    check_setup,
    check_val_loader,
    checked_loss,
    checked_split,
)
from clr_core.engine.restore import Snapshot, move_optimizer_state
from clr_core.errors import ConfigError

__all__ = [
    "Batches",
    "DivergenceCheck",
    "Hook",
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
    "prepared",
    "resolve_device",
    "split_batch",
]



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


# ------------------------------------------------------------------------ the set-up


def _put_back(model, optimizer, snap: Snapshot | None, home, dev) -> None:
    optimizer.zero_grad()
    if dev != home:
        model.to(home)
        move_optimizer_state(optimizer, home)
    if snap is not None:
        snap.restore(model, optimizer)


@contextlib.contextmanager
def prepared(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable,
             loader: Iterable, *, device, amp: bool | str, accumulation_steps: int = 1,
             batch_to_inputs: Callable | None = None, count_correct: bool = False,
             grad_clip_norm: float | None = None, grad_clip_value: float | None = None,
             go_home: bool = False, restore: bool = False,
             seed: int | None = None) -> Iterator[Stepper]:
    """The run's `Stepper` (its ``device`` and ``precision`` the resolved ones), the model
    on that device in train mode.

    A training leaves the model on its device (the weights to use). A range test
    (``go_home``) moves the model and its optimizer's state there and back, and with
    ``restore`` puts their weights, buffers and state back exactly (`restore.Snapshot`).
    ``seed``: torch seeded inside a forked RNG (cuda's too on a GPU), so the caller's RNG
    is left as it was."""
    home = model_device(model)
    dev = resolve_device(device, model)
    precision = precision_for(dev, amp)
    snap = Snapshot(model, optimizer) if restore else None
    with contextlib.ExitStack() as stack:
        if seed is not None:
            stack.enter_context(torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []))
            torch.manual_seed(seed)
        if not go_home:
            model.to(dev)
        else:
            # registered after fork_rng so it runs first: restore, then give the RNG back
            stack.callback(_put_back, model, optimizer, snap, home, dev)
            if dev != home:
                model.to(dev)
                move_optimizer_state(optimizer, dev)
        model.train()
        yield Stepper(model, optimizer, loss_fn, loader, device=dev, precision=precision,
                      accumulation_steps=accumulation_steps, batch_to_inputs=batch_to_inputs,
                      count_correct=count_correct, grad_clip_norm=grad_clip_norm,
                      grad_clip_value=grad_clip_value)


# ------------------------------------------------------------------------ the hooks


class Hook:
    """What a run does around each update of the shared loop, in fastai's manner (its
    ``LRFinder`` is a callback on the Learner's loop): the range test is an LR sweep and
    a curve recorder, a training a schedule recorder. Override what you need."""

    def before_step(self, i: int) -> None:
        """Before update ``i`` (set its LR)."""

    def after_step(self, i: int, loss: float) -> str | None:
        """After update ``i`` with its loss: record it; a stop reason ends the run."""
        return None


def _joined(hooks: Sequence[Hook]) -> tuple[Callable[[int], None] | None,
                                            Callable[[int, float], str | None] | None]:
    """The hooks' ``before_step`` and ``after_step`` as one call each, in order (the first
    stop reason wins); a single hook's own methods, so one hook costs no extra call."""
    befores = [h.before_step for h in hooks if type(h).before_step is not Hook.before_step
               or "before_step" in vars(h)]
    afters = [h.after_step for h in hooks]
    before = befores[0] if len(befores) == 1 else None
    if len(befores) > 1:
        def before(i: int) -> None:
            for b in befores:
                b(i)
    after = afters[0] if len(afters) == 1 else None
    if len(afters) > 1:
        def after(i: int, loss: float) -> str | None:
            for a in afters:
                reason = a(i, loss)
                if reason is not None:
                    return reason
            return None
    return before, after


# ------------------------------------------------------------------- stopping rules


def drive(
    stepper: Stepper,
    num_iter: int,
    *,
    hooks: Sequence[Hook] = (),
    after_step: Callable[[int, float], str | None] | None = None,
    before_step: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    eval_every: int = 0,
    on_eval: Callable[[int], None] | None = None,
) -> str:
    """Run up to ``num_iter`` updates and return why the run stopped.

    ``hooks`` (`Hook`) say what happens around each update; ``before_step`` /
    ``after_step`` are the same as plain functions (one or the other).

    Each update: the cancel check (before anything, so a cancel lands within one update),
    ``before_step(i)`` (set the LR), the update, ``after_step(i, loss)`` (record, emit,
    return a stop reason or None). A non-finite loss stops the run after it is recorded.
    ``on_eval(done)`` runs after every ``eval_every``-th update and after the last one
    (``eval_every`` 0: never). A non-finite loss whose batch is empty or holds NaN/inf
    values is a `ConfigError` naming the data (the LR is not to blame). Stop reasons: "completed", "cancelled",
    "loader exhausted", "non-finite loss" or what ``after_step`` returned.

    Under ``torchrun`` (`distributed`), ``loss`` is the mean over ranks and the cancel is
    any rank's, both shared by one all-reduce per update, so every rank stops together."""
    if hooks:
        before_step, after_step = _joined(hooks)
    if after_step is None:
        raise TypeError("drive() needs hooks or an after_step")
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
