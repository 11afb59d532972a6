"""The LR range test: Smith's linear sweep (2015) and fastai's exponential one.

Train for ``num_iter`` steps while the LR climbs from ``start_lr`` to ``end_lr``,
record the loss, stop once the smoothed loss blows up, then put the model and the
optimizer back exactly as they were. The loop is kept as close to a bare training
loop as possible (one ``loss.item()`` per step, Python floats, no per-step copies) so
the test costs what the training steps cost; ``bench/range_overhead.py`` measures it.

Design choices worth knowing:

* Reference group: with several param groups (discriminative LRs) the sweep LR is
  applied to the group with the largest initial LR (the first one on ties) and every
  other group keeps its ratio to it; ``lrs`` records the reference group's LR.
* Restore: parameters, buffers (persistent or not), gradients, train/eval flags and
  the optimizer's state and every group's hyper-parameters are copied to CPU memory
  before the sweep and copied back in a ``finally`` block, after a cancel or an
  exception too. Nothing is duplicated on the accelerator.
* Divergence: like fastai, stop when the debiased smoothed loss exceeds
  ``diverge_threshold`` x its best so far (checked from the 5th step on, and only
  while the best is positive: a threshold on a negative loss means nothing), or at
  the first non-finite loss, which is kept in ``losses``.
* Suggestions are computed by ``suggestions.suggest_all`` on the smoothed curve.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import Tensor

from .errors import ConfigError, RangeTestError
from .events import EVAL, STEP, Event
from .results import VAL_COLUMNS, RangeTestResult
from .suggestions import suggest_all

__all__ = [
    "MODES",
    "STOP_REASONS",
    "VAL_COLUMNS",
    "RangeTestResult",
    "lr_sequence",
    "run_range_test",
]

MODES = ("exp", "linear")
STOP_REASONS = ("completed", "diverged", "non-finite loss", "cancelled")
_DIVERGE_AFTER = 5  # steps before the divergence test may fire
_PAIR_TYPES = (tuple, list)
_X_KEYS = ("x", "input", "inputs", "image", "images", "data")
_Y_KEYS = ("y", "label", "labels", "target", "targets")


# -------------------------------------------------------------------- validation


def _real(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ConfigError(f"{name} must be a number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v):
        raise ConfigError(f"{name} must be finite, got {v}")
    return v


def _int(name: str, v, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ConfigError(f"{name} must be an int, got {type(v).__name__}")
    if v < lo:
        raise ConfigError(f"{name} must be >= {lo}, got {v}")
    return int(v)


def _normalise_mode(mode) -> str:
    m = {"exponential": "exp", "exp": "exp", "linear": "linear"}.get(
        mode.lower() if isinstance(mode, str) else None
    )
    if m is None:
        raise ConfigError(f"mode must be 'exp' or 'linear', got {mode!r}")
    return m


def lr_sequence(start_lr: float, end_lr: float, num_iter: int, mode: str = "exp") -> np.ndarray:
    """The LR of every step: ``start * (end/start) ** (i/(n-1))`` (exp) or a straight
    line (linear); the first and last steps hit ``start_lr`` and ``end_lr`` exactly."""
    start_lr = _real("start_lr", start_lr)
    end_lr = _real("end_lr", end_lr)
    num_iter = _int("num_iter", num_iter, 2)
    mode = _normalise_mode(mode)
    if start_lr <= 0 or end_lr <= 0:
        raise ConfigError(f"LRs must be positive, got start_lr={start_lr}, end_lr={end_lr}")
    if start_lr >= end_lr:
        raise ConfigError(f"start_lr ({start_lr}) must be below end_lr ({end_lr})")
    t = np.arange(num_iter, dtype=float) / (num_iter - 1)
    if mode == "exp":
        lrs = start_lr * (end_lr / start_lr) ** t
    else:
        lrs = start_lr + (end_lr - start_lr) * t
    lrs[0], lrs[-1] = start_lr, end_lr
    return lrs


# ------------------------------------------------------------------------ batches


def _split_batch(batch):
    """(inputs, targets) from a tuple/list (x, y, ...) or a dict with usual keys."""
    if isinstance(batch, (tuple, list)):
        if len(batch) < 2:
            raise ConfigError("a batch tuple/list needs (inputs, targets); pass batch_to_inputs")
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


def _mover(device: torch.device):
    """A function moving tensors (or containers of them) to ``device``; a no-op
    for tensors already there, so the CPU path costs one attribute compare."""

    def move(obj):
        if isinstance(obj, torch.Tensor):
            return obj if obj.device == device else obj.to(device, non_blocking=True)
        if isinstance(obj, dict):
            return {k: move(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(move(v) for v in obj)
        return obj

    return move


# ------------------------------------------------------------------ save / restore


def _cpu_copy(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", copy=True)


class _Snapshot:
    """Everything the sweep changes, copied to CPU memory (never a second copy on
    the accelerator), put back bit for bit by ``restore``."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.params = {}
        self.grads = {}
        for name, p in model.named_parameters():
            self.params[name] = _cpu_copy(p)
            self.grads[name] = None if p.grad is None else _cpu_copy(p.grad)
        self.buffers = {name: _cpu_copy(b) for name, b in model.named_buffers()}
        self.training = [m.training for m in model.modules()]
        self.groups = []
        for g in optimizer.param_groups:
            saved = {}
            for k, v in g.items():
                if k == "params":
                    continue
                if isinstance(v, torch.Tensor):
                    saved[k] = (v, v.detach().clone())
                elif isinstance(v, (list, dict)):
                    saved[k] = (None, _deep_copy_plain(v))
                else:
                    saved[k] = (None, v)
            self.groups.append(saved)
        self.state = {}
        for p, st in optimizer.state.items():
            self.state[p] = {
                k: ((_cpu_copy(v), v.device) if isinstance(v, torch.Tensor) else _deep_copy_plain(v))
                for k, v in st.items()
            }
        self.state_keys_are_tensors = {
            p: {k for k, v in st.items() if isinstance(v, torch.Tensor)} for p, st in optimizer.state.items()
        }

    @torch.no_grad()
    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        for name, p in model.named_parameters():
            if name in self.params:
                p.copy_(self.params[name])
                g = self.grads[name]
                if g is None:
                    p.grad = None
                elif p.grad is None:
                    p.grad = g.to(p.device)
                else:
                    p.grad.copy_(g)
        for name, b in model.named_buffers():
            if name in self.buffers:
                b.copy_(self.buffers[name])
        for m, flag in zip(model.modules(), self.training, strict=False):
            m.training = flag
        for g, saved in zip(optimizer.param_groups, self.groups, strict=False):
            for k in [k for k in g if k != "params" and k not in saved]:
                del g[k]
            for k, (orig, val) in saved.items():
                if orig is not None:
                    orig.copy_(val)
                    g[k] = orig
                else:
                    g[k] = _deep_copy_plain(val)
        optimizer.state.clear()
        for p, st in self.state.items():
            tens = self.state_keys_are_tensors[p]
            optimizer.state[p] = {
                k: (v[0].to(v[1], copy=True) if k in tens else _deep_copy_plain(v)) for k, v in st.items()
            }


def _deep_copy_plain(v):
    if isinstance(v, dict):
        return {k: _deep_copy_plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_deep_copy_plain(x) for x in v]
    if isinstance(v, torch.Tensor):
        return v.detach().clone()
    return v


def _restart(loader):
    """Start the loader again: a range test may be longer than one epoch."""
    it = iter(loader)
    try:
        return it, next(it)
    except StopIteration:
        raise RangeTestError("the loader yielded no batches") from None


def _finish(model, optimizer, snap, home, dev) -> None:
    optimizer.zero_grad()
    if dev != home:
        model.to(home)
        _move_state(optimizer, home)
    if snap is not None:
        snap.restore(model, optimizer)


def _move_state(optimizer, device) -> None:
    """Follow the model to ``device``: per-parameter buffers (momentum, moments) must
    sit with their parameter; 0-d entries such as Adam's ``step`` stay where they are."""
    for st in optimizer.state.values():
        for k, v in st.items():
            if isinstance(v, torch.Tensor) and v.ndim > 0:
                st[k] = v.to(device)


# ---------------------------------------------------------------------- validation


@torch.no_grad()
def _evaluate(model, loss_fn, val_loader, split, move, autocast) -> tuple[float, float]:
    """(accuracy, mean loss) over the whole ``val_loader`` in eval mode; sums stay on
    the device until the end so there is one sync per validation, not per batch."""
    was_training = model.training
    model.eval()
    try:
        loss_sum = None
        correct = None
        count = 0
        acc_ok = True
        for batch in val_loader:
            x, y = split(batch)
            x, y = move(x), move(y)
            with autocast():
                out = model(x)
                loss = loss_fn(out, y)
            bs = int(y.shape[0]) if isinstance(y, torch.Tensor) and y.ndim else 1
            lw = loss.detach().float() * bs
            loss_sum = lw if loss_sum is None else loss_sum + lw
            count += bs
            c = _correct(out, y) if acc_ok else None
            if c is None:
                acc_ok = False
            else:
                correct = c if correct is None else correct + c
        if count == 0:
            raise RangeTestError("val_loader yielded no batches")
        val_loss = float(loss_sum.item()) / count
        accuracy = float(correct.item()) / count if acc_ok and correct is not None else math.nan
        return accuracy, val_loss
    finally:
        model.train(was_training)


def _correct(out, y):
    """Number of correct predictions: argmax over classes for integer targets, sign of
    the logit for binary float targets; None if neither fits."""
    if not isinstance(out, torch.Tensor) or not isinstance(y, torch.Tensor):
        return None
    if out.ndim >= 2 and out.shape[1] > 1 and not y.is_floating_point() and y.ndim == out.ndim - 1:
        return (out.argmax(1) == y).sum()
    if y.is_floating_point() and out.shape == y.shape:
        return ((out > 0) == (y > 0.5)).sum()
    return None


# -------------------------------------------------------------------------- the test


def _model_device(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def run_range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable,
    loader: Iterable,
    *,
    start_lr: float,
    end_lr: float,
    num_iter: int,
    mode: str = "exp",
    smooth_beta: float = 0.98,
    diverge_threshold: float | None = 4.0,
    val_loader: Iterable | None = None,
    val_every: int = 0,
    accumulation_steps: int = 1,
    batch_to_inputs: Callable | None = None,
    device=None,
    callback: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    restore: bool = True,
    amp: bool = False,
    seed: int | None = None,
) -> RangeTestResult:
    """Sweep the LR over ``num_iter`` optimizer steps and return the loss curve.

    ``val_every``: validate on ``val_loader`` every that many steps (and at the last
    one) for Smith's accuracy-versus-LR test; 0 with a ``val_loader`` means every step.
    ``diverge_threshold=None`` disables the smoothed-loss stop (non-finite still stops).
    ``seed`` seeds torch inside a forked RNG, so the caller's RNG is left alone.
    """
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise ConfigError("loss_fn must be callable")
    if loader is None or not isinstance(loader, Iterable):
        raise ConfigError("loader must be an iterable of batches")
    mode = _normalise_mode(mode)
    lrs_all = lr_sequence(start_lr, end_lr, num_iter, mode)
    start_lr, end_lr = float(lrs_all[0]), float(lrs_all[-1])
    beta = _real("smooth_beta", smooth_beta)
    if not 0.0 <= beta < 1.0:
        raise ConfigError(f"smooth_beta must be in [0, 1), got {beta}")
    if diverge_threshold is not None:
        diverge_threshold = _real("diverge_threshold", diverge_threshold)
        if diverge_threshold <= 1.0:
            raise ConfigError(f"diverge_threshold must be > 1, got {diverge_threshold}")
    val_every = _int("val_every", val_every, 0)
    if val_loader is None and val_every:
        raise ConfigError("val_every is set but no val_loader was given")
    if val_loader is not None and not isinstance(val_loader, Iterable):
        raise ConfigError("val_loader must be an iterable of batches")
    if val_loader is not None and val_every == 0:
        val_every = 1
    accumulation_steps = _int("accumulation_steps", accumulation_steps, 1)
    if batch_to_inputs is not None and not callable(batch_to_inputs):
        raise ConfigError("batch_to_inputs must be callable")
    if callback is not None and not callable(callback):
        raise ConfigError("callback must be callable")
    if should_stop is not None and not callable(should_stop):
        raise ConfigError("should_stop must be callable")
    if seed is not None:
        seed = _int("seed", seed, 0)
    groups = optimizer.param_groups
    if not groups:
        raise ConfigError("optimizer has no param groups")

    home = _model_device(model)
    try:
        dev = home if device is None else torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ConfigError(f"unknown device {device!r}: {e}") from None
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    split = batch_to_inputs if batch_to_inputs is not None else _split_batch
    move = _mover(dev)
    amp_on = bool(amp) and dev.type in ("cuda", "cpu")
    if amp_on:
        amp_dtype = torch.float16 if dev.type == "cuda" else torch.bfloat16

        def autocast():
            return torch.autocast(device_type=dev.type, dtype=amp_dtype)

        scaler = torch.amp.GradScaler("cuda") if dev.type == "cuda" else None
    else:
        autocast = contextlib.nullcontext
        scaler = None

    # Reference group and the ratios the other groups keep to it.
    init = [float(g["lr"]) for g in groups]
    ref = int(np.argmax(init))
    ref_lr = init[ref]
    ratios = [(lr / ref_lr if ref_lr > 0 else 1.0) for lr in init]
    tensor_lr = [isinstance(g["lr"], torch.Tensor) for g in groups]
    simple = len(groups) == 1 and not tensor_lr[0]

    snap = _Snapshot(model, optimizer) if restore else None
    lr_list = lrs_all.tolist()
    fast_split = batch_to_inputs is None
    isfinite = math.isfinite
    losses: list[float] = []
    smoothed: list[float] = []
    val_rows: list[tuple[float, float, float, float]] = []
    stop_reason = "completed"
    diverged = False
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if seed is not None:
            stack.enter_context(torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []))
            torch.manual_seed(seed)
        # Registered after fork_rng so it runs first: restore, then give the RNG back.
        stack.callback(_finish, model, optimizer, snap, home, dev)
        if dev != home:
            model.to(dev)
            _move_state(optimizer, dev)
        model.train()
        # EmaSmoother's arithmetic, inlined: a method call per step is measurable here.
        avg, bias, one_minus = 0.0, 1.0, 1.0 - beta
        best = math.inf
        it = iter(loader)
        group0 = groups[0]
        zero_grad = optimizer.zero_grad
        step = optimizer.step
        plain = accumulation_steps == 1 and not amp_on
        for i in range(num_iter):
            if should_stop is not None and should_stop():
                stop_reason = "cancelled"
                break
            lr = lr_list[i]
            if simple:
                group0["lr"] = lr
            else:
                for g, r, is_t in zip(groups, ratios, tensor_lr, strict=True):
                    if is_t:
                        g["lr"].fill_(lr * r)
                    else:
                        g["lr"] = lr * r
            zero_grad()
            if plain:  # the bare-loop path: nothing here that a hand-written loop lacks
                try:
                    batch = next(it)
                except StopIteration:
                    it, batch = _restart(loader)
                if fast_split and type(batch) in _PAIR_TYPES and len(batch) >= 2:
                    x, y = batch[0], batch[1]
                else:
                    x, y = split(batch)
                if type(x) is not Tensor or x.device != dev:
                    x = move(x)
                if type(y) is not Tensor or y.device != dev:
                    y = move(y)
                loss = loss_fn(model(x), y)
                loss.backward()
                step()
                loss_value = loss.item()
            else:
                total = None
                for _ in range(accumulation_steps):
                    try:
                        batch = next(it)
                    except StopIteration:
                        it, batch = _restart(loader)
                    x, y = split(batch)
                    with autocast():
                        loss = loss_fn(model(move(x)), move(y))
                    if accumulation_steps > 1:
                        loss = loss / accumulation_steps
                    if scaler is not None:
                        scaler.scale(loss).backward()
                    else:
                        loss.backward()
                    total = loss.detach() if total is None else total + loss.detach()
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    step()
                loss_value = total.item()
            losses.append(loss_value)
            if not isfinite(loss_value):
                smoothed.append(math.nan)
                if i == 0:
                    raise RangeTestError(
                        f"the first loss is already {loss_value} at lr={lr:.3g}: "
                        "check the model, the data and the loss, not the LR"
                    )
                stop_reason, diverged = "non-finite loss", True
                if callback is not None:
                    callback(Event(STEP, i, lr=lr, loss=loss_value))
                break
            avg = beta * avg + one_minus * loss_value
            bias *= beta
            sm = avg / (1.0 - bias)
            smoothed.append(sm)
            if callback is not None:
                callback(Event(STEP, i, lr=lr, loss=loss_value, smoothed=sm))
            if val_every and (i % val_every == 0 or i == num_iter - 1):
                acc, vloss = _evaluate(model, loss_fn, val_loader, split, move, autocast)
                val_rows.append((float(i + 1), lr, acc, vloss))
                if callback is not None:
                    callback(Event(EVAL, i + 1, lr=lr, val_loss=vloss, val_accuracy=acc))
            if sm < best:
                best = sm
            elif (
                diverge_threshold is not None
                and i >= _DIVERGE_AFTER
                and best > 0
                and sm > diverge_threshold * best
            ):
                stop_reason, diverged = "diverged", True
                break

    lrs_arr = lrs_all[: len(losses)].copy()
    sm_arr = np.asarray(smoothed, dtype=float)
    accs = np.asarray(val_rows, dtype=float).reshape(-1, len(VAL_COLUMNS))
    suggestions = suggest_all(lrs_arr, sm_arr, mode=mode, accuracies=accs if accs.size else None)
    return RangeTestResult(
        lrs=lrs_arr,
        losses=np.asarray(losses, dtype=float),
        smoothed=sm_arr,
        diverged=diverged,
        stop_reason=stop_reason,
        accuracies=accs,
        suggestions=suggestions,
        mode=mode,
        start_lr=start_lr,
        end_lr=end_lr,
        num_iter=int(num_iter),
        elapsed_s=time.perf_counter() - t0,
        smooth_beta=beta,
        diverge_threshold=diverge_threshold,
        reference_group=ref,
        seed=seed,
    )
