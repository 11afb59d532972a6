"""Take the README's two screenshots (docs/img/) from a running app.

    python -m streamlit run app.py --server.headless true --server.port 8537 &
    python scripts/readme_screenshots.py http://localhost:8537

Debian's Chromium through Playwright, 1280 px wide: the range-test page after a range test
with the form's defaults (digits) has finished, and the schedule designer as it opens.
Saved as palette PNGs so each stays small enough for a README.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect, sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def save(page, name: str) -> None:
    """The viewport as shown, quantised to 256 colours (the pages are flat colour)."""
    page.wait_for_function("!document.querySelector('[data-testid=\"stSkeleton\"]')")
    page.wait_for_timeout(1500)  # plotly's transitions settle
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    OUT.mkdir(parents=True, exist_ok=True)
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(OUT / name, optimize=True)


def main(url: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}/")
        page.wait_for_selector(IDLE)
        save(page, "designer.png")
        page.goto(f"{url}/range_test")
        page.wait_for_selector(IDLE)
        page.get_by_role("button", name="Start range test").click()
        expect(page.get_by_text("Suggested bounds")).to_be_visible(timeout=300_000)
        page.wait_for_selector(IDLE)
        # Start scrolled the sidebar down to its button; show the form from its top
        page.get_by_test_id("stSidebarContent").evaluate("el => el.scrollTo(0, 0)")
        page.set_viewport_size({"width": 1280, "height": 1250})  # the whole chart below the numbers
        save(page, "range_test.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8501")
