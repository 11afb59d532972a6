"""Sweeps and runs in a real browser, and a running job found again after a reload (learn:
test_learn_browser.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from apptest_helpers import save_run_in_another_process
from bhelpers import fill, screenshot, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def test_weight_decay_sweep_of_three_values_draws_three_curves(page, app_url):
    page.goto(f"{app_url}/sweeps")
    wait_idle(page)
    fill(page, "Values (comma-separated)", "1e-3, 1e-4, 0")
    fill(page, "Iterations", "40")
    page.get_by_role("button", name="Start sweep").click()
    # a verdict, or a tie said as such when the values' curves suggest the same max_lr
    expect(page.get_by_text(re.compile(r"^(Use weight_decay =|No verdict)")).first
           ).to_be_visible(timeout=120_000)
    chart = page.get_by_test_id("stPlotlyChart").first
    for label in ("weight_decay=0.001", "weight_decay=0.0001", "weight_decay=0"):
        expect(chart.get_by_text(label, exact=True).first).to_be_visible()
    screenshot(page, "sweep_weight_decay")


def test_a_run_saved_by_another_process_reopens_with_the_same_numbers(page, app_url, app_db):
    saved = save_run_in_another_process(app_db, "saved elsewhere")
    page.goto(f"{app_url}/runs")
    wait_idle(page)
    page.get_by_test_id("stMultiSelect").filter(has_text="Open runs").click()
    page.get_by_role("option", name=re.compile(f"#{saved['run_id']} .*saved elsewhere")).click()
    page.keyboard.press("Escape")
    wait_idle(page)
    expect(page.get_by_role("heading", name=re.compile(f"Run #{saved['run_id']}"))).to_be_visible()
    # the suggestion marker carries the very number the other process computed
    marker = f"recommended: max_lr {saved['suggestions']['recommended']['max_lr']:.3g}"
    expect(page.get_by_test_id("stPlotlyChart").first.get_by_text(marker)).to_be_visible()
    screenshot(page, "runs_reopened")


def test_a_reload_finds_the_running_job_again(page, own_app_url):
    page.goto(f"{own_app_url}/range_test")
    wait_idle(page)
    fill(page, "Iterations", "30000")
    fill(page, "End LR", "0.05")
    page.get_by_role("button", name="Start range test").click()
    expect(page.get_by_text(re.compile(r"Current LR")).first).to_be_visible(timeout=30_000)
    page.reload()
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"Current LR")).first).to_be_visible(timeout=30_000)
    cancel = page.get_by_test_id("stSidebarUserContent").get_by_role("button", name="Cancel")
    expect(cancel).to_be_enabled()  # the range test's own (Confirm has one under the result)
    cancel.click()
    expect(page.get_by_text(re.compile("the partial curve is kept"))).to_be_visible(timeout=30_000)


def test_a_deep_link_to_a_fresh_server_gets_the_full_app(page, tmp_path):
    """Streamlit serves the first request of a new server from the legacy pages/ folder;
    the page must still come up through app.py: wide layout, our page list, no error."""
    from conftest import running_app

    with running_app(tmp_path / "runs.db", tmp_path / "log.txt") as url:
        page.goto(f"{url}/training")
        wait_idle(page)
        expect(page.get_by_role("heading", name=re.compile("Training run"))).to_be_visible()
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav).to_contain_text("Schedule designer")
        expect(nav).not_to_contain_text("app")
        expect(page.get_by_text("Page not found")).to_have_count(0)
        screenshot(page, "deep_link_fresh_server")
