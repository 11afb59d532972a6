"""Smith's (2015) baselines to compare a schedule against, and the comparison itself.

CLR's claim is that it reaches a fixed LR's accuracy in fewer iterations; these plans
size each baseline to the run being compared and `compare_runs` measures the claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clr_core.engine.results import TrainResult
from clr_core.errors import ConfigError
from clr_core.schedules import Schedule, make_schedule
from clr_core.schedules.rules import base_lr_for
from clr_core.validation import check_int, check_lr_range

__all__ = ["ADAM_LR", "BASELINES", "SF_ADAMW_LR", "SF_WARMUP_SHARE", "BaselineInfo", "baseline_lrs", "baseline_plan", "compare_runs"]

#: Adam's baseline LR: Kingma & Ba's default. A range test run with SGD does not transfer
#: to Adam, and Smith (2015) compared adaptive methods at their usual settings.
ADAM_LR = 1e-3


@dataclass(frozen=True)
class BaselineInfo:
    label: str
    description: str


BASELINES: dict[str, BaselineInfo] = {
    "fixed": BaselineInfo(
        "Fixed LR (SGD)", "A constant LR = base_lr, like the paper's fixed 0.001 that became CLR's "
        "base_lr; the accuracy CLR should reach in fewer iterations."),
    "decay": BaselineInfo(
        "Linear decay (SGD)", "max_lr down to base_lr over the first half of the run, then flat "
        "(Smith 2015's control: decreasing alone is not enough)."),
    "step": BaselineInfo(
        "Step decay (SGD)", "Starts at max_lr and divides by 10 after each third of the run "
        "(Caffe 'step' / StepLR)."),
    "exp": BaselineInfo(
        "Exponential decay (SGD)", "max_lr * gamma**k, gamma chosen to reach base_lr at the end "
        "(Caffe 'exp')."),
    "adam": BaselineInfo(
        "Adam, fixed 1e-3", "An adaptive optimizer at its usual LR (Kingma & Ba's 1e-3), "
        "independent of the SGD range test."),
    "sf_sgd": BaselineInfo(
        "Schedule-free SGD", "No schedule: a 5% warm-up to max_lr, then constant, with iterate "
        "averaging instead of a decay (Defazio et al., 'The Road Less Scheduled', 2024); "
        "evaluated at the averaged weights."),
    "sf_adamw": BaselineInfo(
        "Schedule-free AdamW, 2.5e-3", "AdamW without a schedule at the schedulefree package's "
        "default LR 2.5e-3, 5% warm-up (Defazio et al. 2024); independent of the SGD range test."),
}
#: Schedule-free AdamW's LR: the `schedulefree` package's default (Defazio et al. 2024).
SF_ADAMW_LR = 2.5e-3
#: The schedule-free baselines' warm-up, a share of the run (Defazio et al. warm up too).
SF_WARMUP_SHARE = 0.05


def baseline_lrs(schedule: Schedule, num_iter: int) -> tuple[float, float]:
    """(max_lr, base_lr) the baselines are sized to: the schedule's peak over the run, and
    the one base_lr rule the app and the CLI share, 1cycle's max_lr / 10
    (`rules.base_lr_for`), raised to the schedule's own lowest LR when that is higher (a
    CLR schedule's base_lr is the fixed LR Smith compared against)."""
    lrs = schedule.lr(np.arange(num_iter))
    max_lr, min_lr = float(lrs.max()), float(lrs.min())
    rule = base_lr_for(max_lr, "one_cycle")
    return max_lr, (min_lr if rule < min_lr < max_lr else rule)


def baseline_plan(name: str, *, max_lr: float, base_lr: float,
                  num_iter: int) -> tuple[dict, str]:
    """(schedule dict, optimizer name) of a baseline sized to the run being compared."""
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; choose one of {sorted(BASELINES)}")
    base_lr, max_lr = check_lr_range(base_lr, max_lr, start_name="base_lr", end_name="max_lr")
    num_iter = check_int("num_iter", num_iter, lo=2)
    if name == "fixed":
        sched, opt = make_schedule("fixed", lr=base_lr), "sgd"
    elif name == "decay":
        sched = make_schedule("decay", base_lr=base_lr, max_lr=max_lr,
                              step_size=max(1, num_iter // 2))
        opt = "sgd"
    elif name == "step":
        sched = make_schedule("step", base_lr=max_lr, gamma=0.1, step_size=max(1, num_iter // 3))
        opt = "sgd"
    elif name == "exp":
        gamma = (base_lr / max_lr) ** (1.0 / num_iter)
        sched, opt = make_schedule("exp", base_lr=max_lr, gamma=gamma), "sgd"
    elif name in ("sf_sgd", "sf_adamw"):
        warmup = max(1, round(SF_WARMUP_SHARE * num_iter))
        lr = max_lr if name == "sf_sgd" else SF_ADAMW_LR
        sched = make_schedule("warmup_constant", max_lr=lr, warmup_steps=warmup)
        opt = "sgd_schedulefree" if name == "sf_sgd" else "adamw_schedulefree"
    else:  # adam
        sched, opt = make_schedule("fixed", lr=ADAM_LR), "adam"
    return sched.to_dict(), opt


def _as_result(r: TrainResult | Mapping) -> TrainResult:
    return r if isinstance(r, TrainResult) else TrainResult.from_dict(r)


def _first_reaching(result: TrainResult, target: float) -> int | None:
    for e in result.evals:
        if e.val_accuracy >= target:
            return int(e.iteration)
    return None


def compare_runs(results: Mapping[str, TrainResult | Mapping], *, reference: str | None = None,
                 fraction: float = 0.99) -> pd.DataFrame:
    """One row per run: accuracies and iterations to reach `fraction` of the reference's
    best accuracy (Smith 2015: CLR reaches fixed-LR accuracy in fewer iterations).

    The reference is `reference`, else the run named "fixed" (or whose name contains
    "fixed"), else the first run. `speedup` = reference's iterations / the run's."""
    if not results:
        return pd.DataFrame(columns=[
            "final_val_accuracy", "best_val_accuracy", "best_iteration", "iterations",
            "stop_reason", "elapsed_s", "target_accuracy", "iters_to_target", "speedup",
            "is_reference"])
    if not 0 < fraction <= 1:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction!r}")
    runs = {name: _as_result(r) for name, r in results.items()}
    if reference is None:
        reference = "fixed" if "fixed" in runs else next(
            (n for n in runs if "fixed" in n.lower()), next(iter(runs)))
    elif reference not in runs:
        raise ConfigError(f"reference {reference!r} is not one of the runs {sorted(runs)}")
    ref_best = runs[reference].best_val_accuracy
    target = ref_best * fraction if ref_best is not None else None
    ref_iters = _first_reaching(runs[reference], target) if target is not None else None

    rows = []
    for name, r in runs.items():
        iters = _first_reaching(r, target) if target is not None else None
        rows.append({
            "run": name,
            "final_val_accuracy": r.final_val_accuracy,
            "best_val_accuracy": r.best_val_accuracy,
            "best_iteration": r.best_iteration,
            "iterations": r.completed_iterations,
            "stop_reason": r.stop_reason,
            "elapsed_s": r.elapsed_s,
            "target_accuracy": target,
            "iters_to_target": iters,
            "speedup": (ref_iters / iters) if ref_iters and iters else None,
            "is_reference": name == reference,
        })
    df = pd.DataFrame(rows).set_index("run")
    for col in ("final_val_accuracy", "best_val_accuracy", "elapsed_s", "target_accuracy",
                "speedup"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("best_iteration", "iters_to_target"):
        df[col] = pd.array(df[col].tolist(), dtype="Int64")
    return df
