"""The live pages in a real browser: every page loads, a range test streams, Cancel stops
it, suggestions appear, and "Use in designer" fills the designer."""

from __future__ import annotations

import re

import pytest
from bhelpers import fill, screenshot, wait_idle
from playwright.sync_api import expect

from ui.nav import PAGES

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("info", PAGES, ids=[p.url_path for p in PAGES])
def test_every_page_loads_without_an_exception(page, app_url, info):
    page.goto(f"{app_url}/{info.url_path}")
    wait_idle(page)
    expect(page.get_by_role("heading", level=1).first).to_contain_text(
        re.compile(info.title.split()[0], re.IGNORECASE))
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, f"page_{info.url_path}")


def _caption_text(page) -> str:
    loc = page.get_by_text(re.compile(r"Current LR"))
    return loc.first.inner_text()


def test_range_test_streams_live_then_cancel_keeps_partial_curve(page, app_url):
    page.goto(f"{app_url}/range_test")
    wait_idle(page)
    fill(page, "Iterations", "30000")
    fill(page, "End LR", "0.05")
    page.get_by_role("button", name="Start range test").click()
    # the curve grows while the job runs: the caption's iteration count changes
    caption = page.get_by_text(re.compile(r"Current LR"))
    expect(caption.first).to_be_visible(timeout=30_000)
    first = _caption_text(page)
    expect(caption.first).not_to_have_text(first, timeout=15_000)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    screenshot(page, "range_test_live")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text(re.compile("the partial curve is kept"))).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Suggested bounds")).to_be_visible()
    screenshot(page, "range_test_cancelled")


def test_range_test_suggestions_and_use_in_designer(page, app_url):
    page.goto(f"{app_url}/range_test")
    wait_idle(page)
    fill(page, "Iterations", "80")
    page.get_by_role("button", name="Start range test").click()
    # a new tab of the local person first shows their latest job (another test's): wait for
    # this one's whole curve before reading its headline
    expect(page.get_by_text(re.compile(r"\d+ of 80 iterations"))).to_be_visible(timeout=90_000)
    expect(page.get_by_text("Suggested bounds")).to_be_visible(timeout=90_000)
    # the headline: recommended max_lr, base_lr and band, above the chart that shades the band
    metric = page.get_by_test_id("stMetric").filter(has_text="Recommended max_lr")
    expect(metric).to_be_visible()
    max_lr = metric.get_by_test_id("stMetricValue").inner_text()
    assert re.fullmatch(r"[0-9.e+-]+", max_lr), max_lr
    band = page.get_by_test_id("stMetric").filter(has_text="max_lr band")
    low, high = (float(v) for v in band.get_by_test_id("stMetricValue").inner_text().split("–"))
    assert low <= float(max_lr) <= high
    chart = page.get_by_test_id("stPlotlyChart").first
    # the one label on the chart names the headline's max_lr
    expect(chart.get_by_text(f"max_lr {max_lr}", exact=True)).to_be_visible()
    expect(page.get_by_text("Other rules", exact=True)).to_be_visible()
    expect(page.get_by_text("fastai valley").first).to_be_attached()  # a canvas grid cell
    expect(page.get_by_role("button", name="Use in designer")).to_be_visible()
    screenshot(page, "range_test_done")
    page.get_by_role("button", name="Use in designer").click()
    expect(page.get_by_text(re.compile(rf"From the range test \(recommended\): base_lr [0-9.e+-]+, "
                                       rf"max_lr {re.escape(max_lr)}"))).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(page.get_by_role("heading", name=re.compile("Schedule designer"))).to_be_visible()
    screenshot(page, "designer_after_handoff")
