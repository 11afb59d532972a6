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
