"""What a newcomer met on the second walk (issue 32), through the pages: a sweep that
ended too early, a recommendation past the divergence, refused teacher links, the
designer's previews and hand-off notes, readable labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from apptest_helpers import chart_traces, open_page, plain, run_until_done

from clr_core.engine.results import RangeTestResult
from clr_core.engine.smoothing import ema
from clr_core.runs.reports import RangeTestReport
from clr_core.runs.store import RunStore
from clr_core.suggest.registry import suggest_all


def _open_stored_range_test(lrs, raw, label: str, dataset: str = "pydoc_text"):
    """The runs page with a stored range test of this curve open (the headline the live
    page draws, through the same function)."""
    sm = ema(raw, 0.98)
    out = suggest_all(lrs, sm, raw=raw, num_iter=lrs.size, stop_reason="completed",
                      family="adam")
    rt = RangeTestResult(lrs, sm, sm, False, "completed", suggestions=out, num_iter=lrs.size,
                         start_lr=float(lrs[0]), end_lr=float(lrs[-1]))
    config = {"dataset": dataset, "optimizer": "adamw"}
    run_id = RunStore().save_run("range_test", config,
                                 RangeTestReport(rt, config=config).to_dict(), label=label)
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    assert not at.exception, at.exception
    return at, out


def test_a_sweep_still_falling_at_its_end_says_raise_end_lr_and_is_no_train_with():
    """Item 1: End LR 1e-4 with the loss still falling: no "Train with max_lr … still
    falling fast" as a confident answer; the warning names the last LR and 100× it."""
    lrs = np.logspace(-7, -4, 100)
    x = np.log10(lrs / 1e-4)
    raw = 2.3 - 1.8 / (1 + np.exp(-(x + 1.5) * 3)) \
        + 0.01 * np.random.default_rng(0).standard_normal(lrs.size)
    at, out = _open_stored_range_test(lrs, raw, "too short")
    rec = out["recommended"]
    warnings = [plain(w.value) for w in at.warning]
    assert any("The sweep ended too early" in w and
               f"the loss is still falling at the last LR {lrs[-1]:.3g}: raise End LR to at "
               f"least {lrs[-1] * 100:.3g} (100×)" in w for w in warnings), warnings
    texts = [plain(m.value) for m in at.markdown]
    assert not any("Train with max_lr" in t for t in texts)
    assert any(f"max_lr {rec.max_lr:.3g} is a lower bound" in t for t in texts)
    assert not any(plain(i.value).startswith("Low confidence") for i in at.info)
    assert math.isfinite(rec.still_falling_at)


# ------------------------------------------------------------------ Learn: refused link values


def test_every_lesson_names_a_refused_link_value():
    """Item 7: ``?lesson=3&lr=banana`` said nothing (lesson 3 has no ``lr``) while
    ``?lesson=1&lr=banana`` named it; every lesson names it now, and a good link says nothing."""
    from apptest_helpers import open_learn

    from clr_core.lessons import LESSONS

    for number, lesson in enumerate(LESSONS, start=1):
        at = open_learn({"lesson": str(number), "lr": "banana"})
        assert at.session_state["learn.lesson"] == lesson.key
        errors = " ".join(plain(e.value) for e in at.error)
        assert "lr='banana'" in errors, (number, errors)
    first = LESSONS[0]
    ok = open_learn({"lesson": "1", first.controls[0].key: first.controls[0].encode(
        first.controls[0].default), "projector": "1"})
    assert not ok.error


def test_a_link_value_for_another_lesson_is_named_not_dropped():
    from clr_core.lessons import LESSONS, lesson_problems

    every = {c.key for lesson in LESSONS for c in lesson.controls}
    rt = next(lesson for lesson in LESSONS if lesson.key == "range_test")
    said = lesson_problems(rt, {"lesson": "3", "lr": "0.1", "seed": "1", "hide": "seed",
                                "policy": "triangular"}, every)
    assert len(said) == 1 and "lr='0.1' is not a setting of this lesson" in said[0]
    assert "num_iter, seed" in said[0]  # what it does have


# ------------------------------------------------------------------ designer previews


@pytest.mark.parametrize("preset", ["small_vit_cosine", "char_lm_wsd"])
def test_a_short_preset_is_previewed_over_its_own_length(preset):
    """Item 8: a 300-step preset was previewed over 1000 (warm-up cosine climbing back up
    twice after 300, WSD 70 % flat at zero): the preview ends where the schedule ends."""
    from clr_core import schedules
    from clr_core.schedules import rules

    at = open_page("pages/designer.py")
    at.selectbox(key="designer.preset").set_value(preset).run()
    at.button(key="btn.designer.load_preset").click().run()
    assert not at.exception, at.exception
    length = rules.planned_length(schedules.PRESETS[preset].schedule())
    assert length == 300
    assert int(at.text_input(key="designer.n").value) == length
    lr = next(t for t in chart_traces(at, "schedule-lr") if len(t.get("x", [])))
    assert float(np.max(lr["x"])) <= length


def test_a_new_policy_with_an_end_is_previewed_over_its_length():
    from clr_core import schedules

    at = open_page("pages/designer.py")
    at.selectbox(key="designer.policy").set_value("warmup_cosine").run()
    total = schedules.from_dict(at.session_state["designer.current"]).planned_steps
    assert int(at.text_input(key="designer.n").value) == total


def test_the_designer_s_first_open_names_the_preset_the_form_shows():
    """Item 10: the box said "Digits demo: triangular, 2 cycles" (max_lr 0.1, step 75)
    while the form and chart showed 0.001/0.006, step 2000."""
    from clr_core import schedules

    at = open_page("pages/designer.py")
    name = at.selectbox(key="designer.preset").value
    policy = at.selectbox(key="designer.policy").value
    form = schedules.make_schedule(policy, **{
        k: float(at.text_input(key=f"designer.{policy}.{k}").value)
        for k in ("base_lr", "max_lr", "step_size_up")})
    assert name is not None  # Smith 2015's triangular is the form's default
    preset = schedules.PRESETS[name]
    assert preset.schedule().to_dict() == form.to_dict()
    assert int(at.text_input(key="designer.ipe").value) == preset.iters_per_epoch


def test_the_designer_s_batch_size_hint_reads_plainly():
    """Item 16: readable optimizer names, and "0.006 × √4 = 0.012"."""
    at = open_page("pages/designer.py")
    box = at.selectbox(key="designer.batch.optimizer")
    assert "Schedule-free AdamW" in box.options and "adamw_schedulefree" not in box.options
    box.set_value("adam").run()
    at.number_input(key="designer.batch.new").set_value(512).run()
    assert not at.exception, at.exception
    hints = [plain(i.value) for i in at.info]
    assert any("with Adam:" in h and "LR 0.006 × √4 = **0.012**" in h for h in hints), hints


# ------------------------------------------------------------------ other rules on a language model


def _turning_curve():
    lrs = np.logspace(-5, 1, 100)
    x = np.log10(lrs)
    return lrs, 2.3 - 1.8 / (1 + np.exp(-(x + 2) * 3)) \
        + np.where(x > -0.3, np.expm1((x + 0.3) * 6), 0.0) \
        + 0.02 * np.random.default_rng(1).standard_normal(lrs.size)


def test_other_rules_on_a_language_model_claim_no_accuracy_points():
    """Item 12: "points of validation accuracy lost" with the digits benchmark's numbers,
    on a task scored by its loss: the regret is not shown there, and the heading says why;
    a classification task keeps it."""
    from clr_core.present.tables import REGRET_COLUMNS

    at, _ = _open_stored_range_test(*_turning_curve(), "lm", dataset="pydoc_text")
    heads = [plain(m.value) for m in at.markdown if "Other rules" in m.value]
    assert heads and not any("points of validation accuracy lost" in h for h in heads)
    assert any("scored by its loss" in h for h in heads)
    assert not set(REGRET_COLUMNS) & set(at.table[0].value.columns)
    at, _ = _open_stored_range_test(*_turning_curve(), "digits", dataset="digits")
    assert any("points of validation accuracy lost" in plain(m.value) for m in at.markdown)
    assert set(REGRET_COLUMNS) <= set(at.table[0].value.columns)


def test_a_range_test_whose_validation_has_no_accuracy_is_scored_by_loss():
    from clr_core.setup.data_catalogue import scored_by_loss

    lrs, raw = _turning_curve()
    val = np.array([[10.0, lrs[10], np.nan, 2.1], [50.0, lrs[50], np.nan, 1.2]])
    rt = RangeTestResult(lrs, raw, raw, False, "completed", accuracies=val)
    assert scored_by_loss(rt) and scored_by_loss(rt, {"dataset": "digits"})
    val[:, 2] = [0.3, 0.8]
    assert not scored_by_loss(RangeTestResult(lrs, raw, raw, False, "completed", accuracies=val))
    plain_rt = RangeTestResult(lrs, raw, raw, False, "completed")
    assert not scored_by_loss(plain_rt, {"dataset": "digits"})
    assert scored_by_loss(plain_rt, {"dataset": "pydoc_text"})


def test_the_phases_preview_follows_an_added_phase_unless_a_length_was_typed():
    """Item 9: after "Add a phase" the table totalled 1100 steps and the preview stayed at 1000."""
    from clr_core import schedules

    def total(at):
        return schedules.from_dict(at.session_state["designer.current"]).params["phases"]

    at = open_page("pages/designer.py")
    at.selectbox(key="designer.policy").set_value("phases").run()
    before = sum(p["steps"] for p in total(at))
    assert int(at.text_input(key="designer.n").value) == before
    at.button(key="btn.designer.phases.phases.add").click().run()
    assert not at.exception, at.exception
    after = sum(p["steps"] for p in total(at))
    assert after == before + 100
    assert int(at.text_input(key="designer.n").value) == after
    at.text_input(key="designer.n").set_value("5000").run()  # typed: kept
    at.button(key="btn.designer.phases.phases.add").click().run()
    assert int(at.text_input(key="designer.n").value) == 5000


# ------------------------------------------------------------------ training table


def _train_report():
    from clr_core.engine.events import Event
    from clr_core.engine.results import TrainResult
    from clr_core.runs.reports import TrainCurve, TrainReport

    def run(label, accs):
        its = [10 * (i + 1) for i in range(len(accs))]
        t = TrainResult(iterations=list(range(its[-1])), lrs=[0.1] * its[-1],
                        momentums=[0.9] * its[-1], losses=[1.0] * its[-1],
                        evals=[Event("eval", i, val_accuracy=a, val_loss=1 - a)
                               for i, a in zip(its, accs, strict=True)],
                        final_val_accuracy=accs[-1], best_val_accuracy=max(accs),
                        best_iteration=its[accs.index(max(accs))], num_iter=its[-1])
        return TrainCurve(label, t)

    return TrainReport([run("fixed @ 0.1", [0.5, 0.9, 0.975]), run("CLR", [0.6, 0.975, 0.9751]),
                        run("too low", [0.1, 0.2, 0.3])], config={"dataset": "digits"})


def test_two_runs_tied_at_the_table_s_precision_get_no_trophy():
    """Item 11: 🏆 went to one of two runs that tie at 97.5 %; a run that never reached the
    reference accuracy showed "None"."""
    from clr_core.present.tables import leaders

    assert leaders({"a": 0.975, "b": 0.9751, "c": 0.3}) == ["a", "b"]
    assert leaders({"a": 0.975, "b": 0.96, "c": None}) == ["a"]
    assert leaders({"a": 2.0, "b": 1.5}, higher=False, fmt="{:.4g}") == ["b"]
    assert leaders({"a": float("nan")}) == []
    report = _train_report()
    run_id = RunStore().save_run("train", report.config, report.to_dict(), label="tie")
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    assert not at.exception, at.exception
    assert not any("🏆" in str(s.proto.icon) or "Best validation accuracy" in s.value
                   for s in at.success)
    tie = [plain(i.value) for i in at.info if "No single best" in i.value]
    assert tie and "fixed @ 0.1" in tie[0] and "CLR" in tie[0] and "97.5%" in tie[0]
    table = next(d.value for d in at.dataframe
                 if "iterations to reference accuracy" in d.value.columns)
    reached = dict(zip(table["run"], table["iterations to reference accuracy"], strict=True))
    assert reached["too low"] == "not reached" and reached["CLR"] == "20"


def test_the_overview_shows_a_long_headline_whole():
    """Item 17: "No reliable recommendation" cut mid-word on the Overview (the table cut
    every cell at a user text's 400 characters; the caveat's reasons and next step run longer)."""
    from dataclasses import replace

    from clr_core.runs.reports import range_test_report

    lrs = np.logspace(-5, 1, 100)
    x = np.log10(lrs)
    raw = 2.3 + np.where(x > 0, np.expm1(x * 6), 0.0) \
        + 0.05 * np.random.default_rng(0).standard_normal(lrs.size)  # flat, then blows up
    sm = ema(raw, 0.98)
    out = suggest_all(lrs, sm, raw=raw, num_iter=100, stop_reason="diverged")
    rec = out["recommended"]
    assert rec.confidence == "none"
    long = (rec.caveat + " Even without the most extreme rule at each end, the rules disagree "
            "by 2.7 decades (1e-05 to 0.005).") * 2  # the reasons a real curve can pile up
    out["recommended"] = replace(rec, caveat=long)
    rt = RangeTestResult(lrs, sm, sm, True, "diverged", suggestions=out, num_iter=100)
    report = range_test_report(rt, {"dataset": "digits"}, iters_per_epoch=None, device=None)
    assert report.headline.startswith("No reliable recommendation") and len(report.headline) > 400
    RunStore().save_run("range_test", report.config, report.to_dict(), label="flat one")
    at = open_page("pages/overview.py")
    cells = [plain(c) for c in at.table[0].value["headline"]]
    assert report.headline in cells


# ------------------------------------------------------------------ Verify keeps the optimizer


def test_verify_fills_the_training_form_with_the_range_test_s_optimizer():
    """Item 2 (the form part): ViT, AdamW, β2 0.98, weight decay 0.05 → the training form
    said β2 0.999. Every field of the shared form reaches it, and the form's config is the
    range test's, field by field."""
    from dataclasses import fields

    from clr_core.jobs.runners import verify_config
    from clr_core.setup.configs import DataModelConfig

    rt_config = {**DataModelConfig().__dict__, "dataset": "digits", "model": "mlp",
                 "optimizer": "adamw", "beta2": 0.98, "weight_decay": 0.05, "momentum": 0.85,
                 "batch_size": 32, "seed": 3, "start_lr": 1e-5, "end_lr": 1.0, "num_iter": 50}
    plan = verify_config(rt_config, max_lr=0.01, policy="warmup_cosine")
    at = open_page("pages/training.py")
    at.session_state["train.pending"] = (plan, "verifying", True)  # as Verify does: started
    at.run()
    assert not at.exception, at.exception
    assert float(at.text_input(key="train.beta2").value) == 0.98
    assert float(at.text_input(key="train.weight_decay").value) == 0.05
    assert float(at.text_input(key="train.momentum").value) == 0.85
    assert at.selectbox(key="train.optimizer").value == "adamw"
    assert run_until_done(at, "train.job") == "done"
    from ui.jobs import registry

    job = registry().status(at.session_state["train.job"])
    shared = {f.name for f in fields(DataModelConfig)} - {"device"}  # "auto" may resolve
    unset = DataModelConfig()  # a field the form does not draw here (Nesterov for AdamW)
    assert {k: job.config.get(k, getattr(unset, k)) for k in shared} == \
        {k: rt_config.get(k) for k in shared}


def test_a_preset_trained_on_the_training_page_is_named_as_the_preset():
    """Item 11: a preset's run was labelled "designed: triangular"."""
    from clr_core import schedules
    from ui.jobs import registry

    at = open_page("pages/training.py")
    source = at.selectbox(key="train.source").value
    assert source in schedules.PRESETS  # the page starts from a preset (the digits demo)
    at.text_input(key="train.num_iter").set_value("20").run()
    at.button(key="btn.train.start").click().run()
    assert run_until_done(at, "train.job") == "done"
    job = registry().status(at.session_state["train.job"])
    assert job.config["runs"][0]["label"] == f"preset: {schedules.PRESETS[source].label}"
    assert not any(r["label"].startswith("designed") for r in job.config["runs"])


def test_the_training_lr_plot_is_as_tall_as_the_loss_plot():
    """Item 11: the LR plot was squashed to about 190 px under a 280 px loss plot."""
    import json

    report = _train_report()
    run_id = RunStore().save_run("train", report.config, report.to_dict(), label="tall")
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    heights = {}  # one chart, a panel per quantity: each panel's height in pixels
    for chart in at.get("plotly_chart"):
        layout = json.loads(chart.proto.spec)["layout"]
        if not str(layout.get("uirevision", "")).endswith("-training"):
            continue
        plot = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
        for k, axis in layout.items():
            if k.startswith("yaxis"):
                lo, hi = axis["domain"]
                heights[axis["title"]["text"]] = (hi - lo) * plot
    assert heights["learning rate"] >= heights["training loss (log)"] > 200
