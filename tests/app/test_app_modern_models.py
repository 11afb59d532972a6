"""Today's models through the pages, offline: the character text set with the GPT-style
transformer and the LSTM, the ViT on digits, AdamW with its β2; Adam's stability limit is
the preconditioned one, and a language model is scored by its validation loss."""

from __future__ import annotations

import numpy as np
import pytest
from apptest_helpers import chart_traces, open_page, panel_traces, plain, run_until_done

from clr_core.runs.reports import report_from_dict
from clr_core.suggest.stability import stability_limit
from ui.jobs import registry


def _form(at, prefix: str, dataset: str, model: str, optimizer: str = "adamw"):
    at.selectbox(key=f"{prefix}.dataset").set_value(dataset).run()
    at.selectbox(key=f"{prefix}.model").set_value(model).run()
    at.selectbox(key=f"{prefix}.optimizer").set_value(optimizer).run()
    at.text_input(key=f"{prefix}.batch_size").set_value("4").run()
    at.text_input(key=f"{prefix}.beta2").set_value("0.95").run()
    at.text_input(key=f"{prefix}.weight_decay").set_value("0.1").run()


def test_char_transformer_range_test_with_adamw_draws_adams_limit():
    at = open_page("pages/range_test.py")
    _form(at, "rt", "pydoc_text", "char_transformer")
    at.text_input(key="rt.num_iter").set_value("12").run()
    at.text_input(key="rt.sharpness_every").set_value("5").run()
    at.text_input(key="rt.eval_every").set_value("6").run()
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job", timeout=300) == "done"
    assert not at.exception, at.exception
    job = registry().status(at.session_state["rt.job"])
    assert job.config["beta2"] == 0.95 and job.config["optimizer"] == "adamw"
    rt = job.result["range_test"]
    assert rt["sharpness_kind"] == "adam"
    traces = chart_traces(at, "range-test")
    limit = next(t for t in traces if t["name"].startswith("stability limit (2+2β1)"))
    # its own panel: the LR over Adam's limit at each estimate (above 1: past it)
    expected = [r[1] / stability_limit(r[2], 0.9, "adam") for r in rt["sharpness"] if r[2] and r[2] > 0]
    assert np.allclose(list(limit["y"]), expected, rtol=1e-12)
    assert any("preconditioned" in c.value for c in at.caption)
    # no accuracy for a language model: the validation loss is drawn against the LR
    names = [t.get("name", "") for t in chart_traces(at, "val-loss-lr")]
    assert "validation loss" in names
    # every suggestion carries a confidence, and a guess is never the primary action
    for s in rt["suggestions"].values():
        assert s["confidence"] in ("ok", "low", "none")
    rec = rt["suggestions"].get("recommended")
    button = at.button(key="btn.rt.to_designer")
    if rec is not None and rec["confidence"] == "none":
        assert button.proto.type != "primary"
        assert any("No reliable recommendation" in w.value for w in at.warning)
    # AdamW hands over to what it trains with: warm-up + cosine by default; WSD holds its
    # peak, so the designer gets the peak that keeps 1cycle's mean LR
    assert at.selectbox(key="rt.policy.adaptive").value == "warmup_cosine"
    at.selectbox(key="rt.method").set_value("recommended").run()
    at.selectbox(key="rt.policy.adaptive").set_value("wsd").run()
    at.button(key="btn.rt.to_designer").click().run()
    assert not at.exception, at.exception
    from clr_core.suggest.schedule_fit import for_schedule
    from clr_core.suggest.types import Suggestion

    wsd_peak = float(at.text_input(key="designer.wsd.max_lr").value)
    plan = {"policy": "wsd", "max_lr": 1.0, "total_steps": int(at.text_input(
        key="designer.wsd.total_steps").value), "warmup_steps": int(at.text_input(
        key="designer.wsd.warmup_steps").value), "decay_steps": int(at.text_input(
        key="designer.wsd.decay_steps").value)}
    expected = for_schedule(Suggestion.from_dict(rec), plan).max_lr
    assert wsd_peak == pytest.approx(expected, rel=1e-3) and wsd_peak < 0.75 * rec["max_lr"]
    assert any("keeps 1cycle's mean LR" in s.value for s in at.success)
    assert at.selectbox(key="designer.preset").value is None  # not a preset's schedule


def test_mismatched_model_and_data_is_refused_with_a_message():
    at = open_page("pages/range_test.py")
    at.selectbox(key="rt.dataset").set_value("pydoc_text").run()
    at.selectbox(key="rt.model").set_value("mlp").run()
    assert not at.exception
    assert any("reads image" in plain(e.value) and "char_transformer" in plain(e.value) for e in at.error)


def test_training_a_char_lstm_with_the_wsd_preset_reports_validation_loss():
    at = open_page("pages/training.py")
    _form(at, "train", "pydoc_text", "char_lstm")
    at.text_input(key="train.num_iter").set_value("20").run()
    at.text_input(key="train.eval_every").set_value("10").run()
    at.selectbox(key="train.source").set_value("char_lm_wsd").run()
    # the preset plans 300 steps: run for 20, its warm-up and cool-down keep their share
    assert any("Planned for 300 steps, run for 20" in c.value and "warmup_steps 30 → 2" in c.value
               for c in at.caption)
    at.multiselect(key="train.baselines").set_value([]).run()
    at.button(key="btn.train.start").click().run()
    assert run_until_done(at, "train.job", timeout=300) == "done"
    assert not at.exception, at.exception
    report = report_from_dict(registry().status(at.session_state["train.job"]).result)
    train = report.curves[0].train
    assert train.stop_reason == "completed"
    schedule = report.curves[0].config["schedule"]
    assert schedule["policy"] == "wsd"
    assert (schedule["total_steps"], schedule["warmup_steps"], schedule["decay_steps"]) == (20, 2, 4)
    assert any("Lowest validation loss" in s.value for s in at.success)
    names = [t.get("name", "") for t in panel_traces(at, "train-training", "validation loss")]
    assert names and all(n for n in names)
