"""``confirm_peak(record=...)``: a script's confirmation stored as the app's "confirm" job
stores one (its report and one "trial" event per finished trial), refused before any trial
trains when ``record=`` is not a run name or sinks, never costing the run when a tracker
fails, and recorded by rank 0 alone."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from clr_core.engine.confirm import trial_steps
from clr_core.engine.range_test import run_range_test
from clr_core.errors import StoreError
from clr_core.range_test import confirm_peak
from clr_core.runs.confirm_record import TRIAL
from clr_core.runs.reports import ConfirmReport, TrialCurve, report_from_dict
from clr_core.runs.store import RunStore

BUDGET = 20


def _loaders(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(96, 4, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 1).long()
    data = TensorDataset(x, y)
    return DataLoader(data, batch_size=16), DataLoader(data, batch_size=48)


def _setup():
    model = nn.Linear(4, 3)
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


@pytest.fixture(scope="module")
def swept():
    loader, val = _loaders()
    torch.manual_seed(0)
    model, opt = _setup()
    rt = run_range_test(model, opt, nn.CrossEntropyLoss(), loader, start_lr=1e-4, end_lr=10.0,
                        num_iter=20)
    return rt, loader, val


def _same_trials(stored, returned) -> None:
    assert [(t.peak, t.fraction, t.seed) for t in stored] == \
        [(t.peak, t.fraction, t.seed) for t in returned]
    for a, b in zip(stored, returned, strict=True):
        assert (math.isnan(a.score) and math.isnan(b.score)) or a.score == b.score


def test_a_recorded_confirmation_is_stored_as_the_apps_confirm_run(swept, tmp_path):
    rt, loader, val = swept
    heard = []
    out = confirm_peak(rt, _setup, loader, val_loader=val, budget=BUDGET, trainings=1,
                       on_trial=lambda trial, run: heard.append(trial),
                       record="c1", store=tmp_path / "runs.db")
    assert heard == list(out.trials)  # the caller's on_trial still hears every trial
    store = RunStore(tmp_path / "runs.db")
    (summary,) = store.list_runs()
    run = store.load_run(summary.id)
    assert (run.kind, run.label, run.status) == ("confirm", "c1", "done")
    assert run.config["budget"] == BUDGET and run.config["policy"] == "one_cycle"
    assert run.config["lrs"] == [float(v) for v in rt.lrs]  # the sweep it confirmed
    assert run.config["dataset"] == "TensorDataset" and run.config["optimizer"] == "SGD"
    report = report_from_dict(run.result)
    assert isinstance(report, ConfirmReport)
    assert report.result.best_peak == out.best_peak
    assert report.result.cost_in_trainings == pytest.approx(out.cost_in_trainings)
    _same_trials(report.result.trials, out.trials)
    _same_trials(report.trials, out.trials)
    assert [t.steps for t in report.trials] == [trial_steps(BUDGET, t.fraction) for t in out.trials]
    assert all(len(t.losses) == t.steps for t in report.trials)  # each trial's loss curve
    assert run.headline == report.line() and report.metric == "accuracy"
    # one "trial" event per finished trial, in the order they ran: what the page draws live
    events = [e for e in run.events if e.get("kind") == TRIAL]
    assert len(events) == len(run.events) == len(out.trials)
    assert [e["iteration"] for e in events] == list(range(len(out.trials)))
    _same_trials([TrialCurve.from_dict(e) for e in events], out.trials)


@pytest.mark.parametrize("bad", [42, ["a", "b"], [object()]], ids=["number", "two-names", "object"])
def test_a_bad_record_is_refused_before_any_trial_trains(swept, tmp_path, bad):
    rt, loader, val = swept
    made = []

    def setup():
        made.append(1)
        return _setup()

    with pytest.raises(StoreError, match="record= takes a run name"):
        confirm_peak(rt, setup, loader, val_loader=val, budget=BUDGET, trainings=1, record=bad,
                     store=tmp_path / "runs.db")
    assert not made


class _Sink:
    """A tracker that records what it was given, and fails on the trial events when told."""

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.kind, self.events, self.closed = fail, None, [], None

    def open(self, kind, config, label, groups):
        self.kind = kind

    def __call__(self, event):
        if self.fail:
            raise OSError("disk full")
        self.events.append(event)

    def close(self, status, report, error=None):
        self.closed = (status, report)


def test_sinks_get_the_trials_and_a_failing_one_never_costs_the_run(swept, tmp_path):
    rt, loader, val = swept
    good, bad = _Sink(), _Sink(fail=True)
    with pytest.warns(RuntimeWarning, match="_Sink stopped recording"):
        out = confirm_peak(rt, _setup, loader, val_loader=val, budget=BUDGET, trainings=1,
                           record=["c2", bad, good], store=tmp_path / "runs.db")
    assert good.kind == "confirm" and len(good.events) == len(out.trials)
    status, report = good.closed
    assert status == "done" and ConfirmReport.from_dict(report).result.best_peak == out.best_peak
    assert bad.closed is None  # dropped at its first failure
    (summary,) = RunStore(tmp_path / "runs.db").list_runs()
    assert summary.status == "done"


def test_only_rank_zero_records(swept, tmp_path, monkeypatch):
    rt, loader, val = swept
    monkeypatch.setenv("LOCAL_RANK", "1")  # a launcher's second process, before any group
    out = confirm_peak(rt, _setup, loader, val_loader=val, budget=BUDGET, trainings=1,
                       record="c3", store=tmp_path / "runs.db")
    assert out.trials
    assert not (tmp_path / "runs.db").exists() or not RunStore(tmp_path / "runs.db").list_runs()
