"""The Learn page in a real browser: a slider redraws a lesson with no button, a link opens a
lesson with its values, a training demo runs, figures download."""

from __future__ import annotations

import re

import pytest
from bhelpers import screenshot, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# the first trace's data as drawn (plotly may hold it as typed arrays or base64 blocks)
_FIRST_TRACE = ("() => { const d = document.querySelector('.js-plotly-plot').data[0]; "
                "return JSON.stringify([d.x, d.y]); }")


def _slider(page, label: str):
    return page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")


def test_a_slider_change_redraws_a_schedule_lesson_without_a_button(page, app_url):
    page.goto(f"{app_url}/learn?lesson=4")
    wait_idle(page)
    expect(page.get_by_role("heading", name=re.compile("triangular, triangular2"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Run"))).to_have_count(0)
    page.wait_for_selector(".js-plotly-plot")
    before = page.evaluate(_FIRST_TRACE)
    step = _slider(page, "Step size")
    step.focus()
    for _ in range(5):
        step.press("ArrowRight")
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"step_size=(2[2-9]|3\d)0&"))
    page.wait_for_function(f"(b) => ({_FIRST_TRACE})() !== b", arg=before)
    screenshot(page, "learn_policies_slider")


def test_a_link_opens_the_lesson_with_its_values(page, app_url):
    page.goto(f"{app_url}/learn?lesson=2&lr=3.5&momentum=0.5&condition=100&hide=condition")
    wait_idle(page)
    expect(page.get_by_role("heading", name="2. The stability limit")).to_be_visible()
    expect(_slider(page, "Learning rate η")).to_have_value("3.5")
    expect(_slider(page, "Momentum β")).to_have_value("0.5")
    expect(page.get_by_test_id("stSlider").filter(has_text="Condition number")).to_have_count(0)
    # 3.5 is past 2(1+β)/λmax = 3: the lesson says so, and the rate chart marks the limit
    expect(page.get_by_text(re.compile("3.5 — diverges"))).to_be_visible()
    expect(page.get_by_text("2(1+β)/λmax = 3").first).to_be_visible()
    page.get_by_role("button", name=re.compile("Copy link")).click()
    expect(page.get_by_text(re.compile(r"lesson=2.*lr=3\.5"))).to_be_visible()
    screenshot(page, "learn_stability_link")


def test_a_training_lesson_streams_and_shows_its_table(page, app_url):
    page.goto(f"{app_url}/learn?lesson=1&seeds=1")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Run it yourself")).click()
    # while it trains: how many of its runs are done and, from their time, how long is left
    expect(page.get_by_text(re.compile(
        r"^Trained [0-3] of 4 runs · (about \d+ s left|estimating the time left…)$"))).to_be_visible()
    expect(page.get_by_text("the best of these four", exact=False).first).to_be_visible(timeout=120_000)
    expect(page.get_by_text(re.compile(r"^Trained \d of 4 runs"))).to_have_count(0)  # gone when done
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    screenshot(page, "learn_lr_matters")


def test_a_figure_downloads_as_svg(page, app_url):
    page.goto(f"{app_url}/learn?lesson=7")
    wait_idle(page)
    with page.expect_download(timeout=90_000) as info:
        page.get_by_role("button", name="⬇ SVG").first.click()
    path = info.value.path()
    with open(path, "rb") as f:
        assert f.read(200).lstrip().startswith(b"<svg")
