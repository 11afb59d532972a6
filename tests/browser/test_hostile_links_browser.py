"""Issue 29 in a real browser: the probe's link payloads open the designer and Learn with
their text quoted in an error, and the DOM holds no link to the attacker's host, no image
from another host and no element the payload wrote; runs named and failed with URLs and
server paths, and a run whose events lack their iteration, show text, roles and an error
id. Every page of these cases is searched for the server's paths."""

from __future__ import annotations

import re
import sqlite3
import sysconfig
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
from bhelpers import open_run, screenshot, wait_idle
from playwright.sync_api import expect

from clr_core.runs.store import RunStore
from clr_core.settings import get_settings
from clr_core.setup.data_roots import allowed_roots

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PHISH = "[Click here](https://evil.example/phish)"
PIXEL = "![x](https://evil.example/pixel.png)"
BARE = "https://evil.example/phish www.evil.example phish@evil.example"
HTML = '<img src="https://evil.example/p.png"><a href="https://evil.example">x</a><b id="injected">b</b>'

#: (path, query): the probe's links and their cousins; each payload is quoted on the page.
LINKS = [
    ("/", {"policy": "triangular", "base_lr": PHISH}),
    ("/", {"policy": "triangular", PIXEL: "1"}),
    ("/", {"policy": "phases", "phases": "[Click me](https://evil.example) 0:1e-3"}),
    ("/", {"policy": "triangular", "max_lr": BARE}),
    ("/", {"policy": "one_cycle", "total_steps": HTML}),
    ("/learn", {"lesson": "[Click me](https://evil.example)"}),
    ("/learn", {"lesson": "1", "lr": BARE + " " + PIXEL}),
]


def _server_paths(app_db: Path) -> list[str]:
    paths = {tempfile.gettempdir(), str(Path.home()), str(ROOT), str(app_db), str(app_db.parent),
             sysconfig.get_paths()["purelib"], *(str(p) for p in allowed_roots())}
    return sorted(p for p in paths if len(p) > 1)


def _assert_no_injection(page, app_url: str, app_db: Path) -> None:
    """No link to evil.example, no image from another host, no element the payload wrote,
    no traceback and no server path in what the page shows."""
    links = page.eval_on_selector_all(  # a heading's own "#run-1-…-evil-example" anchor stays
        "a[href]", "els => els.filter(e => new URL(e.href).hostname.includes('evil'))"
        ".map(e => [e.closest('[data-testid]')?.dataset.testid, e.outerHTML.slice(0, 300)])")
    assert links == []
    expect(page.locator("#injected")).to_have_count(0)
    sources = page.eval_on_selector_all("img", "els => els.map(e => e.getAttribute('src') || '')")
    remote = [s for s in sources if re.match(r"^(https?:)?//", s) and not s.startswith(app_url)]
    assert remote == []
    text = page.locator("body").inner_text()
    assert "Traceback" not in text
    leaked = [p for p in _server_paths(app_db) if p in text]
    assert leaked == [], leaked


@pytest.mark.parametrize(("path", "query"), LINKS, ids=range(len(LINKS)))
def test_the_link_payloads_are_quoted_as_text(page, app_url, app_db, path, query):
    page.goto(f"{app_url}{path}?{urlencode(query)}")
    wait_idle(page)
    alert = page.get_by_test_id("stAlertContentError").filter(has_text="evil.example")
    expect(alert.first).to_be_visible()
    _assert_no_injection(page, app_url, app_db)
    screenshot(page, f"hostile_link_{LINKS.index((path, query))}")


def test_runs_with_urls_paths_and_broken_events_show_text_roles_and_an_error_id(page, app_url,
                                                                               app_db):
    store = RunStore(app_db)
    data = allowed_roots()[0]
    named = store.save_run("range_test", {"dataset": "mnist"}, None, status="failed",
                           label=f"hostile {BARE} {PHISH}",
                           error=f"DatasetUnavailable: not found at {data}/MNIST/raw ({BARE}) {HTML}")
    old = store.save_run("range_test", {"dataset": "mnist"}, None, status="failed",
                         label="hostile old")
    with sqlite3.connect(app_db) as conn:  # stored before errors were scrubbed
        conn.execute("UPDATE runs SET error = ? WHERE id = ?",
                     (f"OSError: {Path.home()}/.cache/clr_studio/MNIST/raw/t10k.gz", old))
    broken = store.save_run("range_test", {"dataset": "digits", "num_iter": 5}, None,
                            status="interrupted", label="hostile broken",
                            events=[{"kind": "step", "lr": 0.01, "loss": 2.3}])
    page.goto(f"{app_url}/runs")
    wait_idle(page)

    open_run(page, re.compile(f"#{named} .*hostile https"))
    wait_idle(page)
    expect(page.get_by_role("heading", name=re.compile(f"Run #{named}"))).to_be_visible()
    failure = page.get_by_test_id("stAlertContentError").filter(has_text="This run failed")
    expect(failure).to_contain_text("<data root>/MNIST/raw")
    expect(failure).to_contain_text("evil.example")
    _assert_no_injection(page, app_url, app_db)
    screenshot(page, "hostile_run")

    page.goto(f"{app_url}/runs")
    wait_idle(page)
    open_run(page, re.compile(f"#{old} .*hostile old"))
    wait_idle(page)
    failure = page.get_by_test_id("stAlertContentError").filter(has_text="This run failed")
    expect(failure).to_contain_text("MNIST/raw/t10k.gz")
    _assert_no_injection(page, app_url, app_db)

    page.goto(f"{app_url}/runs")
    wait_idle(page)
    open_run(page, re.compile(f"#{broken} .*hostile broken"))
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"error id [0-9a-f]{8}")).first).to_be_visible()
    _assert_no_injection(page, app_url, app_db)
    screenshot(page, "hostile_broken_events")


def test_an_upload_over_the_limit_is_refused_with_its_size(page, app_url, tmp_path):
    """Issue 29's 50 MB JSON: the uploader refuses a file over the limit (the operator's
    CLR_STUDIO_MAX_UPLOAD_MB) before sending it, and nothing echoes it."""
    limit = get_settings().max_upload_mb
    big = tmp_path / "big.json"
    big.write_text('{"policy": "' + "A" * (6 * 1024 * 1024) + '"}')
    page.goto(app_url)
    wait_idle(page)
    page.get_by_text("Import a schedule from JSON").click()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(big))
    expect(page.get_by_text(re.compile(rf"File must be {limit}(\.0)? ?MB or smaller")).first
           ).to_be_visible()
    expect(page.get_by_role("button", name="Load uploaded schedule")).to_have_count(0)
    assert "AAAAAAAAAA" not in page.locator("body").inner_text()
    page.get_by_text(re.compile("File must be")).first.scroll_into_view_if_needed()
    screenshot(page, "hostile_upload_refused")
