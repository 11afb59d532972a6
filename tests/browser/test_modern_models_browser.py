"""The range-test page in a real browser with today's models: the character transformer
on Python's bundled docs with AdamW, its validation loss drawn against the LR, and a
headline that says how far the curve can be trusted."""

from __future__ import annotations

import re

import pytest
from bhelpers import fill, screenshot, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _choose(page, box: str, option) -> None:
    page.get_by_role("combobox", name=box).click()
    page.get_by_role("option", name=option).first.click()
    wait_idle(page)


def test_a_char_transformer_range_test_with_adamw(page, app_url):
    page.goto(f"{app_url}/range_test")
    wait_idle(page)
    _choose(page, "Data set", re.compile("Text: Python"))
    _choose(page, "Model", re.compile("Char transformer"))
    _choose(page, "Optimizer", re.compile("^AdamW"))
    expect(page.get_by_label("β2 (second moment)", exact=True)).to_be_visible()
    expect(page.get_by_label("β1 (momentum)", exact=True)).to_be_visible()  # Adam's name for it
    fill(page, "β2 (second moment)", "0.95")
    fill(page, "Batch size", "8")
    fill(page, "Iterations", "20")
    fill(page, "Measure sharpness every k iterations (0 = off)", "0")
    fill(page, "Validate every k iterations (0 = off)", "10")
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    page.get_by_role("button", name="Start range test").click()
    expect(page.get_by_text("Suggested bounds")).to_be_visible(timeout=180_000)
    expect(page.get_by_text(re.compile("No reliable recommendation|Recommended max_lr")).first
           ).to_be_visible()
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.filter(has_text="validation loss").first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "range_test_char_transformer")
    # AdamW hands over to what it trains with: warm-up + cosine unless asked otherwise
    schedule = page.get_by_role("combobox", name="Schedule")
    schedule.scroll_into_view_if_needed()
    expect(schedule).to_have_value("Warm-up + cosine")
    screenshot(page, "range_test_char_transformer_handoff")
    _choose(page, "Schedule", re.compile("^WSD"))
    # Verify trains the schedule chosen, not 1cycle
    verify = page.get_by_role("button", name=re.compile("^Verify: WSD at max_lr"))
    expect(verify).to_be_visible()
    verify.scroll_into_view_if_needed()
    screenshot(page, "range_test_verify_wsd")
    page.get_by_role("button", name="Use in designer").click()
    wait_idle(page)
    note = page.get_by_text(re.compile("keeps 1cycle's mean LR"))
    expect(note).to_be_visible(timeout=30_000)
    note.scroll_into_view_if_needed()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # the preset box names no preset: the form holds the range test's WSD
    expect(page.get_by_role("combobox", name="Preset")).to_have_value("")
    screenshot(page, "designer_wsd_from_range_test")
