"""Confirm on a Lightning module (issue 31): the halving of `run_confirmation` with each
trial a fresh module fitted by a fresh Trainer at the trial's peak and length, scored by
what ``validation_step`` logs."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import pytest
from tiny_stacks import DigitsModule

from clr_core.engine.confirm import plan_for, trial_steps
from clr_core.errors import ConfigError
from clr_core.integrations.lightning import range_test
from clr_core.integrations.lightning_confirm import confirm, validation_score
from clr_core.runs.reports import ConfirmReport, TrialCurve, report_from_dict
from clr_core.runs.store import RunStore

BUDGET = 16  # two epochs of the digits module's 8 batches


class _LRs(pl.Callback):
    """The largest param group's LR at each update of each fit, and the fit's last step."""

    def __init__(self) -> None:
        self.fits: list[tuple[list[float], int]] = []

    def on_fit_start(self, trainer, pl_module):
        self.fits.append(([], 0))

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        self.fits[-1][0].append(max(g["lr"] for g in optimizer.param_groups))

    def on_fit_end(self, trainer, pl_module):
        self.fits[-1] = (self.fits[-1][0], trainer.global_step)


@pytest.fixture(scope="module")
def lr_test():
    return range_test(DigitsModule(), start_lr=1e-5, end_lr=10, num_iter=40, seed=0)


def test_confirm_trains_a_fresh_module_per_trial_at_its_peak_and_length(lr_test, tmp_path):
    made: list[DigitsModule] = []

    def factory():
        made.append(DigitsModule())
        return made[-1]

    lrs = _LRs()
    heard = []
    out = confirm(factory, lr_test, budget=BUDGET, trainings=4,
                  trainer_kwargs={"accelerator": "cpu", "callbacks": [lrs],
                                  "default_root_dir": str(tmp_path)},
                  on_trial=lambda trial, metrics: heard.append((trial, metrics)))
    plan = plan_for(lr_test, trainings=4)
    assert out.plan == plan
    assert math.isclose(out.cost_in_trainings, plan.cost_in_trainings)
    assert len(out.trials) == sum(r.candidates for r in plan.rounds) == len(made) == len(heard)
    assert len({id(m) for m in made}) == len(made)  # a fresh module per trial
    for trial, (seen, steps), (told, metrics) in zip(out.trials, lrs.fits, heard, strict=True):
        assert told == trial and "val_loss" in metrics
        assert steps == len(seen) == trial_steps(BUDGET, trial.fraction)
        assert max(seen) <= trial.peak * (1 + 1e-9)  # the largest group follows the trial's peak
        if trial.fraction == 1.0:  # 16 steps of 1cycle come close to it
            assert max(seen) >= 0.5 * trial.peak
        assert math.isfinite(trial.score) and -1 <= trial.score <= 0  # -val_acc, logged
    full = [t for t in out.trials if t.fraction == 1.0]
    assert len(full) == plan.rounds[-1].candidates  # the last round, at the full budget
    assert out.best_peak in {t.peak for t in full}
    assert {t.peak for t in out.trials[:len(plan.peaks)]} == set(plan.peaks)


def test_a_recorded_confirmation_is_stored_as_the_apps_confirm_run(lr_test, tmp_path):
    out = confirm(DigitsModule, lr_test, budget=BUDGET, trainings=1,
                  trainer_kwargs={"accelerator": "cpu", "default_root_dir": str(tmp_path)},
                  record="lightning confirm", store=tmp_path / "runs.db")
    store = RunStore(tmp_path / "runs.db")
    (summary,) = store.list_runs()
    run = store.load_run(summary.id)
    assert (run.kind, run.label, run.status) == ("confirm", "lightning confirm", "done")
    assert run.config["model"] == "DigitsModule" and run.config["budget"] == BUDGET
    report = report_from_dict(run.result)
    assert isinstance(report, ConfirmReport) and report.result.best_peak == out.best_peak
    assert report.metric == "accuracy"  # the module logs val_acc: scores are -accuracy
    trials = [TrialCurve.from_dict(e) for e in run.events if e.get("kind") == "trial"]
    for stored in (report.trials, trials):
        assert [(t.peak, t.fraction, t.seed, t.score) for t in stored] == \
            [(t.peak, t.fraction, t.seed, t.score) for t in out.trials]  # all finite: -val_acc
        assert [t.steps for t in stored] == [trial_steps(BUDGET, t.fraction) for t in out.trials]
        assert all(t.val_accuracy == -t.score and math.isfinite(t.val_loss) for t in stored)


def test_the_score_is_minus_the_accuracy_where_logged_else_the_loss():
    assert validation_score({"val_loss": 0.7, "val_acc": 0.9}) == -0.9
    assert validation_score({"val/loss": 0.7}) == 0.7
    assert math.isnan(validation_score({"val_loss": float("nan")}))
    with pytest.raises(ConfigError, match="logs no validation metric"):
        validation_score({"train_loss": 0.3})


@pytest.mark.parametrize(("call", "message"), [
    (lambda t: confirm(DigitsModule(), t, budget=8), "function returning a fresh LightningModule"),
    (lambda t: confirm(DigitsModule, "curve", budget=8), "RangeTestResult"),
    (lambda t: confirm(DigitsModule, t, budget=0), "budget"),
    (lambda t: confirm(DigitsModule, t, budget=8, trainings=0), "trainings"),
    (lambda t: confirm(DigitsModule, t, budget=8, trainer_kwargs={"max_steps": 3}),
     "may not set max_steps"),
    (lambda t: confirm(lambda: "net", t, budget=8), "must return a LightningModule"),
], ids=["module", "result", "budget", "trainings", "max_steps", "factory-returns"])
def test_bad_arguments_are_config_errors(lr_test, call, message):
    with pytest.raises(ConfigError, match=message):
        call(lr_test)
