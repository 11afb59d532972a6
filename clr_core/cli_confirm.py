"""``clr-studio range-test --confirm N``: the range test, then short confirming trainings of
the planned schedule at the sweep's candidate peaks (the app's Confirm button), printed as
the page shows them: each trial, the winner beside the sweep's pick, the cost in trainings.

Kept beside `clr_core.cli`, which hands it its runner (``run``: progress bar, Ctrl-C,
recording), so the command line stays one module under the size limit."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pandas as pd

from clr_core.errors import ConfigError
from clr_core.jobs.confirm_job import DEFAULT_BUDGET, confirm_config
from clr_core.present.confirm import confirm_lines, trials_table
from clr_core.runs.reports import ConfirmReport, RangeTestReport
from clr_core.suggest.confirm import PRESETS
from clr_core.suggest.handoff import HANDOFF_POLICIES

__all__ = ["add_confirm_args", "confirm_after", "confirm_requested", "confirm_text"]

Run = Callable[[str, dict, argparse.Namespace], dict]


def add_confirm_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--confirm", type=float, default=None, metavar="TRAININGS",
                   help="after the sweep, confirm its peak with short trainings costing this "
                        f"many trainings of --budget ({', '.join(f'{c:g}' for c in PRESETS)}; "
                        "4 is the default cost on the page)")
    p.add_argument("--budget", type=int, default=DEFAULT_BUDGET,
                   help="steps of the training you plan (what --confirm's trials are shares of)")
    p.add_argument("--policy", choices=HANDOFF_POLICIES, default="one_cycle",
                   help="the schedule you plan to train with (default: 1cycle)")


def confirm_requested(a: argparse.Namespace) -> bool:
    """Whether --confirm was given; its numbers are checked now, before the sweep runs."""
    if a.confirm is None:
        return False
    if not a.confirm >= min(PRESETS):
        raise ConfigError(f"--confirm: a confirmation costs at least {min(PRESETS):g} "
                          f"training(s) of the budget; got {a.confirm:g}")
    if a.budget < 1:
        raise ConfigError(f"--budget: the planned training needs at least 1 step; got {a.budget}")
    return True


def confirm_text(report: ConfirmReport) -> str:
    """Each trial, then the outcome, as the page shows them."""
    table = trials_table(report.trials, budget=report.budget, metric=report.metric)
    with pd.option_context("display.width", 200):
        rows = table.to_string(index=False, float_format=lambda x: f"{x:.4g}", na_rep="-") \
            if len(table) else "no trial finished"
    return "\n".join([f"confirmation ({report.policy}, budget {report.budget} steps):", rows,
                      *confirm_lines(report)])


def confirm_after(range_out: dict, a: argparse.Namespace, run: Run) -> dict:
    """Run the confirmation of a finished range test and print it; its report (with the
    range test's under "range_test_report") is the command's result."""
    rt = RangeTestReport.from_dict(range_out)
    if rt.cancelled:  # Ctrl-C during the sweep: nothing to confirm
        return range_out
    config = confirm_config(rt.config, rt.range_test, budget=a.budget, trainings=a.confirm,
                            policy=a.policy)
    out = run("confirm", config, a)
    print(confirm_text(ConfirmReport.from_dict(out)))
    return {**out, "range_test_report": range_out}
