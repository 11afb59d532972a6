"""Phases (fastai's combine_scheds): shapes, boundaries, validation, and 1cycle written in it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clr_core.errors import ScheduleError
from clr_core.schedules import from_dict, make_schedule


def test_each_shape_runs_from_start_to_end_and_holds_after_the_last_phase():
    sched = make_schedule("phases", phases=[
        {"shape": "linear", "start": 0.0, "end": 1.0, "steps": 4},
        {"shape": "cos", "start": 1.0, "end": 0.5, "steps": 2},
        {"shape": "exp", "start": 0.5, "end": 0.005, "steps": 2},
        {"shape": "constant", "start": 0.25, "steps": 3},
    ])
    lrs = sched.lr(np.arange(14))
    np.testing.assert_allclose(lrs[:5], [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(lrs[5:7], [0.75, 0.5])  # cos half-way is the mean
    np.testing.assert_allclose(lrs[7:9], [0.05, 0.005])  # exp: geometric mean half-way
    np.testing.assert_allclose(lrs[9:], 0.25)


def test_pct_phases_are_fractions_of_total_steps():
    a = make_schedule("phases", total_steps=200, phases=[
        {"shape": "linear", "start": 0.0, "end": 0.1, "pct": 0.25},
        {"shape": "linear", "start": 0.1, "end": 0.0, "pct": 0.75}])
    b = make_schedule("phases", phases=[
        {"shape": "linear", "start": 0.0, "end": 0.1, "steps": 50},
        {"shape": "linear", "start": 0.1, "end": 0.0, "steps": 150}])
    k = np.arange(260)
    np.testing.assert_array_equal(a.lr(k), b.lr(k))
    assert from_dict(a.to_dict()) == a


@pytest.mark.parametrize(("phases", "extra", "needle"), [
    ([], {}, "non-empty list"),
    ("linear", {}, "non-empty list"),
    ([{"shape": "sine", "start": 0.1, "steps": 3}], {}, "shape must be one of"),
    ([{"start": 0.1}], {}, "exactly one of steps or pct"),
    ([{"start": 0.1, "steps": 2, "pct": 0.5}], {}, "exactly one of steps or pct"),
    ([{"start": 0.1, "pct": 0.5}], {}, "give total_steps"),
    ([{"start": 0.1, "steps": 0}], {}, "steps must be >= 1"),
    ([{"start": 0.1, "steps": 2.5}], {}, "must be an integer"),
    ([{"start": -0.1, "steps": 2}], {}, ">= 0"),
    ([{"shape": "exp", "start": 0.0, "end": 0.1, "steps": 2}], {}, "> 0 for an exp phase"),
    ([{"start": float("nan"), "steps": 2}], {}, "finite"),
    ([{"start": 0.1, "steps": 2, "lr": 1}], {}, "unknown key"),
    ([{"start": 0.1, "pct": 0.001}], {"total_steps": 100}, "under one step"),
])
def test_bad_phases_are_refused_naming_the_phase(phases, extra, needle):
    with pytest.raises(ScheduleError, match=needle):
        make_schedule("phases", phases=phases, **extra)


@settings(max_examples=40, deadline=None)
@given(max_lr=st.floats(1e-4, 1.0), total=st.integers(20, 3000), pct=st.floats(0.1, 0.45),
       strategy=st.sampled_from(["cos", "linear"]), div=st.floats(2.0, 50.0),
       final=st.floats(10.0, 1e4), three=st.booleans())
def test_one_cycle_is_written_in_phases(max_lr, total, pct, strategy, div, final, three):
    one = make_schedule("one_cycle", max_lr=max_lr, total_steps=total, pct_start=pct,
                        anneal_strategy=strategy, div_factor=div, final_div_factor=final,
                        three_phase=three, cycle_momentum=False)
    lo, hi = max_lr / div, max_lr
    up = pct - 1 / total  # torch's phase ends at pct * total - 1
    if three:
        rows = [(up, lo, hi), (pct - 1 / total, hi, lo), (1 - 2 * pct + 1 / total, lo, lo / final)]
    else:
        rows = [(up, lo, hi), (1 - pct, hi, lo / final)]
    phases = make_schedule("phases", total_steps=total, phases=[
        {"shape": strategy, "start": a, "end": b, "pct": p} for p, a, b in rows])
    k = np.arange(total)
    np.testing.assert_allclose(phases.lr(k), one.lr(k), rtol=1e-9, atol=1e-12 * max_lr)
