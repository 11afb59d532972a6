"""A range test's suggestion handed to a schedule: the policies it can go to, and the
schedule it becomes there, sized by Smith's rule of thumb for the half cycle. The schedules
AdamW trains with today (linear warm-up + cosine, WSD) take the suggestion moved to their
own mean LR (``schedule_fit``), as the benchmark trains them."""

from __future__ import annotations

from clr_core.errors import ConfigError
from clr_core.schedules import make_schedule
from clr_core.schedules.rules import decay_steps_for, step_size_for, warmup_steps_for
from clr_core.suggest.schedule_fit import FITTED_POLICIES, fit_factor
from clr_core.suggest.types import MIN10_BASE_DIVISOR, Suggestion

__all__ = ["HANDOFF_LABELS", "HANDOFF_POLICIES", "VERIFY_ITERS", "short_label",
           "suggestion_to_schedule", "verify_schedule"]

#: How long Verify's short training runs (``clr_core.jobs.runners.verify_config``'s default),
#: so the peak a summary says Verify trains at is the one it trains at.
VERIFY_ITERS = 300

#: Schedules a suggestion can be handed to, as the pages and Verify's runs name them.
HANDOFF_LABELS = {
    "triangular": "CLR triangular",
    "one_cycle": "1cycle",
    "triangular2": "CLR triangular2",
    "exp_range": "CLR exp_range",
    "warmup_cosine": "Warm-up + cosine",
    "wsd": "WSD (warm-up, stable, decay)",
}
HANDOFF_POLICIES = tuple(HANDOFF_LABELS)


def short_label(policy: str) -> str:
    """A hand-off policy's name without its gloss, for a button or a run: "WSD"."""
    return HANDOFF_LABELS.get(policy, policy).split(" (")[0]


def _check(policy: str) -> None:
    if policy not in HANDOFF_POLICIES:
        raise ConfigError(f"policy must be one of {', '.join(HANDOFF_POLICIES)}; got {policy!r}")


def _warmup_schedule(policy: str, max_lr: float, total: int) -> dict:
    plan = {"policy": policy, "max_lr": max_lr, "total_steps": total,
            "warmup_steps": warmup_steps_for(total)}
    return {**plan, "decay_steps": decay_steps_for(total)} if policy == "wsd" else plan


def _fitted(policy: str, max_lr: float, total: int) -> tuple[dict, float]:
    """``policy`` over ``total`` steps with its peak moved to 1cycle's mean LR at ``max_lr``
    (``schedule_fit``), and the factor it was moved by."""
    plan = _warmup_schedule(policy, max_lr, total)
    factor = fit_factor(plan)
    return make_schedule(**{**plan, "max_lr": max_lr * factor}).to_dict(), factor


def verify_schedule(policy: str, *, max_lr: float, num_iter: int,
                    base_lr: float | None = None) -> dict:
    """The schedule Verify trains for a suggestion handed to ``policy``, sized to one short
    run of ``num_iter``: 1cycle over it; warm-up + cosine and WSD over it with the peak the
    hand-off gives them; Smith's CLR policies two whole cycles between ``base_lr`` (default
    max_lr / 6, ``recommended``'s ratio) and max_lr, as Smith (2015) compared CLR with a
    fixed LR."""
    _check(policy)
    if policy in FITTED_POLICIES:
        return _fitted(policy, max_lr, num_iter)[0]
    if policy == "one_cycle":
        return make_schedule("one_cycle", max_lr=max_lr, total_steps=num_iter).to_dict()
    base = base_lr if base_lr is not None else max_lr / MIN10_BASE_DIVISOR
    return make_schedule(policy, base_lr=base, max_lr=max_lr,
                         step_size_up=max(1, num_iter // 4)).to_dict()


def suggestion_to_schedule(suggestion: Suggestion, policy: str, iters_per_epoch: int, *,
                           epochs_per_step: float = 4) -> tuple[dict, str]:
    """A suggestion as a schedule dict for the designer, and a line saying how it was
    sized: Smith (2015) takes a half cycle of 2-10 epochs (here ``epochs_per_step``);
    1cycle is one whole cycle of two such halves, starting at its own max_lr / 10, and so
    are warm-up + cosine and WSD (10 % warm-up; WSD cools down over the last 20 %), whose
    peak is moved to keep 1cycle's mean LR (``schedule_fit.for_schedule``: WSD's is lower).
    Parameters the suggestion does not set take the policy's defaults."""
    _check(policy)
    step = step_size_for(iters_per_epoch, epochs_per_step)
    if policy in FITTED_POLICIES:
        schedule, factor = _fitted(policy, suggestion.max_lr, 2 * step)
        # its own terms: a warm-up + cosine or WSD run has no half cycles to speak of
        note = (f"From the range test ({suggestion.method}): max_lr {suggestion.max_lr:.3g}; one "
                f"run of {2 * step} steps ({2 * epochs_per_step:g} epochs of {iters_per_epoch} "
                f"iterations), {schedule['warmup_steps']} of them warming up.")
        if factor != 1.0:
            note += (f" For WSD, which holds its peak for most of the run, max_lr x "
                     f"{factor:.2f} = {schedule['max_lr']:.3g} keeps 1cycle's mean LR.")
        return schedule, note
    if policy == "one_cycle":
        schedule = make_schedule("one_cycle", max_lr=suggestion.max_lr, total_steps=2 * step)
    else:
        schedule = make_schedule(policy, base_lr=suggestion.base_lr, max_lr=suggestion.max_lr,
                                 step_size_up=step)
    note = (f"From the range test ({suggestion.method}): base_lr {suggestion.base_lr:.3g}, "
            f"max_lr {suggestion.max_lr:.3g}, step size {step} ({epochs_per_step:g} epochs of "
            f"{iters_per_epoch} iterations).")
    return schedule.to_dict(), note
