"""AppTest tests of the live pages: range test, cancel, hand-off, training with baselines."""

from __future__ import annotations

import re

import pytest
from apptest_helpers import (
    chart_traces,
    job_state,
    open_page,
    panel_traces,
    plain,
    run_until_done,
    run_until_events,
)


def _start_range_test(at, num_iter: int):
    at.text_input(key="rt.num_iter").set_value(str(num_iter)).run()
    at.button(key="btn.rt.start").click().run()
    assert not at.exception, at.exception
    assert job_state(at, "rt.job") is not None


def test_range_test_runs_and_shows_suggestions_and_chart():
    at = open_page("pages/range_test.py")
    _start_range_test(at, 60)
    assert run_until_done(at, "rt.job") == "done"
    traces = chart_traces(at, "range-test")
    names = [t.get("name", "") for t in traces]
    assert "loss (smoothed)" in names
    smoothed = next(t for t in traces if t["name"] == "loss (smoothed)")
    assert len(smoothed["x"]) >= 10
    # the recommendation marked on the curve, every other rule in one layer (off until
    # clicked), and the table lists them with explanations
    others = next(t for t in traces if t["name"] == "other rules")
    assert others["visible"] == "legendonly" and "valley" in {row[0] for row in others["customdata"]}
    assert any(n.startswith("recommended") for n in names)
    # the headline is the recommended max_lr, base_lr and band, the numbers the job returned
    from ui.jobs import registry

    rec = registry().status(at.session_state["rt.job"]).result["range_test"]["suggestions"][
        "recommended"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Recommended max_lr"] == f"{rec['max_lr']:.3g}"
    assert metrics["base_lr"] == f"{rec['base_lr']:.3g}"
    assert metrics["max_lr band"] == f"{rec['low']:.3g}–{rec['high']:.3g}"
    assert at.selectbox(key="rt.method").value == "recommended"
    table = at.table[0].value  # a static table: its cells wrap, nothing is cut
    assert {"rule", "base_lr", "max_lr", "explanation", "worst regret (points)"} <= set(table.columns)
    assert "fastai valley" in set(table["rule"]) and "recommended" not in set(table["rule"])
    assert (table["base_lr"] < table["max_lr"]).all()
    assert not at.error


def test_cancel_keeps_the_partial_curve():
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.end_lr").set_value("0.05").run()  # no divergence: it would run long
    _start_range_test(at, 20_000)
    run_until_events(at, "rt.job", 20)
    # the chart grows while the job runs
    assert len(chart_traces(at, "range-test")[1]["x"]) >= 1
    # and its bar says how far it is and, from the steps done so far, about how long is left
    bar = at.get("progress")[0].proto.text
    assert re.fullmatch(r"Running: \d+% · about \d+ (s|min|h \d+ min) left", bar), bar
    at.button(key="btn.rt.cancel").click().run()
    assert run_until_done(at, "rt.job") == "cancelled"
    from ui.jobs import registry

    status = registry().status(at.session_state["rt.job"])
    n = len(status.result["range_test"]["lrs"])
    assert 0 < n < 20_000
    assert any("Cancelled" in w.value for w in at.warning)


def test_use_in_designer_fills_the_designer():
    at = open_page("pages/range_test.py")
    _start_range_test(at, 60)
    run_until_done(at, "rt.job")
    from ui.jobs import registry

    rt = registry().status(at.session_state["rt.job"]).result["range_test"]
    method = at.selectbox(key="rt.method").value
    expected = rt["suggestions"][method]
    at.button(key="btn.rt.to_designer").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="designer.policy").value == "triangular"
    assert float(at.text_input(key="designer.triangular.max_lr").value) == pytest.approx(
        expected["max_lr"], rel=1e-5)
    assert float(at.text_input(key="designer.triangular.base_lr").value) == pytest.approx(
        expected["base_lr"], rel=1e-5)
    assert any("From the range test" in s.value for s in at.success)


def test_bad_range_test_input_shows_message_and_disables_start():
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.start_lr").set_value("20").run()  # above end_lr
    assert not at.exception
    assert any("start_lr" in plain(e.value) for e in at.error)
    assert at.button(key="btn.rt.start").disabled
    at.text_input(key="rt.weight_decay").set_value("-1").run()
    assert any("weight_decay" in plain(e.value) for e in at.error)


def test_training_with_a_baseline_is_compared():
    at = open_page("pages/training.py")
    at.text_input(key="train.num_iter").set_value("80").run()
    at.multiselect(key="train.baselines").set_value(["fixed"]).run()
    at.button(key="btn.train.start").click().run()
    assert run_until_done(at, "train.job") == "done"
    table = at.dataframe[0].value
    assert len(table) == 2
    assert table["best val acc"].between(0, 1).all()
    fixed = table[table["run"] == "baseline: fixed"].iloc[0]
    assert fixed["speed-up"] == "1.00×"  # the fixed LR is the reference the others are timed against
    assert any("Reference accuracy" in c.value for c in at.caption)
    loss = panel_traces(at, "train-training", "training loss (log)")
    assert len(loss) == 2
    # a trophy only for a run the table sets apart; two at the same shown accuracy tie
    tied = len({f"{v:.1%}" for v in table["best val acc"]}) == 1
    assert any("Best validation accuracy" in s.value for s in at.success) != tied
    assert any("No single best" in i.value for i in at.info) == tied


def test_missing_dataset_is_a_message_not_a_traceback():
    at = open_page("pages/range_test.py")
    at.selectbox(key="rt.dataset").set_value("mnist").run()
    _start_range_test(at, 20)
    assert run_until_done(at, "rt.job") == "failed"
    assert any("MNIST" in e.value or "mnist" in e.value for e in at.error)
    assert not any("Traceback" in e.value for e in at.error)


def test_validation_adds_smiths_accuracy_chart_and_suggestion():
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.eval_every").set_value("5").run()
    _start_range_test(at, 60)
    assert run_until_done(at, "rt.job") == "done"
    acc = chart_traces(at, "acc-learning rate")
    assert len(acc[0]["x"]) >= 5
    assert ((acc[0]["y"] >= 0) & (acc[0]["y"] <= 1)).all()
    from ui.jobs import registry

    rt = registry().status(at.session_state["rt.job"]).result["range_test"]
    assert len(rt["accuracies"]) == len(acc[0]["x"])


def test_verify_the_suggestion_in_one_click():
    at = open_page("pages/range_test.py")
    _start_range_test(at, 60)
    run_until_done(at, "rt.job")
    # SGD hands over to Smith's triangular CLR by default, and Verify trains what was chosen
    assert at.selectbox(key="rt.policy.sgd").value == "triangular"
    assert "CLR triangular" in at.button(key="btn.rt.verify").label
    at.button(key="btn.rt.verify").click().run()
    assert not at.exception, at.exception
    assert at.session_state["train.job"]
    assert at.title[0].value.endswith("Training run")
    # the form shows exactly what runs (issue 19, item 3): the schedule being verified, its
    # iterations, the fixed baseline; no leftover preset, no mid-cycle warning
    from ui.jobs import registry

    job = registry().status(at.session_state["train.job"])
    assert at.selectbox(key="train.source").value == "verify"
    assert int(at.text_input(key="train.num_iter").value) == job.config["num_iter"]
    assert at.multiselect(key="train.baselines").value == ["fixed"]
    assert [r["schedule"]["policy"] for r in job.config["runs"]] == ["triangular", "fixed"]
    clr = job.config["runs"][0]["schedule"]
    # two whole cycles in the run: it ends where a cycle ends
    assert 4 * clr["step_size_up"] == job.config["num_iter"]
    peak = clr["max_lr"]
    assert any(f"to {peak:.3g} over" in c.value for c in at.caption)
    assert not any("mid-cycle" in i.value for i in at.info)
    at.switch_page("pages/training.py")  # AppTest otherwise reruns the page it was pointed at
    assert run_until_done(at, "train.job") == "done"
    table = at.dataframe[0].value
    assert len(table) == 2
    assert table["run"].iloc[0].startswith("CLR triangular @")
    assert table["run"].iloc[1].startswith("fixed @")
    assert any("Best validation accuracy" in s.value for s in at.success)


def test_verify_trains_wsd_at_the_peak_the_hand_off_gives_it():
    from clr_core.suggest.schedule_fit import fit_factor
    from ui.jobs import registry

    at = open_page("pages/range_test.py")
    at.selectbox(key="rt.optimizer").set_value("adamw").run()
    _start_range_test(at, 40)
    run_until_done(at, "rt.job")
    assert at.selectbox(key="rt.policy.adaptive").value == "warmup_cosine"
    at.selectbox(key="rt.policy.adaptive").set_value("wsd").run()
    method = at.selectbox(key="rt.method").value
    rec = registry().status(at.session_state["rt.job"]).result["range_test"]["suggestions"][method]
    label = at.button(key="btn.rt.verify").label
    assert label.startswith("Verify: WSD at max_lr") and "fitted" in label
    at.button(key="btn.rt.verify").click().run()
    assert not at.exception, at.exception
    job = registry().status(at.session_state["train.job"])
    wsd, fixed = (r["schedule"] for r in job.config["runs"])
    assert wsd["policy"] == "wsd" and wsd["total_steps"] == job.config["num_iter"]
    assert wsd["max_lr"] == pytest.approx(rec["max_lr"] * fit_factor(wsd), rel=1e-9)
    assert wsd["max_lr"] < 0.75 * rec["max_lr"]  # WSD holds its peak: a lower one
    assert fixed == {"policy": "fixed", "lr": pytest.approx(rec["max_lr"] / 10)}
    assert job.config["optimizer"] == "adamw"
    at.switch_page("pages/training.py")
    assert run_until_done(at, "train.job") == "done"
    assert at.dataframe[0].value["run"].iloc[0].startswith("WSD @")


def test_every_tab_of_the_local_person_shows_their_job():
    """Local mode (the default): one person, so a second tab (or a reload) finds the job;
    in shared mode each person sees only theirs (test_app_ownership)."""
    mine = open_page("pages/range_test.py")
    _start_range_test(mine, 40)
    other = open_page("pages/range_test.py")
    assert other.session_state["rt.job"] == mine.session_state["rt.job"]
    assert other.button(key="btn.rt.start").disabled or job_state(other, "rt.job") == "done"
    run_until_done(mine, "rt.job")
    assert run_until_done(other, "rt.job") == "done"
    assert chart_traces(other, "range-test"), "the job's chart shows in the other tab too"


def test_training_warns_when_a_run_stops_mid_cycle():
    at = open_page("pages/designer.py")
    at.text_input(key="designer.triangular.step_size_up").set_value("100").run()
    at.switch_page("pages/training.py").run()
    assert at.selectbox(key="train.source").value == "designed"
    at.text_input(key="train.num_iter").set_value("300").run()
    assert any("mid-cycle" in i.value and "400" in i.value for i in at.info)
    at.text_input(key="train.num_iter").set_value("400").run()
    assert not any("mid-cycle" in i.value for i in at.info)


def test_a_designed_wsd_sent_to_a_shorter_run_is_fitted_not_refused():
    """Issue 28: a WSD planned for 20 steps, 19 warming up and 1 cooling down, trained for 10
    was fitted to warm-up 10 + cool-down 1 of 10 steps, which the schedule refuses."""
    from clr_core.schedules import make_schedule
    from ui.designer_state import CURRENT

    at = open_page("pages/training.py")
    at.session_state[CURRENT] = make_schedule("wsd", max_lr=0.1, total_steps=20,
                                              warmup_steps=19, decay_steps=1).to_dict()
    at.run()
    at.selectbox(key="train.source").set_value("designed").run()
    at.text_input(key="train.num_iter").set_value("10").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Planned for 20 steps, run for 10" in c.value and "warmup_steps 19 → 9" in c.value
               for c in at.caption)
    assert not at.button(key="btn.train.start").disabled
