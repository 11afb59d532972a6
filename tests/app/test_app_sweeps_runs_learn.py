"""AppTest tests of the sweeps and runs pages, and runs surviving a restart (learn: test_app_learn)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from apptest_helpers import (
    chart_traces,
    open_page,
    plain,
    run_until_done,
    save_run_in_another_process,
)

from clr_core.suggest.recommend import rule_label

ROOT = Path(__file__).resolve().parents[2]


def _run_sweep(param: str, values: str):
    at = open_page("pages/sweeps.py")
    at.radio(key="sweep.param").set_value(param).run()
    at.text_input(key=f"sweep.values.{param}").set_value(values).run()
    at.text_input(key="sweep.num_iter").set_value("40").run()
    at.button(key="btn.sweep.start").click().run()
    assert run_until_done(at, "sweep.job", timeout=180) == "done"
    return at


def test_weight_decay_sweep_of_three_values_shows_three_curves():
    at = _run_sweep("weight_decay", "1e-3, 1e-4, 0")
    traces = chart_traces(at, "sweep")
    lines = [t for t in traces if t.get("mode") == "lines"]
    assert sorted(t["name"] for t in lines) == sorted(
        ["weight_decay=0.001", "weight_decay=0.0001", "weight_decay=0"])
    assert any("largest weight decay" in m.value for m in at.markdown)
    assert len(at.dataframe[0].value) == 3


def test_sweep_rejects_bad_values():
    at = open_page("pages/sweeps.py")
    at.radio(key="sweep.param").set_value("batch_size").run()
    at.text_input(key="sweep.values.batch_size").set_value("32, abc").run()
    assert any("abc" in e.value for e in at.error)
    assert at.button(key="btn.sweep.start").disabled


def test_a_run_survives_a_restart_and_reopens_with_the_same_numbers(tmp_path):
    saved = save_run_in_another_process(os.environ["CLR_STUDIO_DB"], "from another process")
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([saved["run_id"]]).run()
    assert not at.exception, at.exception
    table = at.table[0].value  # the reopened run's other rules
    shown = {plain(row["rule"]): (row["base_lr"], row["max_lr"]) for _, row in table.iterrows()}
    assert shown == {rule_label(m): (s["base_lr"], s["max_lr"])
                     for m, s in saved["suggestions"].items() if m != "recommended"}
    rec = saved["suggestions"]["recommended"]  # the headline above the other rules
    assert {m.label: m.value for m in at.metric}["Recommended max_lr"] == f"{rec['max_lr']:.3g}"
    traces = chart_traces(at, "range-test")
    assert any(t.get("name") == "loss (smoothed)" for t in traces)


def test_seed_sweep_shows_each_methods_spread():
    at = _run_sweep("seed", "0, 1, 2")
    stability = next(df.value for df in at.dataframe if "spread (decades)" in df.value.columns)
    assert len(stability) >= 3
    assert (stability["spread (decades)"] >= 0).all()
    assert (stability["min"] <= stability["median max_lr"]).all()
    assert (stability["median max_lr"] <= stability["max"]).all()
    # the seeds' recommendations combined: the median of the three, with a band around it
    from ui.jobs import registry

    res = registry().status(at.session_state["sweep.job"]).result
    rec = res["recommended"]
    assert rec["low"] <= rec["max_lr"] <= rec["high"]
    singles = sorted(c["range_test"]["suggestions"]["recommended"]["max_lr"] for c in res["curves"])
    assert rec["max_lr"] == pytest.approx(singles[1])
    assert any(f"Recommended max_lr {rec['max_lr']:.3g}" in s.value for s in at.success)


def _saved_run(label: str) -> int:
    import numpy as np

    from clr_core.engine.results import RangeTestResult
    from clr_core.runs.reports import RangeTestReport
    from clr_core.runs.store import RunStore
    from clr_core.suggest.types import Suggestion

    valley = Suggestion("valley", 2.5e-3, 1e-2, "test", "test", 1, 1e-2, 2.0)
    rt = RangeTestResult(np.array([1e-3, 1e-2, 1e-1]), np.array([2.3, 2.0, 2.5]),
                         np.array([2.3, 2.1, 2.2]), False, "completed",
                         suggestions={"valley": valley})
    report = RangeTestReport(rt, config={"dataset": "digits"}, headline="valley: max_lr 0.01")
    return RunStore().save_run("range_test", {"dataset": "digits"}, report.to_dict(), label=label)


def test_rename_and_delete_a_run(monkeypatch):
    from clr_core.errors import StoreError
    from clr_core.runs.store import RunStore

    monkeypatch.setenv("CLR_STUDIO_ADMIN", "1")  # a run saved by a script: the admin's to edit
    run_id = _saved_run("to rename")
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    at.text_input(key=f"runs.label.{run_id}").set_value("renamed run").run()
    at.button(key="btn.runs.rename").click().run()
    assert RunStore().load_run(run_id).label == "renamed run"
    at.button(key="btn.runs.delete").click().run()
    assert RunStore().load_run(run_id)  # nothing is deleted before the confirmation
    at.button(key="btn.runs.confirm_delete").click().run()
    assert not at.exception, at.exception
    with pytest.raises(StoreError):
        RunStore().load_run(run_id)
    at.run()  # the deleted run drops out of the selection without an error
    assert not at.exception, at.exception


def test_filters_and_overlay_of_two_runs():
    a, b = _saved_run("overlay a"), _saved_run("overlay b")
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.kinds").set_value(["range_test"]).run()
    at.multiselect(key="runs.open").set_value([a, b]).run()
    assert not at.exception, at.exception
    traces = chart_traces(at, "sweep")
    names = {t["name"] for t in traces if t.get("mode") == "lines"}
    # each run named by its number, its name and what differs (optimizer, model, LR range)
    assert names == {f"#{a} overlay a — range test · digits", f"#{b} overlay b — range test · digits"}
