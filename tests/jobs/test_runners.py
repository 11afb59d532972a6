"""Run configs and runners: validation, the paper's sweep rules, stability, baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clr_core.engine.results import RangeTestResult
from clr_core.errors import ConfigError, ScheduleError
from clr_core.jobs import runners as experiments
from clr_core.jobs.engine_jobs import engine_registry
from clr_core.jobs.runners import _sweep_rule
from clr_core.present.labels import HANDOFF_LABELS, SWEEP_PARAM_LABELS
from clr_core.runs.reports import SweepCurve
from clr_core.setup.configs import SWEEP_PARAMS, RangeTestConfig, SweepConfig, TrainConfig
from clr_core.suggest.handoff import HANDOFF_POLICIES
from clr_core.suggest.recommend import RECOMMENDED
from clr_core.suggest.types import Suggestion


class Recorder:
    def __init__(self):
        self.events, self.progress = [], []

    def __call__(self, event, progress=None):
        self.events.append(event)
        if progress is not None:
            self.progress.append(progress)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"start_lr": 1.0, "end_lr": 0.1}, "start_lr"),
        ({"start_lr": -1.0}, "start_lr"),
        ({"end_lr": math.nan}, "end_lr"),
        ({"num_iter": 1}, "num_iter"),  # fewer than 2 LRs is no sweep (RangeTestSpec)
        ({"num_iter": "100"}, "num_iter"),
        ({"mode": "log"}, "mode"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"momentum": 1.0}, "momentum"),
        ({"dataset": "imagenet"}, "dataset"),
        ({"model": "vgg"}, "model"),
        ({"optimizer": "lion"}, "optimizer"),
        ({"device": "tpu"}, "tpu"),
        ({"bogus": 1}, "bogus"),
        ({"smooth_beta": 1.0}, "smooth_beta"),
        ({"diverge_threshold": 0.5}, "diverge_threshold"),
        ({"accumulation_steps": 0}, "accumulation_steps"),
    ],
)
def test_range_test_config_refuses_bad_input_by_name(override, needle):
    with pytest.raises(ConfigError, match=needle):
        RangeTestConfig.from_dict(override)


def test_train_config_checks_the_schedule():
    with pytest.raises(ScheduleError, match="base_lr"):
        TrainConfig.from_dict({"schedule": {"policy": "triangular", "base_lr": 1.0, "max_lr": 0.1,
                                            "step_size_up": 10}})


@settings(max_examples=30, deadline=None)
@given(start=st.floats(1e-7, 1e-2), factor=st.floats(1.5, 1e6), n=st.integers(10, 10_000))
def test_valid_configs_round_trip(start, factor, n):
    cfg = RangeTestConfig.from_dict({"start_lr": start, "end_lr": start * factor, "num_iter": n})
    assert RangeTestConfig.from_dict(cfg.to_dict()) == cfg


def test_range_test_runner_streams_points_and_progress():
    rec = Recorder()
    out = experiments.run_range_test_job({"num_iter": 30, "end_lr": 1.0}, rec, experiments.never_stop)
    points = [e for e in rec.events if e["kind"] == "step"]
    assert len(points) == len(out["range_test"]["lrs"])
    assert rec.progress == sorted(rec.progress) and 0 < rec.progress[-1] <= 1.0
    assert out["iters_per_epoch"] > 0 and out["headline"]


def _curve(value, max_lr, stop="completed"):
    m = RECOMMENDED
    s = Suggestion(m, max_lr / 4, max_lr, "why", "src", 0, max_lr, 1.0)
    z = np.zeros(3)
    return SweepCurve(f"v={value}", value, RangeTestResult(z, z, z, False, stop, suggestions={m: s}))


def test_weight_decay_rule_picks_the_largest_decay_that_keeps_a_high_lr():
    curves = [_curve(1e-3, 0.01), _curve(1e-4, 0.08), _curve(1e-5, 0.1), _curve(0.0, 0.1)]
    rule = _sweep_rule("weight_decay", curves)
    assert rule.value == 1e-4  # 0.08 is within a factor 2 of 0.1; 0.01 is not
    assert "largest weight decay" in rule.why


def test_batch_size_rule_prefers_the_highest_lr_then_the_larger_batch():
    rule = _sweep_rule("batch_size", [_curve(32, 0.05), _curve(128, 0.2), _curve(256, 0.2)])
    assert rule.value == 256


def test_sweep_rule_ignores_cancelled_curves():
    assert _sweep_rule("weight_decay", [_curve(1e-3, 0.1, stop="cancelled")]) is None


def test_seed_sweep_reports_stability():
    rec = Recorder()
    out = experiments.run_sweep_job(
        {"base": {"num_iter": 30, "end_lr": 3.0}, "param": "seed", "values": [0, 1, 2]},
        rec, experiments.never_stop)
    assert [c["value"] for c in out["curves"]] == [0, 1, 2]
    assert {e["curve"] for e in rec.events if e["kind"] == "step"} == {"seed=0", "seed=1", "seed=2"}
    assert out["stability"], "a seed sweep summarises each method's spread"
    for summary in out["stability"].values():
        assert summary["n"] <= 3 and summary["spread_decades"] >= 0


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"param": "dropout", "values": [0.1, 0.2]}, "param"),
        ({"param": "weight_decay", "values": [0.1]}, "two values"),
        ({"param": "weight_decay", "values": [0.1, 0.1]}, "distinct"),
        ({"param": "weight_decay", "values": [0.1, -1.0]}, "weight_decay"),
    ],
)
def test_sweep_refuses_bad_sweeps(config, needle):
    with pytest.raises(ConfigError, match=needle):
        experiments.run_sweep_job({"base": {}, **config}, Recorder(), experiments.never_stop)


def test_cancelled_sweep_stops_between_curves():
    calls = {"n": 0}

    def stop_after_first_curve():
        calls["n"] += 1
        return calls["n"] > 40

    out = experiments.run_sweep_job(
        {"base": {"num_iter": 30, "end_lr": 1.0}, "param": "weight_decay", "values": [0.0, 1e-4, 1e-3]},
        Recorder(), stop_after_first_curve)
    assert out["cancelled"] and len(out["curves"]) < 3


def test_verify_runs_compare_one_cycle_with_a_fixed_lr():
    runs = experiments.verify_suggestion_runs(max_lr=0.2, num_iter=100)
    assert runs[0]["schedule"]["policy"] == "one_cycle" and runs[0]["schedule"]["max_lr"] == 0.2
    assert runs[0]["schedule"]["total_steps"] == 100 and runs[0]["label"] == "1cycle @ 0.2"
    assert runs[1]["schedule"] == {"policy": "fixed", "lr": 0.02}


@pytest.mark.parametrize("policy", HANDOFF_POLICIES)
def test_verify_trains_the_schedule_a_suggestion_is_handed_to(policy):
    from clr_core.schedules import from_dict
    from clr_core.suggest.schedule_fit import fit_factor, mean_lr_fraction

    runs = experiments.verify_suggestion_runs(max_lr=0.2, num_iter=120, policy=policy,
                                              base_lr=0.03)
    schedule = runs[0]["schedule"]
    assert schedule["policy"] == policy
    trace = from_dict(schedule).trace(120)
    if policy in ("warmup_cosine", "wsd"):
        # sized to the run, with the peak that keeps 1cycle's mean LR at the suggestion
        assert schedule["total_steps"] == 120
        one_cycle = {"policy": "one_cycle", "max_lr": 0.2, "total_steps": 120}
        mean_1c = 0.2 * mean_lr_fraction(one_cycle)
        assert trace.mean() == pytest.approx(mean_1c, rel=0.06)
        assert schedule["max_lr"] == pytest.approx(0.2 * fit_factor(schedule))
    elif policy != "one_cycle":  # Smith's CLR: two whole cycles between the bounds
        assert 4 * schedule["step_size_up"] == 120
        assert trace.max() == pytest.approx(0.2, rel=0.01) and trace.min() == pytest.approx(0.03)
    assert runs[1]["schedule"] == {"policy": "fixed", "lr": pytest.approx(0.02)}
    assert runs[0]["label"].endswith(f"@ {schedule['max_lr']:.3g}")


def test_verify_refuses_a_schedule_a_suggestion_cannot_be_handed_to():
    with pytest.raises(ConfigError, match="policy must be one of"):
        experiments.verify_suggestion_runs(max_lr=0.2, num_iter=100, policy="inverse_sqrt")


def test_a_sweep_config_is_read_checked_and_refuses_unknown_settings():
    sweep = SweepConfig.from_dict({"param": "seed", "values": (0, 1), "kind": "sweep"})
    assert sweep == SweepConfig(param="seed", values=[0, 1], base={})
    with pytest.raises(ConfigError, match="unknown sweep setting"):
        SweepConfig.from_dict({"param": "seed", "values": [0, 1], "epochs": 3})


def test_every_choice_the_logic_checks_has_a_label_and_no_label_is_orphaned():
    assert tuple(SWEEP_PARAM_LABELS) == SWEEP_PARAMS
    assert tuple(HANDOFF_LABELS) == HANDOFF_POLICIES


def test_the_engine_registry_runs_the_engines_runners(monkeypatch):
    def quick(config, emit, should_stop):
        return {"n": 3}

    monkeypatch.setattr(experiments, "RUNNERS", {"range_test": quick})
    monkeypatch.setattr(experiments, "PARALLEL", {})
    reg = engine_registry(executor="thread")
    assert reg.kinds == ("range_test",)
    assert reg.wait(reg.submit("range_test", {}), timeout=10.0).state == "done"
    reg.shutdown()
