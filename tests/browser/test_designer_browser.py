"""The designer in a real browser: it opens by default, previews, refuses bad input, exports."""

from __future__ import annotations

import re

import pytest
from bhelpers import fill, screenshot, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_designer_opens_by_default_and_previews(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    expect(page.get_by_role("heading", name=re.compile("Schedule designer"))).to_be_visible()
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.first).to_be_visible()
    expect(page.get_by_text("Download JSON")).to_be_visible()
    screenshot(page, "designer_default")


def test_designer_bad_input_shows_message_and_recovers(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    fill(page, "base_lr", "0.5")
    alert = page.get_by_test_id("stAlertContentError").first
    expect(alert).to_contain_text("base_lr")
    expect(page.get_by_text("Traceback")).to_have_count(0)
    screenshot(page, "designer_bad_input")
    fill(page, "base_lr", "0.001")
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def test_designer_switch_policy_to_one_cycle_shows_momentum(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Policy").click()
    page.get_by_role("option", name=re.compile("1cycle", re.I)).first.click()
    wait_idle(page)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)
    expect(page.get_by_text("OneCycleLR").first).to_be_visible()
    screenshot(page, "designer_one_cycle")


def test_a_link_previews_a_million_iterations_of_1cycle(page, app_url):
    """The preview draws a 10^6-iteration 1cycle (its default length) with both charts and
    the LR range it spans, from the whole trace (the browser gets the decimated points)."""
    page.goto(app_url + "/?policy=one_cycle&max_lr=0.1&total_steps=1000000")
    wait_idle(page)
    expect(page.get_by_label("Iterations to preview")).to_have_value("1000000")
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)
    highest = page.get_by_test_id("stMetric").filter(has_text="Highest LR")
    expect(highest).to_contain_text("0.1")
    lowest = page.get_by_test_id("stMetric").filter(has_text="Lowest LR")
    expect(lowest).to_contain_text("4e-07")  # max_lr / 25 / 10^4 at the last step
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    screenshot(page, "designer_million")


WSD_LINK = "/?policy=wsd&max_lr=0.0003&total_steps=1000&warmup_steps=50&decay_steps=200"


def test_a_link_with_a_schedule_shows_it(page, app_url):
    page.goto(app_url + WSD_LINK)
    wait_idle(page)
    expect(page.get_by_role("combobox", name="Policy")).to_have_value(
        re.compile("Warmup-stable-decay"))
    expect(page.get_by_label("max_lr", exact=True)).to_have_value("0.0003")
    expect(page.get_by_label("decay_steps", exact=True)).to_have_value("200")
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    expect(page.get_by_text(re.compile("warm-up starts at min_lr")).first).to_be_visible()
    page.get_by_role("tab", name="Hugging Face").click()
    expect(page.get_by_text("warmup_stable_decay").first).to_be_visible()
    screenshot(page, "designer_from_link")


def test_an_edit_changes_the_url_and_copy_link_shows_it(page, app_url):
    page.goto(app_url + WSD_LINK)
    wait_idle(page)
    fill(page, "max_lr", "0.0005")
    page.wait_for_url(re.compile(r"max_lr=0\.0005"))
    assert "decay_steps=200" in page.url and "policy=wsd" in page.url
    page.get_by_role("button", name=re.compile("Copy link")).click()
    expect(page.get_by_test_id("stCode").filter(has_text="max_lr=0.0005").first).to_be_visible()
    # a fresh tab on that URL shows the edited schedule
    other = page.context.new_page()
    other.goto(page.url)
    wait_idle(other)
    expect(other.get_by_label("max_lr", exact=True)).to_have_value("0.0005")


def test_a_bad_link_value_gets_its_message_and_the_rest_applies(page, app_url):
    page.goto(app_url + "/?policy=triangular&max_lr=abc&step_size_up=300")
    wait_idle(page)
    expect(page.get_by_test_id("stAlertContentError").first).to_contain_text(
        "max_lr: 'abc' is not a number")
    expect(page.get_by_label("step_size_up", exact=True)).to_have_value("300")
    expect(page.get_by_text("Traceback")).to_have_count(0)
    screenshot(page, "designer_bad_link")


def test_add_a_phase_extends_the_schedule_and_the_link(page, app_url):
    page.goto(app_url + "/?policy=phases")
    wait_idle(page)
    page.get_by_role("button", name="Add a phase").click()
    wait_idle(page)
    page.wait_for_url(re.compile("phases=.*steps.*steps.*steps"))
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def test_a_deep_link_to_the_designer_on_a_fresh_server(page, tmp_path):
    from conftest import running_app

    with running_app(tmp_path / "runs.db", tmp_path / "log.txt") as url:
        page.goto(f"{url}/designer?policy=fixed&lr=0.25")
        wait_idle(page)
        expect(page.get_by_role("heading", name=re.compile("Schedule designer"))).to_be_visible()
        expect(page.get_by_label("lr", exact=True)).to_have_value("0.25")
        expect(page.get_by_text("Page not found")).to_have_count(0)
