"""A range test on a user's own model and loader, recorded from a separate process with
``run_range_test(..., record=NAME)``, watched in the app's Runs page: listed as running,
its curve growing without a reload, then finished with its suggestions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from bhelpers import open_run, screenshot, wait_idle
from playwright.sync_api import expect

from clr_core.runs.store import RunStore

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]

# The user's script. Its loader hands out batch i only once the test allows it (the file
# `gate` holds how many), so the test sees the run at known points.
USER_SCRIPT = textwrap.dedent('''
    import json, sys, time
    from pathlib import Path
    import torch
    from torch import nn
    from clr_core.range_test import run_range_test


    class MyNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 3))

        def forward(self, x):
            return self.body(x)


    class GatedBatches:
        """The user's own loader: an iterable of (x, y) batches."""

        def __init__(self, gate):
            g = torch.Generator().manual_seed(0)
            self.x = torch.randn(200, 16, 8, generator=g)
            self.y = (self.x[..., 0] > 0).long() + (self.x[..., 1] > 0.5).long()
            self.gate = Path(gate)

        def __iter__(self):
            for i in range(len(self.x)):
                while i >= int(self.gate.read_text() or 0):
                    time.sleep(0.05)
                yield self.x[i], self.y[i]


    torch.manual_seed(0)
    model = MyNet()
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    result = run_range_test(model, opt, nn.CrossEntropyLoss(), GatedBatches(sys.argv[2]),
                            end_lr=10.0, num_iter=120, record="my own net", store=sys.argv[1])
    json.dump({k: s.max_lr for k, s in result.suggestions.items()}, sys.stdout)
''')


def _wait_for_events(db: Path, n: int, timeout: float = 60) -> int:
    store = RunStore(db)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in store.list_runs() if r.label == "my own net"]
        if runs and store.read_events(runs[0].id)[1] >= n:
            return runs[0].id
        time.sleep(0.1)
    raise AssertionError(f"the recorded run did not reach {n} events")


def test_a_script_records_a_run_and_the_runs_page_shows_it_live(page, app_url, app_db, tmp_path):
    gate = tmp_path / "gate"
    gate.write_text("20")
    script = tmp_path / "my_script.py"
    script.write_text(USER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), str(app_db), str(gate)], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        run_id = _wait_for_events(app_db, 20)
        page.goto(f"{app_url}/runs")
        wait_idle(page)
        open_run(page, re.compile(f"#{run_id} .*my own net.*running"))
        live = page.get_by_text(re.compile(r"Running in another process"))
        expect(live.first).to_contain_text("20 of 120 iterations", timeout=30_000)
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        screenshot(page, "runs_live_running")

        gate.write_text("45")  # the curve grows on the open page, no reload
        expect(live.first).to_contain_text("45 of 120 iterations", timeout=30_000)

        gate.write_text("100000")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    finally:
        proc.kill()
    suggestions = json.loads(out)
    expect(page.get_by_text(re.compile(r"range_test · done"))).to_be_visible(timeout=30_000)
    expect(live).to_have_count(0)
    recommended = page.get_by_test_id("stMetric").filter(has_text="Recommended max_lr")
    expect(recommended).to_contain_text(f"{suggestions['recommended']:.3g}")
    marker = f"recommended: max_lr {suggestions['recommended']:.3g}"  # the chart's one marker
    expect(page.get_by_test_id("stPlotlyChart").first.get_by_text(marker)).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "runs_live_finished")
