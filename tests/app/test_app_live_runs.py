"""AppTest of the Runs page on runs another process records: listed while running, the
curve grows as events arrive, and the finished run is drawn with its suggestions."""

from __future__ import annotations

import time

import torch
from apptest_helpers import chart_traces, open_page, panel_traces, plain
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from clr_core.engine.range_test import run_range_test
from clr_core.runs.recorder import RunRecorder
from clr_core.runs.store import RunStore
from clr_core.suggest.recommend import rule_label


def _wait_flushed(store, run_id, n, timeout=10):
    deadline = time.monotonic() + timeout
    while store.read_events(run_id)[1] < n:
        assert time.monotonic() < deadline, "the recorder did not flush"
        time.sleep(0.05)


def _smoothed_points(at) -> int:
    traces = chart_traces(at, "range-test")
    return len(next(t for t in traces if t.get("name") == "loss (smoothed)")["x"])


def test_a_running_range_test_grows_then_shows_its_suggestions():
    torch.manual_seed(0)
    x = torch.randn(128, 4)
    y = (x[:, 0] > 0).long()
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    steps = []
    final = run_range_test(model, opt, nn.CrossEntropyLoss(), loader, start_lr=1e-4,
                           end_lr=10.0, num_iter=60, emit=steps.append)

    store = RunStore()
    rec = RunRecorder("range_test", {"model": "Linear", "dataset": "TensorDataset",
                                     "mode": "exp", "num_iter": 60},
                      label="live from a script", store=store, flush_s=0.05)
    for event in steps[:10]:
        rec(event.to_dict())
    _wait_flushed(store, rec.run_id, 10)

    at = _open_run(rec.run_id)
    listed = at.dataframe[0].value
    assert listed.loc[listed["id"] == rec.run_id, "status"].item() == "running"
    assert _smoothed_points(at) == 10
    assert any("10 of 60 iterations" in c.value for c in at.caption)

    for event in steps[10:30]:
        rec(event.to_dict())
    _wait_flushed(store, rec.run_id, 30)
    at.run()  # what the fragment's polling does in the browser
    assert _smoothed_points(at) == 30

    rec.finish("done", {"kind": "range_test", "range_test": final.to_dict(),
                        "headline": "finished", "iters_per_epoch": 8})
    at.run()
    assert not at.exception, at.exception
    # the headline and band, then the other rules, as on the range-test page
    rec = final.suggestions["recommended"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Recommended max_lr"] == f"{rec.max_lr:.3g}"
    assert metrics["max_lr band"] == f"{rec.low:.3g}–{rec.high:.3g}"
    table = at.table[0].value
    assert len(table) == len(final.suggestions) - 1 and (table["max_lr"] > 0).all()
    assert {plain(r) for r in table["rule"]} == {rule_label(m) for m in final.suggestions if m != "recommended"}
    assert _smoothed_points(at) == final.iterations
    assert not any("another process" in c.value for c in at.caption)


def _recording(kind: str, config: dict, events: list[dict]):
    """A run being recorded, its `events` flushed to the store."""
    store = RunStore()
    rec = RunRecorder(kind, config, label=f"{kind} live", store=store, flush_s=0.05)
    for event in events:
        rec(event)
    _wait_flushed(store, rec.run_id, len(events))
    return store, rec


def _open_run(run_id):
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    assert not at.exception, at.exception
    return at


def test_a_running_training_draws_its_curves_from_the_store():
    _, rec = _recording("train", {"model": "Linear", "num_iter": 50}, [
        *({"kind": "step", "iteration": i, "lr": 0.1, "loss": 2.0 / (i + 1), "momentum": 0.9,
           "curve": "mine"} for i in range(12)),
        {"kind": "eval", "iteration": 10, "val_accuracy": 0.5, "curve": "mine"}])
    at = _open_run(rec.run_id)
    assert any("12 of 50 iterations" in c.value for c in at.caption)
    (loss,) = panel_traces(at, "runs.live-training", "training loss (log)")
    assert loss["name"] == "mine" and list(loss["y"]) == [2.0 / (i + 1) for i in range(12)]
    rec.finish("cancelled", None)
    at.run()
    assert not at.exception, at.exception
    assert not any("another process" in c.value for c in at.caption)


def test_an_interrupted_run_keeps_its_curve_up_to_the_last_saved_events():
    store, rec = _recording("range_test", {"mode": "exp", "num_iter": 100}, [
        {"kind": "step", "iteration": i, "lr": 10.0 ** (i / 5 - 5), "loss": 2.0,
         "smoothed": 2.0 - i / 100} for i in range(15)])
    rec._writer.close()  # the process dies: its flusher stops, nothing ends the run
    assert store.mark_interrupted([rec.run_id]) == [rec.run_id]
    at = _open_run(rec.run_id)
    assert any("Interrupted" in w.value for w in at.warning) and not at.error
    assert any("15 of 100 iterations" in c.value for c in at.caption)
    assert _smoothed_points(at) == 15
