"""Confirming trainings (``clr_core.suggest.confirm``) against a synthetic ``train_at``: a bowl
in log-LR whose optimum moves up as the training gets shorter (a shorter run rewards a
larger LR), and which diverges past a known LR."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clr_core.errors import ClrError, ConfigError
from clr_core.suggest.confirm import (
    AGREE_FACTOR,
    PRESETS,
    ConfirmPlan,
    ConfirmResult,
    ConfirmRound,
    agrees,
    plan_confirmation,
    run_confirmation,
)


def bowl(opt_full: float, shift: float = 0.25, diverge: float = math.inf):
    """Score = squared decades from the optimum at that fraction, which is
    ``opt_full * fraction ** -shift``; NaN past ``diverge``. Records its calls."""
    calls = []

    def train_at(peak: float, fraction: float, seed: int) -> float:
        calls.append((peak, fraction, seed))
        if peak > diverge:
            return math.nan
        opt = opt_full * fraction ** -shift
        return (math.log10(peak) - math.log10(opt)) ** 2

    train_at.calls = calls
    return train_at


def sweep(lowest_at: float):
    """A range-test-like curve whose lowest loss is at ``lowest_at``."""
    lrs = np.geomspace(1e-7, 10, 100)
    losses = 1 + (np.log10(lrs) - math.log10(lowest_at)) ** 2 / 10
    losses[lrs > lowest_at * 30] = np.nan
    return lrs, losses


@settings(max_examples=40, deadline=None)
@given(cost=st.sampled_from(sorted(PRESETS)), lowest=st.floats(1e-5, 1.0),
       ratio=st.floats(0.01, 2.0), shift=st.floats(0.0, 0.6))
def test_cost_is_exact_and_the_pick_is_a_trained_peak(cost, lowest, ratio, shift):
    lrs, losses = sweep(lowest)
    plan = plan_confirmation(lrs, losses, trainings=cost)
    assert plan.cost_in_trainings == pytest.approx(cost)
    train_at = bowl(lowest * ratio, shift)
    res = run_confirmation(plan, train_at, seed=3)
    # every training was charged, at its own fraction, and the plan's cost is what ran
    assert res.cost_in_trainings == pytest.approx(sum(f for _, f, _ in train_at.calls))
    assert res.cost_in_trainings == pytest.approx(plan.cost_in_trainings)
    assert len(res.trials) == len(train_at.calls) == sum(r.candidates for r in plan.rounds)
    assert {s for _, _, s in train_at.calls} == {3}
    last = [t for t in res.trials if t.round == len(plan.rounds) - 1]
    assert res.best_peak in {t.peak * t.fraction ** plan.horizon_exponent for t in last}
    if plan.rounds[-1].fraction == 1.0:
        assert res.best_peak in {t.peak for t in res.trials}


def test_full_budget_round_corrects_the_short_rounds_overshoot():
    """The short round alone lands above the full-budget optimum (a shorter run's optimum is
    higher); the last round, at the full budget on both sides of that pick, brings it back."""
    lrs, losses = sweep(1e-2)
    plan = plan_confirmation(lrs, losses, trainings=4)
    short = plan.rounds[0].fraction
    # the optimum at the short round's length is a candidate, a third of a decade above the
    # full budget's
    opt, shift = plan.peaks[3] / 10 ** (1 / 3), (1 / 3) / math.log10(1 / short)
    res = run_confirmation(plan, bowl(opt, shift))
    first = min((t for t in res.trials if t.round == 0), key=lambda t: t.score)
    assert math.log10(first.peak / opt) == pytest.approx(1 / 3)
    assert math.log10(res.best_peak / opt) == pytest.approx(0.0, abs=1e-9)
    assert res.best_peak < first.peak


def test_horizon_exponent_scales_a_short_rounds_pick():
    lrs, losses = sweep(1e-2)
    plan = plan_confirmation(lrs, losses, trainings=2, horizon_exponent=0.5)
    res = run_confirmation(plan, bowl(1e-3, 0.5))
    best_third = min((t for t in res.trials if t.round == 1), key=lambda t: t.score)
    assert res.best_peak == pytest.approx(best_third.peak * (1 / 3) ** 0.5)


def test_diverged_candidates_never_win_and_all_diverged_gives_no_pick():
    lrs, losses = sweep(1e-2)
    plan = plan_confirmation(lrs, losses, trainings=4)
    res = run_confirmation(plan, bowl(1.0, 0.0, diverge=1e-3))  # optimum past the edge
    assert math.isfinite(res.best_peak) and res.best_peak <= 1e-3
    none = run_confirmation(plan, bowl(1.0, 0.0, diverge=1e-9))
    assert math.isnan(none.best_peak)


@pytest.mark.parametrize("after", [0, 1, 5, 9, 12])
def test_should_stop_is_honoured(after):
    lrs, losses = sweep(1e-2)
    plan = plan_confirmation(lrs, losses, trainings=4)
    train_at = bowl(1e-3)
    seen = []
    res = run_confirmation(plan, train_at, should_stop=lambda: len(train_at.calls) >= after,
                           on_trial=seen.append)
    total = sum(r.candidates for r in plan.rounds)
    assert len(train_at.calls) == min(after, total)
    assert res.stopped == (after < total)
    assert list(res.trials) == seen
    assert res.cost_in_trainings == pytest.approx(sum(t.fraction for t in res.trials))
    if after == 0:
        assert math.isnan(res.best_peak)
    else:  # picked among what ran, from the last round that finished (or the first, cut)
        assert any(res.best_peak == pytest.approx(t.peak) for t in res.trials)


def test_to_dict_round_trip_through_json():
    lrs, losses = sweep(1e-2)
    plan = plan_confirmation(lrs, losses, trainings=3, horizon_exponent=0.25)
    res = run_confirmation(plan, bowl(1e-3, 0.3, diverge=5e-3), seed=7)
    back = ConfirmResult.from_dict(json.loads(json.dumps(res.to_dict(), allow_nan=False)))
    assert back.plan == res.plan
    assert back.best_peak == res.best_peak and back.cost_in_trainings == res.cost_in_trainings
    assert len(back.trials) == len(res.trials)
    for a, b in zip(back.trials, res.trials, strict=True):
        assert (a.peak, a.fraction, a.seed, a.round) == (b.peak, b.fraction, b.seed, b.round)
        assert a.score == b.score or (math.isnan(a.score) and math.isnan(b.score))


def test_plan_brackets_the_sweep_and_widens_for_recommended():
    lrs, losses = sweep(1e-2)
    plan = plan_confirmation(lrs, losses, trainings=4)
    assert min(plan.peaks) == pytest.approx(1e-2 / 100, rel=0.1)
    assert max(plan.peaks) == pytest.approx(2e-2, rel=0.1)
    wide = plan_confirmation(lrs, losses, trainings=4, recommended=0.5)
    assert max(wide.peaks) == pytest.approx(1.5, rel=0.1)
    # the preset is the largest whose cost fits
    assert plan_confirmation(lrs, losses, trainings=5).cost_in_trainings == pytest.approx(4)


def test_a_flat_sweep_is_bracketed_under_the_last_lr_it_reached():
    """A sweep that learned nothing has its lowest point anywhere (noise): the candidates
    sit under the last LR the sweep reached, not around that point."""
    lrs = np.geomspace(1e-7, 10, 100)
    flat = 2.30 + 0.01 * np.sin(np.arange(100))  # falls by < 2 % of its start
    flat[40] = 2.27  # its lowest point: noise, at 1e-4 or so
    plan = plan_confirmation(lrs, flat, trainings=4)
    assert min(plan.peaks) == pytest.approx(10 * 1e-4, rel=0.01)
    assert max(plan.peaks) == pytest.approx(10 / 3, rel=0.01)
    falling = 2.3 - 0.3 * (np.log10(lrs) > -3)  # a 13 % fall: bracketed around its lowest
    assert max(plan_confirmation(lrs, falling, trainings=4).peaks) < 1e-2


def chance_until_full(opt_full: float):
    """Every trial shorter than the budget ends at chance (the same score: a plain CNN at
    1/6 of its budget learns nothing); the full budget is a bowl around ``opt_full``."""
    full = bowl(opt_full, 0.0)

    def train_at(peak: float, fraction: float, seed: int) -> float:
        return full(peak, fraction, seed) if fraction == 1.0 else 10.0

    return train_at


LAST_OF_THREE = ((6, 1 / 6), (3, 1.0, 1 / 3, 1))


def test_middle_ties_start_the_full_round_from_the_brackets_centre():
    """A first round where every score ties says nothing: "low" keeps its lowest peak and
    the full-budget round never reaches an optimum in the bracket's middle; "middle"
    centres that round there and lands within one step of it."""
    lrs, losses = sweep(1e-2)
    plans = {t: plan_confirmation(lrs, losses, rounds=LAST_OF_THREE, ties=t)
             for t in ("low", "middle")}
    centre = 10 ** float(np.mean(np.log10(plans["low"].peaks)))
    got = {t: run_confirmation(p, chance_until_full(centre)) for t, p in plans.items()}
    assert abs(math.log10(got["middle"].best_peak / centre)) <= 0.35
    assert abs(math.log10(got["low"].best_peak / centre)) > 0.7
    assert got["low"].best_peak <= min(plans["low"].peaks) * 10 ** (1 / 3) * (1 + 1e-9)
    for t, p in plans.items():  # same cost, and the setting survives a save
        assert got[t].cost_in_trainings == pytest.approx(4.0)
        assert ConfirmPlan.from_dict(json.loads(json.dumps(p.to_dict()))) == p


@settings(max_examples=30, deadline=None)
@given(cost=st.sampled_from(sorted(PRESETS)), lowest=st.floats(1e-5, 1.0),
       ratio=st.floats(0.01, 2.0), shift=st.floats(0.0, 0.6),
       rounds=st.sampled_from([None, LAST_OF_THREE]))
def test_middle_ties_change_nothing_where_no_scores_tie(cost, lowest, ratio, shift, rounds):
    lrs, losses = sweep(lowest)
    res = {t: run_confirmation(plan_confirmation(lrs, losses, trainings=cost, rounds=rounds,
                                                 ties=t), bowl(lowest * ratio, shift))
           for t in ("low", "middle")}
    rounds_scores = [[t.score for t in res["low"].trials if t.round == r] for r in range(3)]
    if all(len(set(np.round(sc, 12))) == len(sc) for sc in rounds_scores):
        # no two peaks of a round tied (a bowl's tie only by symmetry): the same trials
        assert res["middle"].best_peak == res["low"].best_peak
        assert [t.peak for t in res["middle"].trials] == [t.peak for t in res["low"].trials]


@pytest.mark.parametrize("bad", [
    lambda: plan_confirmation([1e-3, 1e-2], [1.0, 0.5], ties="high"),
    lambda: plan_confirmation([1e-3, 1e-2], [math.nan, math.nan]),
    lambda: plan_confirmation([1e-3, 1e-2], [1.0, 0.5], trainings=0.5),
    lambda: plan_confirmation([1e-3, 1e-2], [1.0, 0.5], recommended=-1.0),
    lambda: plan_confirmation([1e-3, 1e-2], [1.0]),
    lambda: ConfirmPlan((1e-3, 1e-2), (ConfirmRound(3, 0.5),)),
    lambda: ConfirmPlan((1e-3, 1e-2), (ConfirmRound(2, 1.5),)),
    lambda: ConfirmPlan((1e-3, 1e-2), (ConfirmRound(2, 0.5), ConfirmRound(3, 1.0))),
])
def test_bad_input_raises_a_config_error(bad):
    with pytest.raises(ConfigError) as e:
        bad()
    assert isinstance(e.value, ClrError)


@given(st.floats(1e-7, 10.0), st.floats(-3.0, 3.0))
def test_the_trainings_agree_with_the_sweep_exactly_within_the_factor_either_way(pick, decades):
    """Agreement is symmetric and scale-free: within AGREE_FACTOR above or below the pick."""
    best = pick * 10**decades
    inside = abs(decades) <= math.log10(AGREE_FACTOR)
    if abs(abs(decades) - math.log10(AGREE_FACTOR)) > 1e-6:  # off the boundary's rounding
        assert agrees(best, pick) is inside
        assert agrees(pick, best) is inside


def test_nothing_to_compare_is_neither_agreement_nor_disagreement():
    assert agrees(math.nan, 1e-3) is None  # no trial finished
    assert agrees(1e-3, None) is None  # no sweep pick to compare with
    assert agrees(1e-3, 0.0) is None
    assert agrees(1e-3, 1e-3) is True


def test_the_confirm_module_examples_hold():
    import doctest

    from clr_core.suggest import confirm

    assert doctest.testmod(confirm).failed == 0
