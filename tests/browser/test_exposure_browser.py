"""A visitor types server paths into "Data folder": nothing outside the roots the operator
allows is walked, listed or stored, in the status line, the job's error or the Runs page."""

from __future__ import annotations

import os
import re

import pytest
from bhelpers import fill, screenshot, wait_idle
from conftest import running_app
from playwright.sync_api import expect

from clr_core.redact import scrub_paths

# one worker runs this file (pytest-xdist --dist loadgroup): its module fixtures start once
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("exposure")]

EXPOSURE = ["/root", "/etc", "../..", "/proc/self", "/usr", "~/.ssh", "pets/../../secret"]
#: Names that sit in those folders: none may appear on the page.
FOREIGN = ["passwd", "hostname", ".bashrc", ".cache", "sbin", "libexec", "mountinfo",
           "cmdline", "environ", "topsecret", "class folder(s)"]
REFUSED = "outside the folders this server reads data from"


@pytest.fixture(scope="module")
def confined_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("exposure")
    root = base / "data"
    for cls in ("cats", "dogs"):
        (root / "pets" / cls).mkdir(parents=True)
        (root / "pets" / cls / "0.png").write_bytes(b"")
    (base / "secret" / "topsecret").mkdir(parents=True)
    saved = {k: os.environ.get(k) for k in ("CLR_STUDIO_DATA", "CLR_STUDIO_DATA_ROOTS")}
    os.environ["CLR_STUDIO_DATA"] = str(root)
    os.environ.pop("CLR_STUDIO_DATA_ROOTS", None)  # only the data root is allowed
    try:
        with running_app(base / "runs.db", base / "streamlit.log") as url:
            yield url
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _body(page) -> str:
    return page.locator("body").inner_text()


def test_typed_server_paths_are_refused_and_nothing_outside_the_roots_appears(page,
                                                                             confined_app):
    page.goto(f"{confined_app}/range_test")
    wait_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Data set").click()
    page.get_by_role("option", name=re.compile("Your images")).click()
    wait_idle(page)
    fill(page, "Data folder", "pets")
    expect(page.get_by_text(re.compile(r"2 class folder\(s\), 2 file\(s\)"))).to_be_visible()
    for typed in EXPOSURE:
        fill(page, "Data folder", typed)
        echoed = scrub_paths(typed)  # a server folder in the echo is named by role ("/root": "~")
        expect(page.get_by_text(f"The data folder {echoed!r} is {REFUSED}").first).to_be_visible()
        text = _body(page)
        assert "Traceback" not in text
        for name in FOREIGN:
            assert name not in text, (typed, name)
    fill(page, "Data folder", "/etc")  # refused by the config too: nothing can start
    expect(page.get_by_text(f"The data folder '/etc' is {REFUSED}").first).to_be_visible()
    expect(page.get_by_role("button", name="Start range test")).to_be_disabled()
    screenshot(page, "exposure_refused")
    page.goto(f"{confined_app}/runs")
    wait_idle(page)
    text = _body(page)
    assert "Traceback" not in text and not any(n in text for n in FOREIGN)

