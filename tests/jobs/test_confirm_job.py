"""The "confirm" job (`clr_core.jobs.confirm_job`): built from a range test's run, one event
per finished trial, Cancel honoured, its size counted by the server's limits, stored as a run."""

from __future__ import annotations

import json
import math

import pytest

from clr_core.errors import ConfigError
from clr_core.jobs.confirm_job import TRIAL, ConfirmConfig, confirm_config
from clr_core.jobs.limits import LimitError, Limits
from clr_core.jobs.registry import JobRegistry
from clr_core.jobs.runners import RUNNERS, job_iterations, never_stop, no_events, run_range_test_job
from clr_core.runs.reports import ConfirmReport, RangeTestReport, report_from_dict
from clr_core.runs.store import RunStore


@pytest.fixture(scope="module")
def swept() -> RangeTestReport:
    return report_from_dict(run_range_test_job({"num_iter": 40, "start_lr": 1e-4}, no_events,
                                               never_stop))


def _steps(config: dict) -> int:
    cfg = ConfirmConfig.from_dict(config)
    plan, n = cfg.plan(), len(cfg.plan().peaks)
    return sum(min(r.candidates, n) * max(1, round(cfg.budget * r.fraction)) for r in plan.rounds)


def test_the_job_config_carries_the_range_tests_setup_curve_and_pick(swept):
    config = confirm_config(swept.config, swept.range_test, budget=24, trainings=2)
    assert config["dataset"] == "digits" and config["model"] == swept.config["model"]
    assert len(config["lrs"]) == len(swept.range_test.lrs)
    assert config["sweep_pick"] == swept.range_test.suggestions["recommended"].max_lr
    assert "num_iter" not in config and "start_lr" not in config  # the sweep's own settings stay
    json.dumps(config, allow_nan=False)


@pytest.mark.parametrize(("change", "word"), [({"budget": 0}, "budget"), ({"trainings": 0}, "trainings"),
                                              ({"policy": "nope"}, "policy"), ({"lrs": [1.0]}, "curve")])
def test_a_bad_confirmation_is_refused_by_name(swept, change, word):
    config = {**confirm_config(swept.config, swept.range_test), **change}
    with pytest.raises(ConfigError, match=word):
        ConfirmConfig.from_dict(config)
    assert job_iterations("confirm", config) is None  # the sizer leaves it to the runner


def test_its_size_for_the_limits_counts_every_trials_steps(swept):
    config = confirm_config(swept.config, swept.range_test, budget=300)
    assert job_iterations("confirm", config) == _steps(config)
    # four trainings of 300 steps cost about 1,200 steps (rounding each trial up to a step)
    assert 1100 <= job_iterations("confirm", config) <= 1300
    reg = JobRegistry(RUNNERS, executor="thread", limits=Limits(iterations_per_job=1000),
                      sizer=job_iterations)
    try:
        with pytest.raises(LimitError, match="per job"):
            reg.submit("confirm", config, owner="alice")
    finally:
        assert reg.shutdown(timeout=30)


def test_a_real_tiny_confirmation_streams_each_trial_and_reads_back(swept):
    config = confirm_config(swept.config, swept.range_test, budget=16)
    events, progress = [], []

    def emit(event=None, progress_=None, **kw):
        progress.append(kw.get("progress", progress_))
        if event is not None:
            events.append(event)

    out = RUNNERS["confirm"](config, emit, never_stop)
    json.dumps(out, allow_nan=False)
    report = report_from_dict(out)
    assert isinstance(report, ConfirmReport) and not report.cancelled
    plan = ConfirmConfig.from_dict(config).plan()
    assert len(report.trials) == len(report.result.trials) == sum(
        min(r.candidates, len(plan.peaks)) for r in plan.rounds)
    trials = [e for e in events if e["kind"] == TRIAL]
    assert len(trials) == len(report.trials)  # one event per finished trial, as it ended
    assert [(e["peak"], e["fraction"]) for e in trials] == \
        [(t.peak, t.fraction) for t in report.result.trials]
    assert all(e["steps"] == len(e["losses"]) == max(1, round(16 * e["fraction"])) for e in trials)
    assert report.metric == "accuracy"  # digits has one: scores are -accuracy
    assert all(-1.0 <= t.score <= 0.0 for t in report.trials if math.isfinite(t.score))
    assert report.result.best_peak in {t.peak for t in report.trials}
    assert report.result.cost_in_trainings == pytest.approx(plan.cost_in_trainings)
    assert progress[-1] == pytest.approx(1.0)
    assert "confirmed max_lr" in report.headline


def test_cancel_inside_a_trial_ends_the_job_with_what_finished(swept):
    config = confirm_config(swept.config, swept.range_test, budget=80)
    events: list[dict] = []
    calls = [0]

    def stop():
        calls[0] += bool(events)
        return calls[0] >= 3

    out = RUNNERS["confirm"](config, lambda e=None, progress=None: events.append(e) if e else None,
                             stop)
    report = report_from_dict(out)
    assert report.cancelled
    assert len(report.trials) == len(report.result.trials) == len(events) == 1


def test_a_confirm_job_is_stored_as_a_run(swept, tmp_path):
    store = RunStore(tmp_path / "runs.db")
    reg = JobRegistry(RUNNERS, executor="thread", store=store)
    try:
        job = reg.submit("confirm", confirm_config(swept.config, swept.range_test, budget=8),
                         owner="alice", label="confirm · digits")
        status = reg.wait(job, timeout=300)
        assert status.state == "done", status.error
    finally:
        assert reg.shutdown(timeout=30)
    (run,) = [r for r in store.list_runs() if r.kind == "confirm"]
    stored = report_from_dict(store.load_run(run.id).result, "confirm")
    assert isinstance(stored, ConfirmReport) and stored.trials


def test_the_trials_train_with_the_range_tests_clipping(swept):
    config = confirm_config({**swept.config, "grad_clip_norm": 0.5}, swept.range_test, budget=8,
                            trainings=1)
    assert config["grad_clip_norm"] == 0.5
    assert ConfirmConfig.from_dict(config).loop_spec().grad_clip_norm == 0.5
    with pytest.raises(ConfigError, match="grad_clip_norm"):
        ConfirmConfig.from_dict({**config, "grad_clip_norm": -1.0})
