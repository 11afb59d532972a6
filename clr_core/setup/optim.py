"""Optimizers, and the one knob cyclical momentum turns on each of them.

SGD and RMSprop call it `momentum`; Adam and AdamW call it `betas[0]` (`OptimizerInfo`
says which, for the forms); `clr_core.engine.param_groups.get_momentum` reads it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from clr_core.errors import ConfigError
from clr_core.validation import check_number, check_probability

__all__ = ["OPTIMIZERS", "OptimizerInfo", "make_optimizer", "scaled_groups"]


@dataclass(frozen=True)
class OptimizerInfo:
    label: str
    description: str
    momentum_name: str  # "momentum" or "betas[0]"


OPTIMIZERS: dict[str, OptimizerInfo] = {
    "sgd": OptimizerInfo(
        "SGD (momentum)", "Smith's setting for CLR and 1cycle; momentum 0.9 by default.", "momentum"),
    "adam": OptimizerInfo(
        "Adam", "Adaptive; Smith (2015) found CLR helps it less than SGD. Momentum is betas[0].",
        "betas[0]"),
    "adamw": OptimizerInfo(
        "AdamW", "Adam with decoupled weight decay (Loshchilov & Hutter, \"Decoupled Weight "
        "Decay Regularization\", 2019): the decay shrinks the weights directly, not through "
        "the adaptive step; what transformers and ViTs train with (weight decay 0.01 to 0.1, "
        "beta2 0.95 to 0.999). Momentum is betas[0].", "betas[0]"),
    "rmsprop": OptimizerInfo(
        "RMSprop", "Adaptive; torch's default momentum is 0 (used when momentum is not given).",
        "momentum"),
    "sgd_schedulefree": OptimizerInfo(
        "Schedule-free SGD", "Defazio et al., 'The Road Less Scheduled', 2024: a constant LR, "
        "averaged iterates instead of a decay; evaluate after optimizer.eval().", "momentum"),
    "adamw_schedulefree": OptimizerInfo(
        "Schedule-free AdamW", "Defazio et al., 'The Road Less Scheduled', 2024: AdamW without a "
        "schedule; evaluate after optimizer.eval(). Momentum is betas[0].", "betas[0]"),
}


def scaled_groups(groups: list[dict], lr: float) -> list[dict]:
    """Param groups as a factory wrote them, at ``lr``: the group with the largest ``lr``
    gets ``lr`` and every other its written ratio to it (a group without ``lr``: ratio 1),
    the way the range test and the schedules treat discriminative LRs."""
    lr = check_number("lr", lr, lo=0.0, lo_open=True)
    written = [g.get("lr") for g in groups]
    for value in written:
        if value is not None:
            check_number("a param group's lr", value, lo=0.0, lo_open=True)
    top = max((float(v) for v in written if v is not None), default=None)
    out = []
    for g, value in zip(groups, written, strict=True):
        group = dict(g, params=list(g["params"]))
        group["lr"] = lr * (float(value) / top if value is not None and top else 1.0)
        out.append(group)
    return out


def make_optimizer(name: str, params: Iterable | nn.Module, *, lr: float,
                   momentum: float | None = None, weight_decay: float = 0.0,
                   nesterov: bool = False,
                   betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Optimizer:
    """A validated optimizer; bad values raise ConfigError naming the setting.

    `momentum=None` means the optimizer's usual value: 0.9 for SGD, 0 for RMSprop (torch's
    default), betas[0] for Adam/AdamW. Given explicitly, it replaces betas[0] for those."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    lr = check_number("lr", lr, lo=0.0, lo_open=True)
    if momentum is not None:
        momentum = check_probability("momentum", momentum)
    weight_decay = check_number("weight_decay", weight_decay, lo=0.0)
    if not isinstance(nesterov, bool):
        raise ConfigError(f"nesterov must be True or False, got {nesterov!r}")
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise ConfigError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    betas = (check_probability("betas[0]", betas[0]), check_probability("betas[1]", betas[1]))
    if nesterov and name != "sgd":
        raise ConfigError(f"nesterov applies to SGD only, not {name!r}")

    if isinstance(params, nn.Module):
        params = params.parameters()
    params = list(params)
    if not params:
        raise ConfigError("the optimizer got no parameters to train")

    if name == "sgd":
        m = 0.9 if momentum is None else momentum
        if nesterov and m <= 0:
            raise ConfigError("nesterov needs momentum > 0")
        return torch.optim.SGD(params, lr=lr, momentum=m, weight_decay=weight_decay,
                               nesterov=nesterov)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=0.0 if momentum is None else momentum,
                                   weight_decay=weight_decay)
    if name.endswith("_schedulefree"):
        return _schedule_free(name, params, lr=lr, momentum=momentum,
                              weight_decay=weight_decay, betas=betas)
    if momentum is not None:
        betas = (momentum, betas[1])
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, betas=betas, weight_decay=weight_decay)


def _schedule_free(name: str, params: list, *, lr: float, momentum: float | None,
                   weight_decay: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """Defazio et al.'s schedule-free optimizers, in train mode (the training loop switches
    them to eval mode, the averaged weights, around every evaluation)."""
    # deferred: the optional `schedulefree` package, needed only by these two optimizers
    import schedulefree

    if name == "sgd_schedulefree":
        m = 0.9 if momentum is None else momentum
        if not 0 < m < 1:
            raise ConfigError(f"momentum: schedule-free SGD interpolates with it, so it must be "
                              f"strictly between 0 and 1, got {m!r}")
        opt = schedulefree.SGDScheduleFree(params, lr=lr, weight_decay=weight_decay, momentum=m)
    else:
        if momentum is not None:
            betas = (momentum, betas[1])
        opt = schedulefree.AdamWScheduleFree(params, lr=lr, betas=betas,
                                             weight_decay=weight_decay)
    opt.train()
    return opt
