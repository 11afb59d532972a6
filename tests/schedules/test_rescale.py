"""A planned schedule moved to a candidate peak and compressed to a share of its budget:
what each confirming training runs (`clr_core.schedules.rescale`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.errors import ScheduleError
from clr_core.schedules import from_dict
from clr_core.schedules.rescale import peak_of, rescaled
from clr_core.suggest.handoff import HANDOFF_POLICIES, verify_schedule

fractions = st.sampled_from([1 / 8, 1 / 4, 1 / 3, 1 / 2, 1.0])
peaks = st.floats(1e-5, 10.0)


@given(policy=st.sampled_from(HANDOFF_POLICIES), peak=peaks, fraction=fractions)
def test_the_compressed_plan_peaks_at_the_candidate_and_keeps_the_lr_ratios(policy, peak, fraction):
    budget = 400
    plan = verify_schedule(policy, max_lr=0.1, num_iter=budget)
    short = rescaled(plan, budget=budget, peak=peak, fraction=fraction)
    assert short["max_lr"] == pytest.approx(peak, rel=1e-9)
    for name in ("base_lr", "min_lr"):
        if plan.get(name):
            assert short[name] / short["max_lr"] == pytest.approx(plan[name] / plan["max_lr"])


@given(policy=st.sampled_from(["one_cycle", "warmup_cosine", "wsd"]), fraction=fractions)
def test_the_compressed_plan_has_the_plans_shape_over_its_share_of_the_budget(policy, fraction):
    """The same LR at the same share of the run: the short trial samples the planned one."""
    budget = 800
    plan = verify_schedule(policy, max_lr=0.1, num_iter=budget)
    short = rescaled(plan, budget=budget, fraction=fraction)
    n = short["total_steps"]
    assert n == max(1, round(budget * fraction))
    plan_lr = from_dict(plan).lr(np.arange(budget))
    short_lr = from_dict(short).lr(np.arange(n))
    # each length is rounded on its own (a warm-up of 80 to 10 steps): at each share of the
    # run the short trial's LR is the plan's within two short steps of that share
    for k, lr in enumerate(short_lr):
        lo = int(max(0, (k - 2) / n * budget))
        hi = int(min(budget, (k + 3) / n * budget))
        window = plan_lr[lo:hi]
        assert window.min() * (1 - 1e-6) - 1e-12 <= lr <= window.max() * (1 + 1e-6) + 1e-12


def test_a_per_step_decay_decays_as_far_over_the_shorter_run():
    plan = {"policy": "exp", "base_lr": 0.1, "gamma": 0.999}
    short = rescaled(plan, budget=800, fraction=0.25)
    assert from_dict(short).lr(200) == pytest.approx(from_dict(plan).lr(800), rel=1e-9)


def test_phases_are_compressed_phase_by_phase():
    plan = {"policy": "phases", "phases": [
        {"shape": "linear", "start": 0.001, "end": 0.1, "steps": 100},
        {"shape": "cos", "start": 0.1, "end": 0.0001, "steps": 300}]}
    short = rescaled(plan, budget=400, peak=0.5, fraction=0.5)
    assert [p["steps"] for p in short["phases"]] == [50, 150]
    assert peak_of(short, 200) == pytest.approx(0.5, rel=1e-6)


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_a_share_outside_the_budget_is_refused(fraction):
    with pytest.raises(ScheduleError, match="fraction"):
        rescaled({"policy": "one_cycle", "max_lr": 0.1, "total_steps": 100}, budget=100,
                 fraction=fraction)


def test_a_peak_that_is_no_learning_rate_is_refused():
    with pytest.raises(ScheduleError, match="peak"):
        rescaled({"policy": "one_cycle", "max_lr": 0.1, "total_steps": 100}, budget=100, peak=0.0)
