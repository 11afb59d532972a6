"""What the engines refuse before the first update, with a message saying what to change,
instead of a raw torch error mid-run or a run that quietly trains on the wrong thing.

Before anything runs (`check_setup`): a model with parameters on the meta device (no
data) or not yet materialised (``nn.LazyLinear`` before its first forward), an optimizer
holding only frozen parameters (nothing would train, yet the sweep would "complete" with a
recommendation), an optimizer whose ``step`` needs a closure (LBFGS), learning rates a
float32 optimizer cannot hold. On the first batch (`first_step`): a batch of three or more
items whose inputs and targets are ambiguous without ``batch_to_inputs``, and a loss that
is not a scalar tensor with a gradient (``reduction="none"``, a float from ``.item()``).
When a loss is not finite, `batch_fault` says whether the batch itself was to blame (empty,
or holding NaN/inf values), so the message names the data rather than the LR."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.nn.parameter import is_lazy

from clr_core.errors import ConfigError

__all__ = ["FLOAT32_MAX", "ambiguous_batch", "batch_fault", "check_lrs", "check_setup",
           "check_val_loader", "checked_loss", "checked_split"]

#: The largest LR a float32 optimizer step can use (torch refuses to convert larger ones).
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def check_setup(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Refuse a model or optimizer that cannot take a plain ``optimizer.step()``."""
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(f"optimizer must be a torch.optim.Optimizer, got "
                          f"{type(optimizer).__name__}")
    meta = next((n for n, t in [*model.named_parameters(), *model.named_buffers()]
                 if t.is_meta), None)
    if meta is not None:
        raise ConfigError(f"the model's {meta!r} is on the 'meta' device (a shape without "
                          "data): materialise it first, e.g. model.to_empty(device='cpu') "
                          "and load or initialise its weights")
    lazy = next((n for n, p in model.named_parameters() if is_lazy(p)), None)
    if lazy is not None:
        raise ConfigError(f"the model's {lazy!r} is not initialised yet (a lazy module such as "
                          "nn.LazyLinear learns its shape on its first forward): call the "
                          "model once on a batch, e.g. model(next(iter(loader))[0]), then "
                          "build the optimizer")
    params = {id(p) for p in model.parameters()}
    held = [p for g in optimizer.param_groups for p in g.get("params", [])]
    if params and held and not any(id(p) in params for p in held):
        raise ConfigError("the optimizer holds none of the model's parameters, so nothing "
                          "would train: build it from this model's parameters() (after "
                          "moving or copying the model)")
    if held and not any(getattr(p, "requires_grad", True) for p in held):
        raise ConfigError(f"every one of the {len(held)} parameters the optimizer holds is "
                          "frozen (requires_grad=False), so no update would change the model "
                          "and any curve or recommendation would be noise: unfreeze them, or "
                          "build the optimizer from the trainable ones, "
                          "[p for p in model.parameters() if p.requires_grad]")
    if _needs_closure(optimizer):
        raise ConfigError(f"{type(optimizer).__name__}.step() needs a closure that "
                          "re-evaluates the loss (a line-search optimizer); the range test "
                          "and training take one step per batch: use SGD, Adam or AdamW")
    check_lrs((g.get("lr") for g in optimizer.param_groups), "the optimizer's lr")


def _needs_closure(optimizer: torch.optim.Optimizer) -> bool:
    if isinstance(optimizer, torch.optim.LBFGS):
        return True
    try:
        param = inspect.signature(optimizer.step).parameters.get("closure")
    except (TypeError, ValueError):
        return False
    return param is not None and param.default is inspect.Parameter.empty


def check_lrs(lrs: Any, what: str) -> None:
    """Every LR finite, >= 0 and within float32 (what an optimizer step can hold)."""
    for lr in lrs:
        if isinstance(lr, Tensor):
            lr = float(lr)
        if not isinstance(lr, int | float) or isinstance(lr, bool):
            continue
        if not math.isfinite(lr) or lr < 0 or lr > FLOAT32_MAX:
            raise ConfigError(f"{what} is {lr:.3g}: an LR must be finite, >= 0 and at most "
                              f"{FLOAT32_MAX:.3g} (float32's largest), or the optimizer step "
                              "cannot be computed")


def ambiguous_batch(n: int) -> ConfigError:
    return ConfigError(
        f"each batch holds {n} items, so which are the inputs and which the targets is "
        "ambiguous (the default takes item 0 as inputs and item 1 as targets); pass "
        "batch_to_inputs, e.g. lambda b: ((b[0], b[1]), b[2]) or lambda b: (b[0], b[1]) to "
        "ignore the rest")


def checked_split(split: Callable[[Any], tuple[Any, Any]], *, own: bool = False) -> Callable:
    """`split` checked on a batch: the default one refuses a tuple of three or more items
    ((x1, x2, y) would train on x2 as the targets); a caller's own (`own`) must return an
    (inputs, targets) pair."""

    def check(batch: Any) -> tuple[Any, Any]:
        if not own and isinstance(batch, tuple | list) and len(batch) > 2:
            raise ambiguous_batch(len(batch))
        out = split(batch)
        if not isinstance(out, tuple | list) or len(out) != 2:
            what = f"a {type(out).__name__}" + (f" of {len(out)} items"
                                                 if isinstance(out, tuple | list) else "")
            raise ConfigError(f"batch_to_inputs must return (inputs, targets); it returned "
                              f"{what}")
        return out

    return check


def checked_loss(loss_fn: Callable) -> Callable:
    """`loss_fn` whose result must be a floating-point scalar tensor with a gradient."""

    def check(*args: Any, **kwargs: Any) -> Tensor:
        loss = loss_fn(*args, **kwargs)
        if not isinstance(loss, Tensor):
            raise ConfigError(
                f"the loss function returned a {type(loss).__name__}, not a tensor: return the "
                "loss tensor itself (no .item() or float()), so it can be back-propagated")
        if loss.numel() != 1:
            raise ConfigError(
                f"the loss is a tensor of shape {tuple(loss.shape)}, not a scalar: reduce it "
                "(reduction='mean' or 'sum', or loss.mean()) so there is one number to "
                "minimise")
        if not loss.is_floating_point():
            raise ConfigError(f"the loss has dtype {loss.dtype}; it must be a floating-point "
                              "tensor")
        if not loss.requires_grad:
            raise ConfigError(
                "the loss has no gradient: it does not depend on the model's trainable "
                "parameters (computed under torch.no_grad(), detached, or all parameters "
                "frozen)")
        return loss

    return check


def batch_fault(batch: Any) -> str | None:
    """What is wrong with a batch that made the loss NaN or inf, if the batch is to blame:
    an empty one (no samples: a mean over nothing is NaN) or one holding NaN/inf values.
    None when the batch looks fine (then the model, the loss or the LR are to blame).
    Called only after a non-finite loss, so the check costs nothing on the normal path."""
    for name, t in _tensors(batch, "the batch"):
        if t.ndim and t.shape[0] == 0:
            return f"{name}: no samples (shape {tuple(t.shape)})"
        if t.is_floating_point() or t.is_complex():
            bad = int((~torch.isfinite(t)).sum())
            if bad:
                what = "NaN" if bool(torch.isnan(t).any()) else "inf"
                return f"{name}: {bad} of {t.numel()} values are {what}"
    return None


def _tensors(obj: Any, name: str, depth: int = 0):
    """(name, tensor) for every tensor in a batch (pairs, dicts, nested a few levels)."""
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufc":
        obj = torch.from_numpy(obj)
    if isinstance(obj, Tensor):
        yield name, obj
    elif depth < 4 and isinstance(obj, dict):
        for k, v in obj.items():
            yield from _tensors(v, f"{name}'s {k!r}", depth + 1)
    elif depth < 4 and isinstance(obj, tuple | list):
        roles = ("inputs", "targets") if depth == 0 and len(obj) == 2 else None
        for i, v in enumerate(obj):
            yield from _tensors(v, f"{name}'s {roles[i] if roles else f'item {i}'}", depth + 1)


def check_val_loader(val_loader) -> None:
    """Refuse a validation loader that is not iterable or visibly empty, before training."""
    if val_loader is None:
        return
    if not isinstance(val_loader, Iterable):
        raise ConfigError("val_loader must be an iterable of batches")
    if hasattr(val_loader, "__len__") and len(val_loader) == 0:
        raise ConfigError("val_loader has no batches")
