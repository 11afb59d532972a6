"""How live the app is, measured in a real browser (Debian's Chromium) in one run.

1. Stream lag: while a range test runs (a CPU training of the digits model), how often the
   page's "N of M iterations" caption moves. A point reaches the page at most one update
   interval after its batch.
2. Responsiveness: type a bad value into a field and time until its error message is
   drawn, then a good one and time until the message is gone; with no job, then while the
   job runs.
3. The same change on the same page once the job has ended, its chart still drawn: the
   fair baseline for what a running job costs (the empty page of step 2 has no chart).
4. The server process's own CPU (user + system, from /proc, its worker processes not
   counted) per second of wall time while the job runs.

Targets (issue 11, jobs in worker processes): answering a typed value takes at most 1.2x
as long with a CPU job running as with none; the server's own CPU stays under 0.3 s per
second; streamed points reach the page within 1 s.

``--fresh``: what a person waits for on a server just started (issue 32), each trial on a
new server: the designer's first chart, timed from opening ``/`` (and from launching the
server); then the range test opened from the sidebar and "Start range test" pressed as soon
as it is drawn: Start -> the first streamed point on the page, and Start -> the headline.
Job workers run in the normal scheduling class (``CLR_STUDIO_WORKER_IDLE=0``): in the idle
class a shared machine's other load, not the app, sets the times. Their nice is the
deployed one (10) unless ``CLR_STUDIO_WORKER_NICE`` is set (0: the server's priority, as
bench/worker_start.py measures).
``--app-root`` times other checkouts' apps with this same script, a trial of each in turn
(a before/after in one sitting: ``--app-root ../main .``).

    .venv/bin/python bench/ui_latency.py
    .venv/bin/python bench/ui_latency.py --fresh [--trials 3] [--app-root ../main .]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int, db: Path, executor: str, root: Path = ROOT,
              env: dict[str, str] | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=root, env={**os.environ, "CLR_STUDIO_DB": str(db), "CLR_STUDIO_EXECUTOR": executor,
                       "PYTHONPATH": str(root), **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("streamlit did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (not its children) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def iteration_shown(page) -> int | None:
    loc = page.get_by_text(re.compile(r"of \d+ iterations"))
    if not loc.count():
        return None
    m = re.search(r"(\d+) of \d+ iterations", loc.first.inner_text())
    return int(m.group(1)) if m else None


def measure_redraws(page, rounds: int = 5) -> list[float]:
    """Type a bad value, time until its message is drawn; type a good one, time until the
    message is gone."""
    redraws = []
    box = page.get_by_label("Start LR", exact=True)
    message = page.get_by_text(re.compile("is not a number"))
    for _ in range(rounds):
        t0 = time.monotonic()
        box.fill("abc")
        box.press("Enter")
        message.first.wait_for(state="visible")
        redraws.append(time.monotonic() - t0)
        t0 = time.monotonic()
        box.fill("1e-05")
        box.press("Enter")
        message.first.wait_for(state="detached")
        redraws.append(time.monotonic() - t0)
        time.sleep(0.2)
    return redraws


def main(model: str, executor: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium on PATH (apt-get install chromium)")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_app(port, Path(tmp) / "runs.db", executor)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-background-networking"])
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/range_test")
                page.wait_for_selector(IDLE)
                if model != "mlp":
                    from clr_core.setup.models import MODELS

                    page.get_by_test_id("stSelectbox").filter(has_text="Model").click()
                    page.get_by_role("option", name=MODELS[model].label).click()
                    page.wait_for_selector(IDLE)
                for label, value in (("Iterations", "100000"), ("End LR", "0.05")):
                    box = page.get_by_label(label, exact=True)
                    box.fill(value)
                    box.press("Enter")
                    page.wait_for_selector(IDLE)
                idle_redraws = measure_redraws(page)  # baseline: no job running
                page.get_by_role("button", name="Start range test").click()
                page.get_by_text(re.compile(r"of \d+ iterations")).first.wait_for(timeout=60_000)

                # 1. how often the streamed curve moves on the page (and the server's CPU)
                cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
                changes, last, t_end = [], iteration_shown(page), time.monotonic() + 8
                while time.monotonic() < t_end:
                    now = iteration_shown(page)
                    if now is not None and now != last:
                        changes.append(time.monotonic())
                        last = now
                    time.sleep(0.02)
                gaps = [b - a for a, b in zip(changes, changes[1:], strict=False)]
                server_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - wall0)

                # 2. the same widget change while the job runs
                redraws = measure_redraws(page)
                still_running = page.get_by_role("button", name="Cancel").is_enabled()
                if still_running:
                    page.get_by_role("button", name="Cancel").click()
                # 3. the same page, its chart of the cancelled job drawn, no job running:
                # separates what the job costs from what drawing its chart costs
                page.get_by_role("button", name="Start range test").wait_for(timeout=60_000)
                page.wait_for_selector(IDLE)
                time.sleep(1.0)
                chart_redraws = measure_redraws(page)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    print(f"CLR Studio live-page latency (headless Chromium and the app on this machine; "
          f"a range test of the digits {model} running; executor: {executor}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if gaps:
        print(f"  stream: the curve moved {len(changes)} times in 8 s; interval median "
              f"{statistics.median(gaps):.2f} s, max {max(gaps):.2f} s "
              f"(a point is on the page at most one interval after its batch; target < 1 s)")
    else:
        print("  stream: the curve did not move during the window")
    if not still_running:
        print("  warning: the job ended before the redraw measurements did")
    print(f"  widget redraw, no job:            median {statistics.median(idle_redraws):.3f} s, "
          f"max {max(idle_redraws):.3f} s over {len(idle_redraws)} changes")
    print(f"  widget redraw while the job runs: median {statistics.median(redraws):.3f} s, "
          f"max {max(redraws):.3f} s over {len(redraws)} changes (target well under 1 s)")
    print(f"  widget redraw, same page and chart, job ended: median "
          f"{statistics.median(chart_redraws):.3f} s, max {max(chart_redraws):.3f} s")
    ratio = statistics.median(redraws) / statistics.median(idle_redraws)
    print(f"  slowdown against the empty page (no chart yet): {ratio:.2f}x")
    ratio = statistics.median(redraws) / statistics.median(chart_redraws)
    print(f"  slowdown from the running job itself (same page, same chart): {ratio:.2f}x "
          f"(target <= 1.2x)")
    print(f"  server process CPU while the job streams: {server_cpu:.2f} s/s "
          f"(target < 0.3; the job's worker process not counted)")


CHART = '[data-testid="stPlotlyChart"] .main-svg'
HEADLINE = re.compile(r"Recommended max_lr|No reliable recommendation")


def fresh_trial(chromium: str, root: Path) -> dict[str, float]:
    """A person on a server just started: opens ``/`` (the designer) and waits for its
    chart, goes to the range test by the sidebar and presses Start as soon as the page is
    drawn."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--no-sandbox", "--disable-background-networking"])
        port = free_port()
        launched = time.monotonic()
        proc = start_app(port, Path(tmp) / "runs.db", "process", root,
                         env={"CLR_STUDIO_WORKER_IDLE": "0"})
        try:
            out["health"] = time.monotonic() - launched
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            t0 = time.monotonic()
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator(CHART).first.wait_for(state="visible")
            out["designer.chart"] = time.monotonic() - t0
            out["designer.chart_from_launch"] = time.monotonic() - launched
            page.wait_for_selector(IDLE)
            t0 = time.monotonic()
            page.get_by_role("link", name="Range test").first.click()
            start = page.get_by_role("button", name="Start range test")
            start.wait_for(state="visible")
            page.wait_for_selector(IDLE)
            out["range.page"] = time.monotonic() - t0
            t0 = time.monotonic()
            start.click()
            page.get_by_text(re.compile(r"\d+ of \d+ iterations")).first.wait_for()
            out["range.first_point"] = time.monotonic() - t0
            page.get_by_text(HEADLINE).first.wait_for()
            out["range.headline"] = time.monotonic() - t0
            browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return out


def fresh(trials: int, roots: list[Path]) -> None:
    """``trials`` fresh servers of each checkout in ``roots``, taken in turn (main, this,
    main, this, ...), so a change in the machine's other load hits each alike."""
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium on PATH (apt-get install chromium)")
    runs: dict[Path, list[dict[str, float]]] = {root: [] for root in roots}
    loads = [os.getloadavg()[0]]
    for _ in range(trials):
        for root in roots:
            runs[root].append(fresh_trial(chromium, root))
            loads.append(os.getloadavg()[0])
    nice = os.environ.get("CLR_STUDIO_WORKER_NICE", "10 (deployed)")
    print(f"CLR Studio on a fresh server (median of {trials}, each trial in brackets; "
          f"load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores; "
          f"job workers at nice {nice}, normal class)")
    for root, got in runs.items():
        def med(key: str, got=got) -> str:
            values = [r[key] for r in got]
            return (f"{statistics.median(values):.2f} s ("
                    + ", ".join(f"{v:.2f}" for v in values) + ")")

        print(f" {root}")
        print(f"  designer: first chart {med('designer.chart')} after opening /, "
              f"{med('designer.chart_from_launch')} after launching the server "
              f"(healthy after {med('health')}); target 3 s")
        print(f"  range test: page drawn {med('range.page')} after its link in the sidebar")
        print(f"  first range test: first point {med('range.first_point')} after Start "
              f"(target 2 s), headline {med('range.headline')} after Start")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="mlp", help="model the range test trains (mlp, cnn, ...)")
    parser.add_argument("--executor", default="process", choices=["process", "thread", "both"],
                        help="where jobs run; 'both' measures the worker process against the "
                             "old in-server thread in one run")
    parser.add_argument("--fresh", action="store_true",
                        help="time a person's first chart and first range test on fresh servers")
    parser.add_argument("--trials", type=int, default=3, help="fresh servers per --fresh part")
    parser.add_argument("--app-root", type=Path, nargs="+", default=[ROOT],
                        help="the checkouts whose app.py --fresh starts, in turn (default: "
                             "this one)")
    args = parser.parse_args()
    if args.fresh:
        fresh(args.trials, [root.resolve() for root in args.app_root])
        raise SystemExit
    for name in (["thread", "process"] if args.executor == "both" else [args.executor]):
        main(args.model, name)
