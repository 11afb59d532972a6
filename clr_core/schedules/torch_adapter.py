"""A `Schedule` meeting a training loop: an `LRScheduler` stepped once per iteration.

The scheduler holds no formula of its own; it evaluates the closed form at `last_epoch`,
so it agrees with the preview by construction and its state is just the step count plus
the schedule's JSON config (restorable anywhere, unlike a lambda). It reads the schedule
through its public methods and rebuilds it through the registry, so it never imports the
`Schedule` class: the base class imports this module for `Schedule.to_torch`.

Several param groups: each group's lr is `schedule.lr(k) * lr_scale[i]`. By default the
scales are the groups' initial lr ratios to the largest one, so discriminative LRs (e.g.
a backbone at 1/10 of the head) keep their ratios and the largest group follows the
schedule exactly. Pass `lr_scale=[1.0] * n` to give every group the same LR. Momentum
is not scaled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from clr_core.errors import ScheduleError
from clr_core.schedules.registry import from_dict

__all__ = ["ScheduleLR"]


def _derived_scales(optimizer: Optimizer, resuming: bool) -> list[float]:
    key = "initial_lr" if resuming else "lr"
    lrs = [float(g.get(key, g["lr"])) for g in optimizer.param_groups]
    top = max(lrs)
    if not math.isfinite(top) or top <= 0:
        return [1.0] * len(lrs)
    return [lr / top for lr in lrs]


class ScheduleLR(LRScheduler):
    """Drives lr (and momentum: SGD/RMSprop `momentum`, Adam/AdamW `betas[0]`, torch's
    own rule) of every param group from a `Schedule`. After construction the optimizer's
    lr is `schedule.lr(0)`; after k `step()` calls it is `schedule.lr(k)`."""

    def __init__(
        self,
        optimizer: Optimizer,
        schedule: Any,
        lr_scale: Sequence[float] | None = None,
        last_epoch: int = -1,
    ) -> None:
        if isinstance(schedule, Mapping):
            schedule = from_dict(schedule)
        if not all(hasattr(schedule, a) for a in ("lr", "momentum", "to_dict")):
            raise ScheduleError(f"schedule: expected a Schedule or its dict, got "
                                f"{type(schedule).__name__}.")
        if not isinstance(optimizer, Optimizer):
            hint = (" (a scheduler: pass the optimizer it drives, scheduler.optimizer)"
                    if hasattr(optimizer, "optimizer") else "")
            raise ScheduleError(f"optimizer: to_torch needs a torch.optim.Optimizer, got "
                                f"{type(optimizer).__name__}{hint}.")
        n = len(optimizer.param_groups)
        if lr_scale is None:
            scales = _derived_scales(optimizer, resuming=last_epoch != -1)
        else:
            scales = [float(s) for s in lr_scale]
            if len(scales) != n:
                raise ScheduleError(f"lr_scale: needs one value per param group ({n}), got "
                                    f"{len(scales)}.")
            if not all(math.isfinite(s) and s > 0 for s in scales):
                raise ScheduleError(f"lr_scale: every value must be finite and > 0, got {scales}.")
        defaults = optimizer.defaults
        if schedule.has_momentum and "momentum" not in defaults and "betas" not in defaults:
            raise ScheduleError(f"momentum: {type(optimizer).__name__} has neither momentum nor "
                                "betas; use a schedule without momentum (no momentum bounds, "
                                "or cycle_momentum=False).")
        self._schedule = schedule
        self.schedule_config = schedule.to_dict()
        self.lr_scale = scales
        self.use_beta1 = "betas" in defaults
        super().__init__(optimizer, last_epoch)

    @property
    def schedule(self) -> Any:
        return self._schedule

    def _values(self) -> list[float]:
        k = self.last_epoch
        lr = float(self._schedule.lr(k))
        momentum = self._schedule.momentum(k)
        if momentum is not None:
            m = float(momentum)
            for group in self.optimizer.param_groups:
                if self.use_beta1:
                    group["betas"] = (m, *group["betas"][1:])
                else:
                    group["momentum"] = m
        return [lr * s for s in self.lr_scale]

    def get_lr(self) -> list[float]:
        """Values at `last_epoch`; like CyclicLR it also sets momentum as a side effect."""
        return self._values()

    def _get_closed_form_lr(self) -> list[float]:
        return self._values()

    def state_dict(self) -> dict[str, Any]:
        """Step count, scales and the schedule as its JSON config (no callables)."""
        state = super().state_dict()
        state.pop("_schedule", None)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore, rebuild the schedule from its config and re-apply the current values,
        so the optimizer matches even if its own state was not loaded."""
        state = dict(state_dict)
        state.pop("_schedule", None)
        self.__dict__.update(state)
        self._schedule = from_dict(self.schedule_config)
        for group, lr in zip(self.optimizer.param_groups, self._values(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
