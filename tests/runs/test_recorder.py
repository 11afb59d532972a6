"""Recording runs to the store while they run: a user's own model and loader, the record
the app makes of its jobs, events flushed while the run goes, and failures that cost the
record but never the run."""

from __future__ import annotations

import inspect
import math
import threading
import time

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import clr_core.engine.range_test as engine_range_test
import clr_core.engine.train as engine_train
from clr_core.engine.results import RangeTestResult
from clr_core.errors import StoreError
from clr_core.jobs import runners as experiments
from clr_core.range_test import run_range_test
from clr_core.runs.recorder import RunRecorder, describe_call, record_job, status_of
from clr_core.runs.store import RunStore
from clr_core.train import run_training


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)


def _objects(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(96, 4, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 1).long()
    torch.manual_seed(seed)
    model = TinyNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, opt, nn.CrossEntropyLoss(), DataLoader(TensorDataset(x, y), batch_size=16)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.db")


def test_recorded_range_test_is_the_record_the_app_makes(store):
    model, opt, loss_fn, loader = _objects()
    seen = []
    result = run_range_test(model, opt, loss_fn, loader, start_lr=1e-4, end_lr=10.0,
                            num_iter=40, emit=seen.append, record="my net", store=store)
    assert isinstance(result, RangeTestResult)
    (summary,) = store.list_runs()
    run = store.load_run(summary.id)
    assert (run.kind, run.label, run.status) == ("range_test", "my net", "done")
    assert run.config["model"] == "TinyNet" and run.config["dataset"] == "TensorDataset"
    assert run.config["optimizer"] == "SGD" and run.config["batch_size"] == 16
    assert run.config["num_iter"] == 40 and run.config["momentum"] == 0.9
    rt = run.result["range_test"]
    assert rt == result.to_dict()
    assert run.result["iters_per_epoch"] == 6 and run.headline == run.result["headline"]
    # the Runs page reads the same keys from this record as from the app's own job
    app = experiments.run_range_test_job(
        {"num_iter": 10, "end_lr": 1.0}, experiments.no_events, experiments.never_stop)
    assert set(app) == set(run.result)
    # every event the user's callback saw was saved, in order
    assert [e["iteration"] for e in run.events] == [e.iteration for e in seen]
    assert len(seen) == result.iterations


def test_recorded_training_is_tagged_like_a_job_curve(store):
    model, opt, loss_fn, loader = _objects()
    run_training(model, opt, loss_fn, loader, num_iter=12, eval_every=6, val_loader=loader,
                 schedule={"policy": "fixed", "lr": 0.05}, record="mine", store=store.path)
    run = store.load_run(store.list_runs()[0].id)
    assert run.kind == "train" and run.status == "done"
    assert run.config["schedule"] == {"policy": "fixed", "lr": 0.05}
    assert [r["label"] for r in run.result["runs"]] == ["mine"]
    assert run.result["runs"][0]["train"]["num_iter"] == 12
    assert {e["curve"] for e in run.events} == {"mine"}
    assert sum(e["kind"] == "step" for e in run.events) == 12
    assert run.headline.startswith("best: mine")


def test_without_record_nothing_is_written(store, monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_DB", str(store.path))
    model, opt, loss_fn, loader = _objects()
    run_range_test(model, opt, loss_fn, loader, num_iter=20)
    run_training(model, opt, loss_fn, loader, num_iter=5)
    assert store.list_runs() == []
    assert not any(t.name.startswith("clr-record") for t in threading.enumerate())


def test_record_without_a_store_saves_under_the_default_store(store, monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_DB", str(store.path))
    model, opt, loss_fn, loader = _objects()
    run_range_test(model=model, optimizer=opt, loss_fn=loss_fn, loader=loader, num_iter=15,
                   record="default store")
    assert [r.label for r in store.list_runs()] == ["default store"]


def test_events_reach_the_store_while_the_run_goes(store):
    rec = RunRecorder("range_test", {"dataset": "x"}, label="slow", store=store, flush_s=0.1)
    run_id = rec.run_id
    assert store.load_run(run_id).status == "running"  # there at once
    for i in range(5):
        rec({"kind": "point", "iteration": i, "lr": 0.1, "loss": 1.0})
    deadline = time.monotonic() + 5
    while store.read_events(run_id)[1] < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.read_events(run_id)[1] == 5  # flushed before the run ended
    rec({"kind": "point", "iteration": 5, "lr": 0.1, "loss": math.nan})
    rec.finish("done", {"headline": "h"})
    run = store.load_run(run_id)
    assert run.status == "done" and len(run.events) == 6 and math.isnan(run.events[5]["loss"])
    assert not any(t.name == f"clr-record-{run_id}" for t in threading.enumerate())


@pytest.mark.parametrize("exc, status", [(RuntimeError("boom"), "failed"),
                                         (KeyboardInterrupt(), "cancelled")])
def test_an_exception_ends_the_run_and_goes_on(store, exc, status):
    with pytest.raises(type(exc)), RunRecorder("train", {}, label="x", store=store) as rec:
        rec({"kind": "train", "iteration": 0})
        raise exc
    run = store.load_run(rec.run_id)
    assert run.status == status and run.events == [{"kind": "train", "iteration": 0}]
    assert run.error and ("boom" in run.error or "keyboard" in run.error)


def test_a_run_deleted_mid_run_costs_the_record_not_the_run(store):
    rec = RunRecorder("train", {}, label="x", store=store, flush_s=0.05)
    store.delete_run(rec.run_id)
    with pytest.warns(RuntimeWarning, match="stopped"):
        rec({"kind": "train", "iteration": 0})
        deadline = time.monotonic() + 5
        while rec.save_error is None and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "no saved run" in rec.save_error
    rec({"kind": "train", "iteration": 1})  # ignored, no error
    rec.finish("done", {})
    assert store.list_runs() == []


def test_record_job_runs_the_apps_runner_recorded(store):
    def runner(config, emit, should_stop):
        for i in range(3):
            emit({"kind": "point", "iteration": i}, progress=(i + 1) / 3)
        return {"headline": "three", "cancelled": False, "n": config["n"]}

    seen = []
    out, rec = record_job(runner, "range_test", {"n": 3}, label="job", store=store,
                     emit=lambda e, progress=None: seen.append(progress))
    run = store.load_run(rec.run_id)
    assert out == run.result and run.status == "done" and len(run.events) == 3
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_status_and_description_helpers():
    assert status_of({"stop_reason": "cancelled"}) == "cancelled"
    assert status_of({"cancelled": True}) == "cancelled"
    assert status_of({"stop_reason": "diverged"}) == "done"
    model, opt, _, loader = _objects()
    cfg = describe_call({"model": model, "optimizer": opt, "loader": loader,
                         "start_lr": torch.tensor(1e-3), "device": torch.device("cpu")})
    assert cfg["start_lr"] == pytest.approx(1e-3) and cfg["device"] == "cpu"
    with pytest.raises(StoreError, match="flush_s"):
        RunRecorder("train", {}, store=None, flush_s=5)


def test_the_public_functions_are_the_engines_with_record_and_store():
    for public, engine in ((run_range_test, engine_range_test.run_range_test),
                           (run_training, engine_train.run_training)):
        params = inspect.signature(public).parameters
        engine_params = inspect.signature(engine).parameters
        assert "record" not in engine_params and "store" not in engine_params
        assert list(params) == [*list(engine_params)[:-1], "record", "store",
                                *list(engine_params)[-1:]]
        assert params["record"].kind is inspect.Parameter.KEYWORD_ONLY
        assert params["record"].default is None and params["store"].default is None
        assert public.__name__ == engine.__name__ and public.__wrapped__ is engine
        assert public.__doc__.startswith(engine.__doc__.rstrip()) and "record=" in public.__doc__
    model, opt, loss_fn, loader = _objects()
    with pytest.raises(TypeError, match="record"):  # the engine knows nothing of the store
        engine_range_test.run_range_test(model, opt, loss_fn, loader, record="x")
    with pytest.raises(TypeError, match="loss_fn"):  # bound like the engine's own call
        run_range_test(model, opt, loader=loader, record="x")


def test_the_old_name_of_emit_is_still_recorded_and_called(store):
    model, opt, loss_fn, loader = _objects()
    seen = []
    with pytest.warns(DeprecationWarning, match="callback"):
        result = run_training(model, opt, loss_fn, loader, num_iter=4, eval_every=0,
                              callback=seen.append, record="old emit", store=store)
    run = store.load_run(store.list_runs()[0].id)
    assert len(seen) == len(run.events) == result.num_iter == 4
    assert [e["iteration"] for e in run.events] == [e.iteration for e in seen]
    assert {e["curve"] for e in run.events} == {"old emit"} and not seen[0].curve
