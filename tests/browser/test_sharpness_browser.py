"""The range-test page in a real browser draws the stability limit 2(1+β)/λmax."""

from __future__ import annotations

import re

import pytest
from bhelpers import fill, screenshot, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_range_test_draws_the_stability_limit(page, app_url):
    page.goto(f"{app_url}/range_test")
    wait_idle(page)
    fill(page, "Iterations", "60")
    fill(page, "Measure sharpness every k iterations (0 = off)", "10")
    page.get_by_role("button", name="Start range test").click()
    expect(page.get_by_text("Suggested bounds")).to_be_visible(timeout=120_000)
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart.get_by_text(re.compile(r"stability limit 2\(1\+β\)/λmax")).first).to_be_visible()
    expect(page.get_by_text(re.compile("above the dashed line at 1"))).to_be_visible()
    screenshot(page, "range_test_stability_limit")
