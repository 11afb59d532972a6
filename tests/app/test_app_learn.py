"""The Learn page under AppTest: every lesson opens, instant lessons redraw on a change with no
button, training lessons run, a link opens a lesson with its values, hide= hides controls."""

from __future__ import annotations

import pytest
from apptest_helpers import open_learn, open_page, plain
from streamlit.testing.v1 import AppTest

from clr_core.lessons import LESSONS, lesson_by_key


def _chart_json(at: AppTest) -> list[str]:
    return [c.proto.spec for c in at.get("plotly_chart")]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.key)
def test_each_lesson_opens_with_controls_beside_its_text(lesson):
    at = open_page("pages/learn.py", timeout=120)
    at.radio(key="learn.lesson").set_value(lesson.key).run()
    assert not at.exception, at.exception
    assert not at.error
    assert at.header[0].value == lesson.title
    assert any("**Claim.**" in m.value for m in at.markdown)
    widget_keys = {w.key for w in at.slider} | {w.key for w in at.select_slider} | {
        w.key for w in at.radio}
    for c in lesson.controls:
        assert f"learn.{lesson.key}.{c.key}" in widget_keys
    if lesson.instant:
        assert len(at.get("plotly_chart")) >= 1  # drawn at once, no button
    assert at.query_params["lesson"] == str(LESSONS.index(lesson) + 1)


def test_moving_a_slider_redraws_the_stability_lesson_and_updates_the_link():
    at = open_learn({"lesson": "stability"})
    before = _chart_json(at)
    at.slider(key="learn.stability.lr").set_value(2.5).run()
    assert not at.exception, at.exception
    after = _chart_json(at)
    assert after != before
    assert at.query_params["lr"] == "2.5"
    assert any("diverges" in m.value for m in at.metric)


def test_a_link_opens_the_lesson_with_its_values_and_hides_what_it_lists():
    at = open_learn({"lesson": "8", "peak": "0.5", "branch_at": "0.75", "shape": "linear",
                 "hide": "cooldown,total_steps", "projector": "1"})
    assert at.header[0].value == lesson_by_key("wsd").title
    assert at.select_slider(key="learn.wsd.peak").value == 0.5
    assert at.slider(key="learn.wsd.branch_at").value == 0.75
    assert at.radio(key="learn.wsd.shape").value == "linear"
    shown = {w.key for w in at.slider} | {w.key for w in at.select_slider}
    assert "learn.wsd.cooldown" not in shown and "learn.wsd.total_steps" not in shown
    assert at.toggle(key="learn.projector").value is True
    assert at.query_params["hide"] == "cooldown,total_steps"
    link = next(c.value for c in at.code)
    assert "lesson=8" in link and "peak=0.5" in link and "branch_at=0.75" in link


def test_a_bad_link_falls_back_to_the_first_lesson_and_defaults():
    at = open_learn({"lesson": "99", "lr": "banana"})
    assert not at.exception
    # like the designer's links, the refused value is named (issue 19, item 12)
    assert any("lesson='99'" in plain(e.value) for e in at.error)
    assert at.header[0].value == LESSONS[0].title
    assert at.select_slider(key=f"learn.{LESSONS[0].key}.lr").value == LESSONS[0].defaults()["lr"]


def test_crossed_bounds_show_an_error_not_a_traceback():
    at = open_learn({"lesson": "policies", "base_lr": "0.3", "max_lr": "0.01"})
    assert not at.exception
    assert any("base_lr" in plain(e.value) for e in at.error)


def test_a_training_lesson_runs_and_shows_its_table():
    at = open_learn({"lesson": "lr_matters", "seeds": "1"})
    at.button(key="btn.learn.run.lr_matters.demo").click().run()
    assert not at.exception, at.exception
    assert not at.error
    table = at.dataframe[0].value
    assert set(table["variant"]) >= {"too low 0.001", "good 0.1", "too high 1.0"}
    assert len(at.get("plotly_chart")) >= 1


def test_the_range_test_lesson_leads_with_the_recommendation_and_its_band():
    at = open_learn({"lesson": "range_test"})
    at.button(key="btn.learn.run.range_test.demo").click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    low, high = (float(v) for v in metrics["max_lr band"].split("–"))
    assert low <= float(metrics["recommended max_lr"]) <= high
    table = next(df.value for df in at.dataframe if "origin" in df.value.columns)
    assert table["rule"].iloc[0] == "recommended"
    assert "fastai valley" in set(table["origin"])
