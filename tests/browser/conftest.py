"""Real-browser fixtures: `streamlit run app.py` on a free port, driven by Playwright
through Debian's Chromium (Playwright's own browser download is not available here)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Six engineers' tests share two cores: Streamlit's rerun plus plotly's first render can take
# longer than expect()'s 5 s default, which made visible-element checks flaky.
EXPECT_TIMEOUT_MS = 20_000



def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def pytest_collection_modifyitems(config, items):
    if _chromium() is not None:
        return
    if os.environ.get("CI") == "true":
        # Under CI the browser tests must run: fail loudly instead of skipping.
        return
    skip = pytest.mark.skip(reason="Debian's chromium is not on PATH (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_db(tmp_path_factory) -> Path:
    """The run store of the app under test, so a test can write to it from another process."""
    return tmp_path_factory.mktemp("db") / "runs.db"


@contextlib.contextmanager
def running_app(db: Path, log: Path, *, env: dict[str, str] | None = None,
                address: str = "127.0.0.1"):
    """`streamlit run app.py` on a free port (of localhost, or ``address``) with ``env``
    added to this process's, yielding its localhost URL once healthy."""
    port = _free_port()
    env = {**os.environ, **(env or {})}
    env["CLR_STUDIO_DB"] = str(db)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", address,
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, app_db):
    with running_app(app_db, tmp_path_factory.mktemp("log") / "streamlit.log") as url:
        yield url


@pytest.fixture
def own_app_url(tmp_path):
    """A server of the test's own: in local mode every tab is one person, so on the shared
    server a test would find (and wait behind) another test's job."""
    with running_app(tmp_path / "runs.db", tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    exe = _chromium()
    if exe is None:
        pytest.fail("CI=true but Debian's chromium is not on PATH: .ci/run must install it")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=exe,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
