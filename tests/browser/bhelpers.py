"""Small helpers shared by the browser tests."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit's script run is finished."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           timeout=timeout)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def fill(page, label: str, value: str) -> None:
    """Type into the text or number box labelled `label`, submit, and wait for the rerun."""
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def open_run(page, option: re.Pattern) -> None:
    """Pick the run whose option matches `option` in the Runs page's "Open runs" and check
    that the pick stuck. The list reruns whenever a run starts, steps or ends, which on a
    loaded machine can redraw it under the click and drop the pick, so a pick is tried
    again until the box shows it. When the pattern starts with a run id ("#12 ..."), the
    id is typed first, so the option shows however many runs the store holds."""
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Open runs")
    run_id = re.match(r"\^?#(\d+) ", option.pattern)
    picked = box.locator("[data-tag]", has_text=option)
    for attempt in range(5):
        wait_idle(page)
        if picked.count():
            return
        box.click()
        if run_id:
            box.locator("input").fill(f"#{run_id.group(1)} ")
        try:
            page.get_by_role("option", name=option).first.click(timeout=10_000)
            page.keyboard.press("Escape")
            wait_idle(page)
            expect(picked.first).to_be_visible(timeout=5_000)
            return
        except (PlaywrightTimeout, AssertionError):
            page.keyboard.press("Escape")
            if attempt == 4:
                raise


def open_runs(page, run_ids) -> None:
    """Pick each run id in turn in the Runs page's "Open runs", each chosen before the next."""
    for run_id in run_ids:
        open_run(page, re.compile(f"^#{run_id} "))
