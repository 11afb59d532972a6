"""Short confirming trainings (`clr_core.engine.confirm`): each trial a fresh model trained on
the planned schedule at its peak for its share of the budget, scored on held-out data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clr_core.engine.confirm import (
    TrialRun,
    confirm_peak,
    make_train_at,
    plan_for,
    trial_schedule,
    trial_score,
    trial_steps,
)
from clr_core.engine.events import EVAL, Event
from clr_core.engine.range_test import run_range_test
from clr_core.engine.results import TrainResult
from clr_core.errors import ConfigError
from clr_core.range_test import confirm_peak as public_confirm_peak
from clr_core.setup.configs import RangeTestConfig, build

CFG = RangeTestConfig.from_dict({"num_iter": 40, "start_lr": 1e-4, "end_lr": 10.0})


@pytest.fixture(scope="module")
def swept():
    """A quick range test on digits, and its loaders."""
    b = build(CFG, lr=CFG.start_lr, with_val=True)
    rt = run_range_test(b.model, b.optimizer, b.loss_fn, b.loader, start_lr=CFG.start_lr,
                        end_lr=CFG.end_lr, num_iter=CFG.num_iter)
    return rt, b.loader, b.val_loader


def _setup():
    b = build(CFG, lr=0.1, with_val=False)
    return b.model, b.optimizer


def test_trial_length_is_its_share_of_the_budget_and_never_zero():
    assert trial_steps(300, 1 / 8) == 38
    assert trial_steps(300, 1.0) == 300
    assert trial_steps(5, 0.01) == 2  # a warm-up step and a cool-down step at least


def test_a_policy_name_is_sized_to_the_trial_like_verify_sizes_it():
    s = trial_schedule("one_cycle", peak=0.3, budget=160, fraction=0.25)
    assert s["policy"] == "one_cycle" and s["total_steps"] == 40 and s["max_lr"] == 0.3
    planned = {"policy": "warmup_cosine", "max_lr": 0.01, "total_steps": 160, "warmup_steps": 16}
    s = trial_schedule(planned, peak=0.3, budget=160, fraction=0.25)
    assert (s["total_steps"], s["warmup_steps"], s["max_lr"]) == (40, 4, pytest.approx(0.3))


def _result(stop: str, *evals: tuple[float, float]) -> TrainResult:
    r = TrainResult(stop_reason=stop)
    r.evals = [Event(EVAL, i, val_loss=loss, val_accuracy=acc) for i, (loss, acc) in enumerate(evals)]
    return r


def test_a_trial_is_scored_by_its_last_evaluation_lower_is_better():
    r = _result("completed", (2.0, 0.3), (0.5, 0.9))
    assert trial_score(r) == -0.9
    assert trial_score(r, "loss") == 0.5
    assert trial_score(_result("completed", (0.5, math.nan))) == 0.5  # no accuracy: the loss


@pytest.mark.parametrize("stop", ["diverged", "non-finite loss", "cancelled"])
def test_a_trial_that_did_not_finish_has_no_score(stop):
    assert math.isnan(trial_score(_result(stop, (0.5, 0.9))))
    assert math.isnan(trial_score(_result("completed")))


def test_train_at_trains_a_fresh_seeded_model_at_the_peak_for_its_share(swept):
    _, loader, val = swept
    made: list[TrialRun] = []

    def fresh(seed, lr):
        b = build(CFG.__class__.from_dict({**CFG.to_dict(), "seed": seed}), lr=lr, with_val=False)
        made.append(TrialRun(b.model, b.optimizer, b.loader, val))
        return made[-1]

    kept = {}
    train_at = make_train_at(fresh, budget=40, trainings=kept)
    first = train_at(0.2, 0.5, 0)
    again = train_at(0.2, 0.5, 0)
    other = train_at(0.2, 0.5, 1)
    assert len(made) == 3 and len({id(m.model) for m in made}) == 3  # never a used model
    # a fresh model per trial: the same trial twice reaches the same score, nothing restored
    assert again == first and -1.0 <= first < 0.0
    assert other != first or not np.allclose(
        made[0].model.state_dict()["net.1.weight"], made[2].model.state_dict()["net.1.weight"])
    run = kept[(0.2, 0.5, 0)]
    assert len(run.losses) == 20
    assert max(run.lrs) == pytest.approx(0.2, rel=0.02)  # 1cycle over 20 steps peaks there


def test_a_tiny_confirmation_on_digits_trains_its_plan_and_picks_a_trained_peak(swept):
    rt, loader, val = swept
    heard = []
    res = public_confirm_peak(rt, _setup, loader, val_loader=val, budget=16,
                              on_trial=lambda t, run: heard.append((t, len(run.losses))))
    plan = plan_for(rt)
    assert res.plan == plan
    n = len(plan.peaks)
    assert len(res.trials) == sum(min(r.candidates, n) for r in plan.rounds)
    assert [t for t, _ in heard] == list(res.trials)  # each trial heard as it ended
    assert all(steps == trial_steps(16, t.fraction) for t, steps in heard)
    assert res.cost_in_trainings == pytest.approx(plan.cost_in_trainings)
    assert res.best_peak in {t.peak for t in res.trials if math.isfinite(t.score)}
    assert res.best_peak in {t.peak for t in res.trials if t.fraction == 1.0}  # the full budget's


def test_cancel_stops_the_confirmation_and_leaves_the_cut_trial_out(swept):
    rt, loader, val = swept
    heard, calls = [], [0]

    def stop():  # true a few checks after the first trial ended: inside the second
        calls[0] += bool(heard)
        return calls[0] >= 3

    res = confirm_peak(rt, _setup, loader, val_loader=val, budget=80, should_stop=stop,
                       on_trial=lambda t, run: heard.append(run))
    assert len(heard) == 1 and heard[0].stop_reason == "completed"
    assert len(res.trials) == 1  # the first ended; the second was cut, and is not a result
    assert res.cost_in_trainings == pytest.approx(res.trials[0].fraction)


def test_without_validation_data_the_trials_cannot_be_compared(swept):
    rt, loader, _ = swept
    with pytest.raises(ConfigError, match="val_loader"):
        confirm_peak(rt, _setup, loader, budget=16)


def test_a_setup_that_returns_no_model_and_optimizer_is_named(swept):
    rt, loader, val = swept
    with pytest.raises(ConfigError, match=r"setup\(\) must return"):
        confirm_peak(rt, lambda: _setup()[0], loader, val_loader=val, budget=16)


@pytest.mark.parametrize("policy", ["warmup_cosine", "wsd", "one_cycle"])
@pytest.mark.parametrize("budget", [1, 2, 8, 11])
def test_a_trial_too_short_to_warm_up_still_gets_its_peak(policy, budget):
    """A one-step warm-up trial (a short budget at 1/8) trains at LR 0 only: its schedule is
    still built at the trial's peak, never a NaN max_lr (schedule_fit divided 0 by 0)."""
    for fraction in (1 / 8, 1 / 3, 1.0):
        sched = trial_schedule(policy, peak=0.1, budget=budget, fraction=fraction)
        assert math.isfinite(sched["max_lr"]) and 0 < sched["max_lr"] <= 0.1 * 1.5
