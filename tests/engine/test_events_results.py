"""The typed event and result records: pickling, JSON round trips, the NaN convention."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.engine.events import EVAL, FLOAT_FIELDS, KINDS, STEP, Event, EventTable
from clr_core.engine.results import (
    RANGE_STOP_REASONS,
    RUNNING,
    VAL_COLUMNS,
    RangeTestResult,
    TrainResult,
)
from clr_core.jsonsafe import from_json_array, json_safe, to_json_array
from clr_core.suggest.types import Suggestion

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@given(kind=st.sampled_from(KINDS), it=st.integers(0, 10**6), values=st.lists(floats, min_size=8,
                                                                             max_size=8),
       curve=st.text(max_size=5))
def test_event_round_trips_through_json_and_pickle(kind, it, values, curve):
    e = Event(kind, it, curve=curve, **dict(zip(FLOAT_FIELDS, values, strict=True)))
    back = Event.from_dict(json.loads(json.dumps(e.to_dict(), allow_nan=False)))
    assert back.kind == kind and back.iteration == it and back.curve == curve
    for name in FLOAT_FIELDS:
        v, w = getattr(e, name), getattr(back, name)
        assert (w == v) if math.isfinite(v) else math.isnan(w)  # non-finite comes back NaN
    assert pickle.loads(pickle.dumps(e)).to_dict() == e.to_dict()


def test_event_pickles_equal_and_tags():
    e = Event(STEP, 3, lr=0.1, loss=2.0)
    assert pickle.loads(pickle.dumps(e)).loss == 2.0
    assert e.tagged("seed=1").curve == "seed=1" and e.curve == ""
    assert e.to_dict()["val_loss"] is None and "curve" not in e.to_dict()


@given(st.lists(floats, max_size=20))
def test_json_arrays_null_for_non_finite(values):
    enc = to_json_array(values)
    json.dumps(enc, allow_nan=False)
    back = from_json_array(enc)
    a = np.asarray(values, dtype=float)
    assert np.array_equal(np.where(np.isfinite(a), a, np.nan), back, equal_nan=True)


def test_old_string_encoding_is_still_read():
    assert np.isinf(from_json_array(["Infinity"])[0]) and np.isnan(from_json_array(["NaN"])[0])


def test_json_safe_handles_results_numpy_and_nan():
    r = TrainResult(lrs=[0.1, math.nan], losses=[1.0, math.inf], iterations=[0, 1],
                    momentums=[0.9, 0.9], batch_accuracies=[0.5, 0.5],
                    evals=[Event(EVAL, 2, val_accuracy=0.5)])
    out = json_safe({"train": r, "x": np.float32(2.5), "a": np.array([1.0, np.nan]),
                     "t": (1, math.inf)})
    json.dumps(out, allow_nan=False)
    assert out["a"] == [1.0, None] and out["t"] == [1, None] and out["x"] == 2.5
    back = TrainResult.from_dict(out["train"])
    assert back.evals[0].val_accuracy == 0.5 and math.isnan(back.losses[1])


def test_range_result_keeps_suggestions_with_nan_fields():
    s = Suggestion("valley", 0.01, 0.04, "why", "src", 3, 0.04, math.nan)
    r = RangeTestResult(np.array([1e-3, 1e-2]), np.array([1.0, math.inf]), np.array([1.0, 1.1]),
                        True, "non-finite loss", suggestions={"valley": s})
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    back = RangeTestResult.from_dict(d)
    assert back.suggestions["valley"].max_lr == 0.04
    assert math.isnan(back.suggestions["valley"].marker_value)


def test_old_import_paths_still_work():
    from clr_core.engine.results import RangeTestResult as R
    from clr_core.engine.results import TrainResult as T

    assert R is RangeTestResult and T is TrainResult


@pytest.mark.parametrize("d", [{"kind": "step", "iteration": 1}, {"kind": "eval", "iteration": 2,
                                                                  "val_accuracy": 0.5}])
def test_event_from_partial_dict(d):
    e = Event.from_dict(d)
    assert e.kind == d["kind"] and math.isnan(e.lr)


def test_streamed_result_is_a_running_range_test():
    table = EventTable()
    for e in (Event(STEP, 0, lr=1e-3, loss=2.0, smoothed=2.0),
              Event(STEP, 1, lr=1e-2, loss=1.5, smoothed=1.9),
              Event(EVAL, 2, lr=1e-2, val_loss=1.4, val_accuracy=0.6)):
        table.add(e.to_dict())
    rt = RangeTestResult.streamed(table.get(STEP), table.get(EVAL), mode="exp")
    assert rt.running and rt.stop_reason == RUNNING and RUNNING in RANGE_STOP_REASONS
    assert rt.iterations == 2 and rt.lrs.tolist() == [1e-3, 1e-2] and rt.smoothed[-1] == 1.9
    assert rt.accuracies.shape == (1, len(VAL_COLUMNS))
    assert rt.accuracies[0].tolist() == [2.0, 1e-2, 0.6, 1.4]  # in VAL_COLUMNS' order
    assert rt.val_accuracy.tolist() == [0.6] and not rt.suggestions and not rt.diverged
    back = RangeTestResult.from_dict(json.loads(json.dumps(rt.to_dict(), allow_nan=False)))
    assert back.running and back.accuracies.tolist() == rt.accuracies.tolist()


def test_streamed_result_before_any_event():
    rt = RangeTestResult.streamed(None, None, mode="linear")
    assert rt.running and rt.iterations == 0 and rt.mode == "linear"
    assert rt.accuracies.shape == (0, len(VAL_COLUMNS)) and len(rt.val_lrs) == 0
    finished = RangeTestResult(np.array([1e-3]), np.array([1.0]), np.array([1.0]), False, "completed")
    assert not finished.running


# ------------------------------------------------------------------ job reports


def test_reports_round_trip_through_json():
    from clr_core.runs.reports import (
        RangeTestReport,
        SweepCurve,
        SweepRecommendation,
        SweepReport,
        TrainCurve,
        TrainReport,
        report_from_dict,
    )
    from clr_core.suggest.stability import summarize_stability

    s = Suggestion("valley", 0.01, 0.04, "why", "src", 1, 0.04, 1.0)
    rt = RangeTestResult(np.array([1e-3, 1e-2, 1e-1]), np.array([1.0, 0.5, math.inf]),
                         np.array([1.0, 0.7, math.nan]), True, "non-finite loss",
                         suggestions={"valley": s})
    tr = TrainResult(iterations=[0], lrs=[0.1], momentums=[math.nan], losses=[1.0],
                     batch_accuracies=[0.5], evals=[Event(EVAL, 1, val_accuracy=0.5)],
                     best_val_accuracy=0.5)
    reports = [
        RangeTestReport(rt, config={"num_iter": 3}, iters_per_epoch=28, device="cpu"),
        TrainReport(curves=[TrainCurve("fixed", tr)], headline="best"),
        SweepReport("seed", curves=[SweepCurve("seed=0", 0, rt), SweepCurve("seed=1", 1, rt)],
                    recommendation=SweepRecommendation(0, 0.04, "because"),
                    stability=summarize_stability([rt.suggestions, rt.suggestions])),
    ]
    for rep in reports:
        d = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
        back = report_from_dict(d)
        assert type(back) is type(rep) and back.to_dict() == d
    back = report_from_dict(json.loads(json.dumps(reports[2].to_dict(), allow_nan=False)))
    assert back.curves[1].range_test.suggestions["valley"].max_lr == 0.04
    assert back.stability["valley"].n == 2 and back.recommendation.why == "because"
    with pytest.raises(ValueError, match="unknown result kind"):
        report_from_dict({"kind": "nope"})


def test_suggestion_to_schedule_and_the_one_base_lr_rule():
    from clr_core.engine.baselines import baseline_lrs
    from clr_core.schedules import from_dict, make_schedule
    from clr_core.suggest.handoff import HANDOFF_POLICIES, suggestion_to_schedule

    s = Suggestion("valley", 0.01, 0.04, "why", "src", 1, 0.04, 1.0)
    for policy in HANDOFF_POLICIES:
        d, note = suggestion_to_schedule(s, policy, iters_per_epoch=28)
        sched = from_dict(d)  # a complete, valid schedule, defaults filled from its spec
        trace = sched.lr(np.arange(224))
        assert sched.policy == policy and "valley" in note
        # a cyclical schedule's step: 4 epochs of 28; a run without cycles: its length, 8 epochs
        assert ("224 steps" if policy in ("warmup_cosine", "wsd") else "112") in note
        if policy == "wsd":  # holds its peak: a lower one keeps 1cycle's mean LR
            assert d["total_steps"] == 224 and 0.015 < trace.max() < 0.03
            assert f"{trace.max():.3g}" in note and np.isclose(trace.mean(), 0.04 * 0.5, rtol=0.1)
        else:
            assert np.isclose(trace.max(), 0.04, rtol=1e-2)
    # the base_lr rule the training page and the CLI share: max_lr / 10, or the schedule's
    # own lower LR when a CLR schedule has one; a constant schedule still gets a lower one
    assert baseline_lrs(make_schedule("one_cycle", max_lr=0.2, total_steps=100), 100) == \
        pytest.approx((0.2, 0.02))
    tri = make_schedule("triangular", base_lr=0.05, max_lr=0.1, step_size_up=10)
    assert baseline_lrs(tri, 100) == pytest.approx((0.1, 0.05))
    assert baseline_lrs(make_schedule("fixed", lr=0.1), 50) == pytest.approx((0.1, 0.01))
