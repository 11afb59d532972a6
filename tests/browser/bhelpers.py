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
    """Pick the run in "Open runs"; the list reruns when runs start or end, so retry."""
    for _ in range(5):
        page.get_by_test_id("stMultiSelect").filter(has_text="Open runs").click()
        try:
            page.get_by_role("option", name=option).click(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_idle(page)
    page.keyboard.press("Escape")


def open_runs(page, run_ids) -> None:
    """Pick each run id in turn in the Runs page's "Open runs", each chosen before the next.
    The previous pick's rerun can redraw the list under a slow machine's typing, so a pick
    whose option did not show is typed again (as `open_run` does)."""
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Open runs")
    for run_id in run_ids:
        for attempt in range(4):
            wait_idle(page)
            box.click()
            box.locator("input").fill(f"#{run_id} ")
            try:
                page.get_by_role("option", name=re.compile(f"^#{run_id} ")).first.click(
                    timeout=10_000)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")
                if attempt == 3:
                    raise
        page.keyboard.press("Escape")
        wait_idle(page)
        expect(box).to_contain_text(f"#{run_id} ")
