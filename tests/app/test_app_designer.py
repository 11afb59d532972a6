"""Streamlit AppTest tests of the schedule designer page."""

from __future__ import annotations

import json

import numpy as np
import pytest
from apptest_helpers import APP, open_designer_link, plain
from streamlit.testing.v1 import AppTest

from clr_core import schedules


@pytest.fixture
def at():
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def _charts(app):
    return app.get("plotly_chart")


def _code_blocks(app):
    return [c.value for c in app.code]


def test_designer_is_the_first_page_and_draws_a_chart(at):
    assert at.title[0].value.endswith("Schedule designer")
    assert at.selectbox(key="designer.policy").value == "triangular"
    assert len(_charts(at)) >= 1
    assert not at.error


def test_changing_policy_and_parameters_updates_the_export(at):
    at.selectbox(key="designer.policy").set_value("triangular2").run()
    at.text_input(key="designer.triangular2.max_lr").set_value("0.01").run()
    at.text_input(key="designer.triangular2.base_lr").set_value("0.002").run()
    at.text_input(key="designer.triangular2.step_size_up").set_value("300").run()
    assert not at.exception and not at.error
    exported = json.loads(next(v for v in _code_blocks(at) if v.lstrip().startswith("{")))
    assert exported["policy"] == "triangular2"
    assert exported["max_lr"] == pytest.approx(0.01)
    assert exported["base_lr"] == pytest.approx(0.002)
    assert exported["step_size_up"] == 300
    # The exported JSON rebuilds the very schedule the page previews.
    sched = schedules.from_dict(exported)
    assert sched.lr(np.array([300]))[0] == pytest.approx(0.01)
    assert sched.lr(np.array([900]))[0] == pytest.approx(0.002 + 0.008 / 2)
    code = next(v for v in _code_blocks(at) if "scheduler" in v and "import" in v)
    assert "CyclicLR" in code


def test_momentum_chart_appears_for_one_cycle(at):
    at.selectbox(key="designer.policy").set_value("one_cycle").run()
    assert not at.exception and not at.error
    assert len(_charts(at)) == 2  # LR and momentum


def test_overlay_several_schedules(at):
    at.button(key="btn.designer.add_overlay").click().run()
    at.selectbox(key="designer.policy").set_value("exp_range").run()
    at.button(key="btn.designer.add_overlay").click().run()
    assert len(at.session_state["designer.overlays"]) == 2
    fig = _charts(at)[0].proto.spec
    traces = json.loads(fig)["data"]
    assert len(traces) == 3  # two overlays and the current schedule
    at.button(key="btn.designer.clear_overlay").click().run()
    assert at.session_state["designer.overlays"] == []


@pytest.mark.parametrize(
    ("field", "text", "needle"),
    [
        ("designer.triangular.base_lr", "0.01", "base_lr"),   # base_lr > max_lr
        ("designer.triangular.max_lr", "-1", "max_lr"),
        ("designer.triangular.max_lr", "nan", "max_lr"),
        ("designer.triangular.base_lr", "abc", "base_lr"),
    ],
)
def test_invalid_input_shows_an_error_not_a_traceback(at, field, text, needle):
    at.text_input(key=field).set_value(text).run()
    assert not at.exception
    assert at.error, "an invalid parameter must show st.error"
    assert any(needle in plain(e.value) for e in at.error)


def test_zero_step_size_is_refused_with_the_rule(at):
    at.text_input(key="designer.triangular.step_size_up").set_value("0").run()
    assert not at.exception
    assert any("step_size_up" in plain(e.value) for e in at.error)


def test_rule_of_thumb_sets_step_size_from_epoch(at):
    at.text_input(key="designer.ipe").set_value("250").run()
    at.slider(key="designer.factor").set_value(6).run()
    at.button(key="btn.designer.apply_step").click().run()
    assert at.text_input(key="designer.triangular.step_size_up").value == "1500"


def test_preset_loads_smiths_one_cycle(at):
    presets = list(schedules.PRESETS)
    name = next(n for n in presets if schedules.PRESETS[n].config["policy"] == "one_cycle"
                and schedules.PRESETS[n].config.get("three_phase"))
    at.selectbox(key="designer.preset").set_value(name).run()
    at.button(key="btn.designer.load_preset").click().run()
    assert at.selectbox(key="designer.policy").value == "one_cycle"
    assert at.checkbox(key="designer.one_cycle.three_phase").value is True
    assert not at.exception and not at.error
    # the box goes on naming the preset loaded, with its description
    assert at.selectbox(key="designer.preset").value == name
    assert any(c.value == schedules.PRESETS[name].description for c in at.caption)


def test_every_policy_gets_a_form_from_its_spec(at):
    for policy in schedules.POLICIES:
        at.selectbox(key="designer.policy").set_value(policy).run()
        assert not at.exception, policy
        assert not at.error, (policy, [e.value for e in at.error])
        assert _charts(at), policy


def test_phases_add_a_phase_extends_the_schedule(at):
    at.selectbox(key="designer.policy").set_value("phases").run()
    before = at.session_state["designer.phases.phases"]
    at.button(key="btn.designer.phases.phases.add").click().run()
    assert not at.exception and not at.error
    after = at.session_state["designer.phases.phases"]
    assert after[:-1] == before and after[-1]["start"] == before[-1]["end"]
    exported = json.loads(next(v for v in _code_blocks(at) if v.lstrip().startswith("{")))
    assert exported["phases"] == after
    sched = schedules.from_dict(exported)
    total = sum(p["steps"] for p in after)
    assert sched.lr(total) == pytest.approx(after[-1]["end"])



def _exported(app) -> dict:
    return json.loads(next(v for v in _code_blocks(app) if v.lstrip().startswith("{")))


def test_a_link_opens_that_schedule():
    query = {"policy": "triangular2", "base_lr": "0.001", "max_lr": "0.006",
             "step_size_up": "300"}
    app = open_designer_link(query)
    assert app.selectbox(key="designer.policy").value == "triangular2"
    assert not app.error
    # the preset box names no preset: the form shows the link's schedule, not a preset's
    assert app.selectbox(key="designer.preset").value is None
    assert not any(p.description == c.value for p in schedules.PRESETS.values()
                   for c in app.caption)
    exported = _exported(app)
    assert {k: exported[k] for k in query} == {"policy": "triangular2", "base_lr": 0.001,
                                               "max_lr": 0.006, "step_size_up": 300}
    # the URL holds exactly to_dict's keys (the empty ones left out)
    assert set(app.query_params) == {k for k, v in exported.items() if v is not None}


def test_an_edit_changes_the_url():
    app = open_designer_link({"policy": "wsd", "max_lr": "0.0003", "total_steps": "1000",
                 "warmup_steps": "50", "decay_steps": "200"})
    app.text_input(key="designer.wsd.decay_steps").set_value("150").run()
    assert app.query_params["decay_steps"] == "150"
    assert app.query_params["max_lr"] == "0.0003"
    app.selectbox(key="designer.policy").set_value("fixed").run()
    assert dict(app.query_params) == {"policy": "fixed", "lr": "0.001"}


def test_a_bad_link_value_gets_the_typed_message_and_the_rest_applies():
    app = open_designer_link({"policy": "triangular", "max_lr": "abc", "step_size_up": "300"})
    typed = AppTest.from_file(APP, default_timeout=60)
    typed.run()
    typed.text_input(key="designer.triangular.max_lr").set_value("abc").run()
    message = next(plain(e.value) for e in typed.error
                   if "max_lr" in plain(e.value) and "abc" in e.value)
    assert message in [plain(e.value) for e in app.error]
    assert app.text_input(key="designer.triangular.step_size_up").value == "300"


def test_a_link_breaking_a_rule_gets_the_rule_and_a_bad_int_is_named():
    app = open_designer_link({"policy": "triangular", "base_lr": "0.5", "max_lr": "0.1"})
    assert any("base_lr (0.5) must be < max_lr (0.1)" in plain(e.value) for e in app.error)
    app = open_designer_link({"policy": "triangular", "step_size_up": "ten"})
    assert any("step_size_up: 'ten' is not a whole number" in plain(e.value) for e in app.error)
    unknown = open_designer_link({"policy": "nope"})
    assert any("unknown policy 'nope'" in plain(e.value) for e in unknown.error)


def test_the_help_lists_every_policy_with_its_source(at):
    text = "\n".join(m.value for m in at.markdown)
    for name, spec in schedules.POLICIES.items():
        assert f"`{name}`" in text and spec.source and spec.source in text
    for needle in ("Hägele", "Transformers", "PyTorch Image Models", "Smith"):
        assert needle in text


def test_conventions_and_exports_say_what_they_are(at):
    at.selectbox(key="designer.policy").set_value("wsd").run()
    text = "\n".join(m.value for m in at.markdown)
    assert "warm-up starts at min_lr" in text
    codes = _code_blocks(at)
    assert any('get_scheduler(\n    \'warmup_stable_decay\'' in c for c in codes)
    assert any("configure_optimizers" in c for c in codes)
    at.selectbox(key="designer.policy").set_value("welch").run()
    assert any("Not offered: no transformers scheduler computes 'welch'" in i.value
               for i in at.info)


def test_the_caption_says_how_each_kind_of_schedule_ends(at):
    """1cycle ends (torch raises past it), WSD is planned for total_steps but may be stepped
    on (as transformers allows), an exponential decay never ends."""
    for policy, needle in (("one_cycle", "Ends after"), ("wsd", "Planned for 10,000 steps"),
                           ("exp", "Open-ended")):
        at.selectbox(key="designer.policy").set_value(policy).run()
        assert any(needle in c.value for c in at.caption), (policy, [c.value for c in at.caption])

