"""A range test's suggestion handed to a schedule: the policies it can go to, and the
schedule it becomes there, sized by Smith's rule of thumb for the half cycle."""

from __future__ import annotations

from clr_core.errors import ConfigError
from clr_core.schedules import make_schedule
from clr_core.schedules.rules import step_size_for
from clr_core.suggest.types import Suggestion

__all__ = ["HANDOFF_POLICIES", "suggestion_to_schedule"]

#: Schedules a suggestion can be handed to (their labels: ``clr_core.present.labels``).
HANDOFF_POLICIES = ("triangular", "one_cycle", "triangular2", "exp_range")


def suggestion_to_schedule(suggestion: Suggestion, policy: str, iters_per_epoch: int, *,
                           epochs_per_step: float = 4) -> tuple[dict, str]:
    """A suggestion as a schedule dict for the designer, and a line saying how it was
    sized: Smith (2015) takes a half cycle of 2-10 epochs (here ``epochs_per_step``);
    1cycle is one whole cycle of two such halves, starting at its own max_lr / 10.
    Parameters the suggestion does not set take the policy's defaults."""
    if policy not in HANDOFF_POLICIES:
        raise ConfigError(f"policy must be one of {', '.join(HANDOFF_POLICIES)}; got {policy!r}")
    step = step_size_for(iters_per_epoch, epochs_per_step)
    if policy == "one_cycle":
        schedule = make_schedule("one_cycle", max_lr=suggestion.max_lr, total_steps=2 * step)
    else:
        schedule = make_schedule(policy, base_lr=suggestion.base_lr, max_lr=suggestion.max_lr,
                                 step_size_up=step)
    note = (f"From the range test ({suggestion.method}): base_lr {suggestion.base_lr:.3g}, "
            f"max_lr {suggestion.max_lr:.3g}, step size {step} ({epochs_per_step:g} epochs of "
            f"{iters_per_epoch} iterations).")
    return schedule.to_dict(), note
