"""`RangeTestSummary`: every field read off one result, on curves that are confident,
unreliable, disagreeing, cut short or split over param groups."""

from __future__ import annotations

import html
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from range_results import curve_result

from clr_core.engine.smoothing import ema
from clr_core.jobs.runners import verify_config
from clr_core.present import words
from clr_core.present.summary import FAMILY_LABELS, fitted_peak, summarize
from clr_core.present.words import sweep_ok_line
from clr_core.runs.reports import range_test_report
from clr_core.suggest.confidence import REASON_CODES
from clr_core.suggest.recommend import DISAGREE_DECADES
from clr_core.suggest.registry import suggest_all
from clr_core.suggest.types import Suggestion

LRS = np.logspace(-5, 1, 100)
X = np.log10(LRS)


def _result(shape, *, noise=0.02, seed=0, stop_reason="completed", **fields):
    """A range test of ``shape`` with batch noise, read as the engine reads it."""
    raw = shape + noise * np.random.default_rng(seed).standard_normal(X.size)
    sm = ema(raw, 0.98)
    sug = suggest_all(LRS, sm, raw=raw, num_iter=X.size, stop_reason=stop_reason)
    return curve_result(LRS, raw, sm, suggestions=sug, stop_reason=stop_reason, **fields)


def _good():
    """Falls from 2.3 to 0.5 between 1e-3 and 1e-1, then blows up past 1."""
    return 2.3 - 1.8 / (1 + np.exp(-(X + 2) * 3)) + np.where(X > -0.3, np.expm1((X + 0.3) * 6), 0.0)


def test_a_confident_curve_gives_one_answer_every_surface_prints():
    rt = _result(_good())
    rec = rt.suggestions["recommended"]
    s = summarize(rt)
    assert s.recommendation == rec and s.confidence == "ok" and s.caveat == ""
    assert s.primary and s.advice.warning == ""
    assert rec.reasons == ()
    assert s.headline == words.headline(rt.suggestions)
    assert s.headline.startswith(f"Recommended max_lr {rec.max_lr:.3g} (band {rec.low:.3g} to ")
    assert s.sentence.startswith(f"Train with max_lr {rec.max_lr:.3g}; between {rec.low:.3g}")
    assert s.band == (rec.low, rec.high) and s.band_text == words.band_text(rec.low, rec.high)
    assert not [w for w in s.warnings if w.code != "disagreement"]
    assert (s.warning("disagreement") is None) == (words.disagreement(rt.suggestions)[1] is None)
    assert {r["method"] for r in s.other_rules} == set(rt.suggestions) - {"recommended"}
    assert s.group_lrs == () and s.regret_shown
    text = str(s).splitlines()
    assert text[1] == s.headline and s.advice.text in text[2]
    assert FAMILY_LABELS["gd"] in str(s)
    # the run list stores the same line
    assert range_test_report(rt, {}, iters_per_epoch=None, device="cpu").headline == s.headline
    # "ok" is said with what it meant on held-out tasks, pointing to Confirm (the shipped figures)
    assert s.trust_line == sweep_ok_line() and "Confirm checks it" in s.trust_line
    assert text[3] == "  " + s.trust_line and s.trust_line in html.unescape(s._repr_html_())


@pytest.mark.parametrize(("optimizer", "policy"), [("sgd", "triangular"), ("adamw", "warmup_cosine")])
def test_the_default_hand_off_is_the_peak_verify_trains(optimizer, policy):
    rt = _result(_good())
    rec = rt.suggestions["recommended"]
    s = summarize(rt, {"optimizer": optimizer})
    plan = verify_config({"optimizer": optimizer}, max_lr=rec.max_lr, policy=policy,
                         base_lr=rec.base_lr)
    assert s.handoff_policy == policy
    assert s.handoff_peak == pytest.approx(plan["schedule"]["max_lr"], rel=1e-12)
    assert not s.handoff_fitted and s.handoff_text.endswith(f"at max_lr {rec.max_lr:.3g}")
    # WSD holds its peak for most of the run: Verify trains it lower, and says so
    wsd = verify_config({}, max_lr=rec.max_lr, policy="wsd")["schedule"]["max_lr"]
    assert fitted_peak(rec, "wsd") == pytest.approx(wsd, rel=1e-12) and wsd < rec.max_lr


def test_a_flat_curve_says_there_is_no_reliable_recommendation():
    shape = 2.3 + np.where(X > 0, np.expm1(X * 6), 0.0)  # flat until it blows up
    rt = _result(shape, noise=0.05, stop_reason="diverged")
    rec = rt.suggestions["recommended"]
    s = summarize(rt)
    assert s.confidence == "none" and not s.primary
    assert s.headline == f"No reliable recommendation: {rec.caveat}"
    assert s.warning("unreliable").text == rec.caveat
    assert s.sentence == f"The rules' best guess, not to train with unchecked: max_lr {rec.max_lr:.3g}."
    assert s.trust_line == ""  # not "ok": the advice says why, and the page points to Confirm
    assert str(s.warning("unreliable")).startswith("No reliable recommendation: ")
    # the reasons as codes beside the words, kept through the store's JSON form
    assert "no_fall" in rec.reasons and s.warning("unreliable").reasons == rec.reasons
    assert type(rec).from_dict(json.loads(json.dumps(rec.to_dict()))).reasons == rec.reasons


def test_a_curve_without_any_rule_says_so():
    rt = curve_result(LRS[:3], [1.0, 1.0, 1.0])
    s = summarize(rt)
    assert s.recommendation is None and s.advice is None and s.confidence == "none"
    assert s.headline == "no suggestion (completed)"
    assert [w.code for w in s.warnings] == ["unreliable", "no_suggestion"]
    assert s.handoff_peak is None and s.handoff_text is None and s.other_rules == ()


def test_each_param_group_gets_its_lr_and_a_language_model_no_regret():
    rt = _result(_good(), group_scales=[0.25, 1.0], reference_group=1,
                 accuracies=np.array([[10, 1e-3, np.nan, 1.2]]))
    s = summarize(rt)
    rec = rt.suggestions["recommended"]
    assert s.group_lrs == pytest.approx((rec.max_lr / 4, rec.max_lr)) and s.reference_group == 1
    assert f"group 0 {rec.max_lr / 4:.3g}, group 1 {rec.max_lr:.3g}" in s.groups_line
    assert not s.regret_shown  # validation rows without accuracy: scored by its loss
    assert summarize(rt, scored_by_loss=False).regret_shown


def test_an_adaptive_sweep_is_read_for_its_family_and_handed_to_warm_up_cosine():
    rt = _result(_good(), sharpness_kind="adam")
    s = summarize(rt)
    assert s.optimizer_family == "adam" and FAMILY_LABELS["adam"] in str(s)
    assert s.handoff_policy == "warmup_cosine"


def _rule(name, max_lr):
    return Suggestion(name, max_lr / 4, max_lr, "why", "source", 0, max_lr, 1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 0), min_size=2, max_size=6))
def test_the_rules_disagree_exactly_when_they_span_more_than_half_a_decade(logs):
    rules = {f"rule{i}": _rule(f"rule{i}", 10.0**u) for i, u in enumerate(logs)}
    s = summarize(curve_result(LRS, 2 - X * 0.1, suggestions=rules))
    span = max(logs) - min(logs)
    w = s.warning("disagreement")
    if span > DISAGREE_DECADES + 1e-9:
        assert w is not None and f"{span:.1f} decades" in w.text
        assert f"{10 ** min(logs):.3g} to {10 ** max(logs):.3g}" in w.text
    elif span < DISAGREE_DECADES - 1e-9:
        assert w is None


@settings(max_examples=60, deadline=None)
@given(confidence=st.sampled_from(["ok", "low", "none"]), past=st.booleans(),
       falling=st.booleans(), caveat=st.sampled_from(["", "the rules disagree."]))
def test_the_primary_action_and_the_warning_follow_the_recommendations_state(
        confidence, past, falling, caveat):
    base = replace(_rule("recommended", 0.01), low=0.005, high=0.02)
    rec = replace(base, confidence=confidence, caveat=caveat, past_divergence=past,
                  diverge_lr=0.008 if past else math.nan,
                  still_falling_at=1.0 if falling else math.nan)
    s = summarize(curve_result(LRS, 2 - X * 0.1, suggestions={"recommended": rec}))
    assert s.primary == rec.confident
    codes = [w.code for w in s.warnings if w.code != "disagreement"]
    if confidence == "none":
        assert codes == ["unreliable"]
    elif falling:
        assert codes == ["still_falling"]
    elif past:
        assert codes == ["past_divergence"]
    elif confidence == "low" and caveat:
        assert codes == ["low_confidence"]
    else:
        assert codes == []
    assert s.headline == words.headline({"recommended": rec})


@pytest.mark.parametrize(("shape", "cut", "stop", "code"), [
    (lambda: 2.3 + np.where(X > 0, np.expm1(X * 6), 0.0), None, "diverged", "no_fall"),
    (lambda: 1.0 + 0.8 * (X + 5) / 6 + np.where(X < -4.4, 2.0 * (-4.4 - X), 0.0), None,
     "completed", "early_minimum"),
    (_good, 70, "completed", "still_falling"),
    (_good, 55, "cancelled", "stopped_before_turn"),
])
def test_each_reason_the_caveat_gives_has_its_code(shape, cut, stop, code):
    noise = 0.01 if code == "early_minimum" else 0.02
    raw = shape() + noise * np.random.default_rng(0).standard_normal(X.size)
    n = cut or X.size
    sm = ema(raw[:n], 0.98)
    rec = suggest_all(LRS[:n], sm, raw=raw[:n], num_iter=X.size, stop_reason=stop)["recommended"]
    assert code in rec.reasons and rec.caveat
    assert set(rec.reasons) <= set(REASON_CODES)
    s = summarize(curve_result(LRS[:n], raw[:n], sm, suggestions={"recommended": rec},
                               stop_reason=stop))
    assert any(code in w.reasons for w in s.warnings)
