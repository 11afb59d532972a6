"""Rules of thumb: step size, base_lr, cycle ends and training lengths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from clr_core.errors import ScheduleError
from clr_core.schedules import make_schedule, rules

TRI = {"base_lr": 0.001, "max_lr": 0.006}


def test_step_size_for():
    assert rules.step_size_for(500) == 2000  # Smith's CIFAR-10: 4 epochs of 500 iterations
    assert rules.step_size_for(250, 6) == 1500
    assert rules.step_size_for(391, 2) == 782
    assert rules.step_size_for(10, 2.5) == 25
    assert rules.step_size_for(1, 0.1) == 1  # never below one iteration
    assert isinstance(rules.step_size_for(np.int64(100), 3), int)


@pytest.mark.parametrize(("ipe", "factor", "needle"), [
    (0, 4, "iters_per_epoch"), (-5, 4, "iters_per_epoch"), (10.5, 4, "iters_per_epoch"),
    (True, 4, "iters_per_epoch"), (100, 0, "factor"), (100, -2, "factor"),
    (100, float("nan"), "factor"), (100, float("inf"), "factor"), (100, "4", "factor"),
])
def test_step_size_for_refuses(ipe, factor, needle):
    with pytest.raises(ScheduleError, match=needle):
        rules.step_size_for(ipe, factor)


def test_rules_table():
    assert {"clr_3", "clr_4", "one_cycle", "min10_base6", "annihilation"} <= set(rules.RULES)
    divisors = {"clr_3": 3, "clr_4": 4, "one_cycle": 10, "min10_base6": 6, "annihilation": 1000}
    for name, divisor in divisors.items():
        rule = rules.RULES[name]
        assert rule.name == name and rule.divisor == divisor
        assert rule.label and rule.explanation
        assert rules.base_lr_for(0.006, name) == pytest.approx(0.006 / divisor)
    assert rules.base_lr_for(0.012) == pytest.approx(0.003)  # default: /4


@pytest.mark.parametrize(("max_lr", "rule", "needle"), [
    (0.0, "clr_3", "max_lr"), (-1.0, "clr_3", "max_lr"), (float("nan"), "clr_3", "max_lr"),
    ("0.1", "clr_3", "max_lr"), (0.1, "clr_5", "rule"),
])
def test_base_lr_for_refuses(max_lr, rule, needle):
    with pytest.raises(ScheduleError, match=needle):
        rules.base_lr_for(max_lr, rule)


def test_cycle_ends_for_each_kind():
    tri = make_schedule("triangular", **TRI, step_size_up=100, step_size_down=50)
    assert rules.cycle_ends(tri, 600).tolist() == [150, 300, 450, 600]
    assert rules.cycle_ends(tri, 149).tolist() == []
    assert rules.cycle_ends(tri, 0).dtype == np.int64
    assert np.allclose(tri.lr(rules.cycle_ends(tri, 10_000)), 0.001)  # LR back at base
    one = make_schedule("one_cycle", max_lr=0.1, total_steps=300)
    assert rules.cycle_ends(one, 1000).tolist() == [300]
    assert rules.cycle_ends(one, 299).tolist() == []
    sgdr = make_schedule("cosine_restarts", max_lr=0.1, T_0=10, T_mult=2)
    assert rules.cycle_ends(sgdr, 100).tolist() == [10, 30, 70]
    ends = rules.cycle_ends(sgdr, 10_000)
    assert np.all(sgdr.lr(ends - 1) < 0.01)  # the LR was at the bottom just before
    flat = make_schedule("cosine_restarts", max_lr=0.1, T_0=25)
    assert rules.cycle_ends(flat, 100).tolist() == [25, 50, 75, 100]
    for policy, params in [("fixed", {"lr": 0.1}), ("exp", {"base_lr": 0.1, "gamma": 0.9}),
                           ("decay", {**TRI, "step_size": 10})]:
        assert rules.cycle_ends(make_schedule(policy, **params), 1000).size == 0
    with pytest.raises(ScheduleError, match="num_iterations"):
        rules.cycle_ends(tri, -1)
    with pytest.raises(ScheduleError, match="num_iterations"):
        rules.cycle_ends(tri, 10.5)


def test_epochs_per_cycle():
    tri = make_schedule("triangular", **TRI, step_size_up=2000)
    assert rules.epochs_per_cycle(tri, 500) == 8.0  # stepsize 4 epochs -> 8 epochs per cycle
    assert rules.epochs_per_cycle(make_schedule("fixed", lr=0.1), 500) is None
    assert rules.epochs_per_cycle(make_schedule("one_cycle", max_lr=0.1, total_steps=1000),
                                  100) == 10.0
    with pytest.raises(ScheduleError, match="iters_per_epoch"):
        rules.epochs_per_cycle(tri, 0)


def test_suggest_num_iterations():
    tri = make_schedule("triangular", **TRI, step_size_up=100)
    assert [rules.suggest_num_iterations(tri, t) for t in (1, 150, 299, 300, 301, 1000)] == [
        200, 200, 200, 400, 400, 1000]
    sgdr = make_schedule("cosine_restarts", max_lr=0.1, T_0=10, T_mult=10)  # ends 10, 110, 1110
    assert [rules.suggest_num_iterations(sgdr, t) for t in (1, 100, 600, 700, 6000)] == [
        10, 110, 110, 1110, 1110]
    assert rules.suggest_num_iterations(make_schedule("exp", base_lr=0.1, gamma=0.9), 123) == 123
    assert rules.suggest_num_iterations(
        make_schedule("one_cycle", max_lr=0.1, total_steps=700), 123) == 700
    with pytest.raises(ScheduleError, match="target"):
        rules.suggest_num_iterations(tri, 0)


@settings(max_examples=50, deadline=None)
@given(up=st.integers(1, 500), down=st.integers(1, 500), target=st.integers(1, 100_000),
       t_mult=st.integers(1, 4))
def test_suggestion_is_the_nearest_cycle_end(up, down, target, t_mult):
    for sched in (make_schedule("triangular", **TRI, step_size_up=up, step_size_down=down),
                  make_schedule("cosine_restarts", max_lr=0.1, T_0=up, T_mult=t_mult)):
        got = rules.suggest_num_iterations(sched, target)
        ends = rules.cycle_ends(sched, 4 * target + 4 * up * t_mult + 2 * down)
        assert got in ends
        assert abs(got - target) == np.abs(ends - target).min()


def test_a_planned_run_fitted_to_a_shorter_training_keeps_its_shares():
    planned = make_schedule("wsd", max_lr=0.02, total_steps=6536, warmup_steps=654,
                            decay_steps=1307).to_dict()
    fitted, note = rules.fit_to_length(planned, 300)
    assert (fitted["total_steps"], fitted["warmup_steps"], fitted["decay_steps"]) == (300, 30, 60)
    assert "654 → 30" in note and "1307 → 60" in note
    # the same LR at the same share of the run
    long, short = make_schedule(**planned).trace(6536), make_schedule(**fitted).trace(300)
    assert short.max() == pytest.approx(long.max()) and short[150] == pytest.approx(0.02)
    assert rules.fit_to_length(planned, 6536) == (planned, None)
    cyclic = {"policy": "triangular", "base_lr": 0.001, "max_lr": 0.006, "step_size_up": 100}
    assert rules.fit_to_length(cyclic, 300) == (cyclic, None)  # open-ended: as it is


PLANNED = ["wsd", "warmup_cosine", "warmup_linear", "polynomial", "one_cycle", "one_cycle3"]


def _planned_run(policy, total, warm, cool, ramp):
    """A planned run (warm, cool and ramp are shares of it), or None where the shares make
    no valid plan of `policy` (then Hypothesis draws again)."""
    warmup = int(warm * total)
    kw = {"warmup_steps": warmup}
    if policy == "wsd":
        kw["decay_steps"] = max(1, int(cool * (total - warmup)))
    elif policy.startswith("one_cycle"):
        kw = {"pct_start": min(max(warm, 0.01), 0.99), "three_phase": policy == "one_cycle3"}
        policy = "one_cycle"
    if ramp:  # the warm-up modifier; an exp ramp needs an LR above 0 where it ends
        kw["ramp_steps"] = max(1, int(ramp * total))
        if ramp < 0.5:
            kw.update(ramp_shape="exp", ramp_from=0.01)
    try:
        return make_schedule(policy, max_lr=0.1, total_steps=total, **kw).to_dict()
    except ScheduleError:
        return None


# every example a search found (a failure once, or a case the fix is about) stays here
@example(total=20, warm=0.95, cool=0.0, num_iter=10, policy="wsd", ramp=0.0)  # issue 28
@example(total=1000, warm=0.1, cool=0.0, num_iter=10, policy="one_cycle", ramp=0.0)  # 0.1 * 10 = 1
@example(total=101, warm=0.0, cool=0.0, num_iter=100, policy="one_cycle", ramp=1.0)  # found
@given(total=st.integers(1, 50_000), warm=st.floats(0, 1), cool=st.floats(0, 1),
       num_iter=st.integers(1, 50_000), policy=st.sampled_from(PLANNED),
       ramp=st.one_of(st.just(0.0), st.floats(0, 1)))
def test_fitting_any_planned_run_to_any_length_gives_a_valid_schedule(total, warm, cool,
                                                                      num_iter, policy, ramp):
    planned = _planned_run(policy, total, warm, cool, ramp)
    assume(planned is not None)
    if num_iter == total:  # a run of the planned length takes the plan as it is
        assert rules.fit_to_length(planned, num_iter) == (planned, None)
        return
    if num_iter < rules.shortest_fit(planned):
        with pytest.raises(ScheduleError, match="at least"):
            rules.fit_to_length(planned, num_iter)
        return
    fitted, note = rules.fit_to_length(planned, num_iter)
    make_schedule(**fitted)  # raises ScheduleError if the fit broke a rule
    assert fitted["total_steps"] == num_iter
    assert note.startswith(f"Planned for {total} steps, run for {num_iter}")
    for key in ("warmup_steps", "ramp_steps"):  # the same share of the run, within a step
        if key in planned:
            assert abs(fitted[key] - planned[key] * num_iter / total) <= 1
    if "decay_steps" in planned:
        assert abs(fitted["decay_steps"] - planned["decay_steps"] * num_iter / total) <= 1 \
            or fitted["decay_steps"] == num_iter - fitted["warmup_steps"]  # warm-up wins
    if "pct_start" in planned:  # moved half a step at most, where OneCycleLR needs it
        assert abs(fitted["pct_start"] - planned["pct_start"]) <= 0.5 / num_iter + 1e-12


@example(shares=[0.5, 0.5], pcts=[], total=4, num_iter=1)  # one step per phase at least
@example(shares=[1.0, 1.0], pcts=[], total=1, num_iter=1)  # found: the planned length, as is
@given(shares=st.lists(st.floats(0.001, 1), min_size=1, max_size=6),
       pcts=st.lists(st.floats(0.01, 1), max_size=2), total=st.integers(1, 20_000),
       num_iter=st.integers(1, 20_000))
def test_fitting_phases_to_any_length_keeps_every_phase_and_the_plan_whole(shares, pcts, total,
                                                                           num_iter):
    steps = [max(1, round(share * total / sum(shares))) for share in shares]
    phases = ([{"shape": "linear", "start": 0.01, "end": 0.1, "steps": k} for k in steps]
              + [{"shape": "cos", "start": 0.1, "end": 0.001, "pct": p} for p in pcts])
    try:
        planned = make_schedule("phases", phases=phases, total_steps=total).to_dict()
    except ScheduleError:  # a pct phase under one step of the plan
        assume(False)
    if num_iter == total:  # a run of the planned length takes the plan as it is
        assert rules.fit_to_length(planned, num_iter) == (planned, None)
        return
    if num_iter < rules.shortest_fit(planned):
        with pytest.raises(ScheduleError, match="at least"):
            rules.fit_to_length(planned, num_iter)
        return
    fitted, _ = rules.fit_to_length(planned, num_iter)
    make_schedule(**fitted)
    fitted_steps = [ph["steps"] for ph in fitted["phases"] if "steps" in ph]
    assert all(k >= 1 for k in fitted_steps)
    # the phases given in steps end together where their share of the run ends
    assert sum(fitted_steps) == max(len(steps), round(sum(steps) * num_iter / total))


def test_a_run_too_short_for_the_plan_is_refused_with_the_shortest_length():
    planned = make_schedule("wsd", max_lr=0.1, total_steps=100, warmup_steps=10,
                            decay_steps=20).to_dict()
    assert rules.shortest_fit(planned) == 2  # a step of warm-up and a step of cool-down
    with pytest.raises(ScheduleError, match="at least 2 iterations"):
        rules.fit_to_length(planned, 1)
    assert rules.fit_to_length(planned, 2)[0] | {} == {**planned, "total_steps": 2,
                                                       "warmup_steps": 1, "decay_steps": 1}


def test_one_cycle_fitted_where_its_warm_up_would_last_zero_steps_moves_half_a_step():
    planned = make_schedule("one_cycle", max_lr=0.1, total_steps=1000, pct_start=0.1).to_dict()
    fitted, note = rules.fit_to_length(planned, 10)  # 0.1 * 10 - 1 = 0: OneCycleLR refuses
    assert fitted["pct_start"] == pytest.approx(0.15) and "pct_start 0.1 → 0.15" in note
    make_schedule(**fitted)
    assert rules.fit_to_length(planned, 300)[0]["pct_start"] == 0.1  # nothing to move
