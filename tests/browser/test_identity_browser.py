"""Who a visitor is, in a real browser (issue 29): six tabs of the local person (one from a
copied URL with someone's ``sid``) share their jobs and meet the per-person job limit together; on a shared server behind a proxy (the
test plays the proxy, sending its header from this host), a copied ``/runs?sid=…`` URL
gives its receiver nothing of the sender's, and the header from any other address counts
for nothing."""

from __future__ import annotations

import getpass
import re
import socket

import pytest
from bhelpers import fill, open_run, screenshot, wait_idle
from conftest import running_app
from playwright.sync_api import expect

from clr_core.runs.store import RunStore

pytestmark = pytest.mark.browser

LIMIT = re.compile(r"allows 2 per person \(CLR_STUDIO_MAX_JOBS_PER_PERSON\)")


def _outward_address() -> str | None:
    """This machine's address on its network (no packet is sent), or None if it has none."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_six_tabs_of_the_local_person_share_their_jobs_and_one_limit(browser, tmp_path):
    db = tmp_path / "runs.db"
    # the jobs' worker in the idle class, as a server runs it by default (tests/conftest.py
    # sets the normal class for the tests that time a job): the range test here only has to
    # be running, so it takes no core from the rest of the suite
    env = {"CLR_STUDIO_MAX_JOBS_PER_PERSON": "2", "CLR_STUDIO_WORKER_IDLE": "1"}
    with running_app(db, tmp_path / "streamlit.log", env=env) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})

        def tab(path: str):
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{url}{path}")
            wait_idle(page)
            return page

        try:
            first = tab("/range_test")
            fill(first, "Iterations", "100000")
            first.get_by_role("button", name="Start range test").click()
            expect(first.get_by_text(re.compile(r"^Running"))).to_be_visible()
            # a second tab, opened from a copied URL with someone's sid: the same person's job
            second = tab("/range_test?sid=someone-else")
            expect(second.get_by_text(re.compile(r"^Running"))).to_be_visible()
            expect(second.get_by_role("button", name="Start range test")).to_be_disabled()
            sweeps = tab("/sweeps")
            sweeps.get_by_role("button", name="Start sweep").click()
            expect(sweeps.get_by_text(re.compile(r"^Queued"))).to_be_visible()
            training = tab("/training")  # a third job: past the limit of two per person
            training.get_by_role("button", name="Start training").click()
            wait_idle(training)
            expect(training.get_by_text(LIMIT)).to_be_visible()
            expect(training.get_by_test_id("stException")).to_have_count(0)
            screenshot(training, "identity_limit_per_person")
            overview = tab("/overview")
            expect(overview.get_by_text("Local: everything here is yours", exact=False)).to_be_visible()
            runs = tab("/runs?sid=someone-else")
            open_run(runs, re.compile(r"· running"))
            wait_idle(runs)
            expect(runs.get_by_text(re.compile("made by you"))).to_be_visible()
            expect(runs.get_by_role("button", name="Save name")).to_be_visible()
            # the queued sweep first: cancelled after the range test it could start and finish
            sweeps.get_by_role("button", name="Cancel").click()
            expect(sweeps.get_by_text(re.compile(r"^Cancelled"))).to_be_visible(timeout=60_000)
            second.get_by_role("button", name="Cancel").click()  # the other tab's job: theirs too
            expect(first.get_by_text(re.compile(r"^Cancelled")).first).to_be_visible(timeout=60_000)
        finally:
            context.close()
    stored = RunStore(db).list_runs()
    assert "train" not in {r.kind for r in stored}  # the refused job never ran
    assert "range_test" in {r.kind for r in stored}
    assert {RunStore(db).owner_of(r.id) for r in stored} == {"os:" + getpass.getuser()}


def test_a_copied_url_gives_nothing_and_the_proxy_counts_only_from_its_address(browser, tmp_path):
    db = tmp_path / "runs.db"
    alices = RunStore(db).save_run("train", {"dataset": "digits"}, None, label="alices run",
                                   owner="alice")
    env = {"CLR_STUDIO_MODE": "shared", "CLR_STUDIO_TRUSTED_PROXY_HEADER": "X-Forwarded-User",
           "CLR_STUDIO_TRUSTED_PROXY_ADDRESSES": "127.0.0.1"}
    outward = _outward_address()
    address = "0.0.0.0" if outward else "127.0.0.1"
    with running_app(db, tmp_path / "streamlit.log", env=env, address=address) as url:

        def visit(path: str, user: str | None = None, base: str = url):
            context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                          extra_http_headers={"X-Forwarded-User": user} if user else {})
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{base}{path}")
            wait_idle(page)
            return page

        # alice, through the proxy: her run is hers
        alice = visit("/runs", "alice")
        open_run(alice, re.compile("alices run"))
        wait_idle(alice)
        expect(alice.get_by_text(re.compile("made by you"))).to_be_visible()
        expect(alice.get_by_role("button", name="Save name")).to_be_visible()
        link = "/runs?sid=alice&owner=alice&user=alice"  # what she might paste to a colleague
        alice.context.close()
        alice = visit("/overview", "alice")
        expect(alice.get_by_text("Shared: signed in as alice", exact=False)).to_be_visible()
        alice.context.close()

        # the link opened by someone not signed in, and by mallory through the proxy
        for who, says in ((None, "not signed in"), ("mallory", "Someone else made this run")):
            page = visit(link, who)
            open_run(page, re.compile("alices run"))
            wait_idle(page)
            expect(page.get_by_text(re.compile(says)).first).to_be_visible()
            expect(page.get_by_role("button", name="Save name")).to_have_count(0)
            expect(page.get_by_role("button", name=re.compile("Delete"))).to_have_count(0)
            screenshot(page, f"identity_copied_url_{who or 'anonymous'}")
            page.context.close()
        anonymous = visit("/range_test?sid=alice")
        expect(anonymous.get_by_role("button", name="Start range test")).to_have_count(0)
        expect(anonymous.get_by_text(re.compile("not signed in"))).to_be_visible()
        anonymous.context.close()

        if outward is None:
            pytest.skip("no non-loopback address here to play a visitor beside the proxy")
        port = url.rsplit(":", 1)[1]
        spoofed = visit("/overview", "alice", base=f"http://{outward}:{port}")
        expect(spoofed.get_by_text("Shared: you are not signed in", exact=False)).to_be_visible()
        expect(spoofed.get_by_text(re.compile("signed in as"))).to_have_count(0)
        spoofed.context.close()
    assert RunStore(db).load_run(alices).label == "alices run"
