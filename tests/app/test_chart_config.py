"""Every chart reaches the browser through ``ui.charts.plot``, so every chart has the one
config: plotly's tips off (issue 32, item 17: its "Double-click on legend" note stayed on
screen after a switch to another page; tests/browser/test_runs_overlay_browser.py shows it
gone in Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

from ui.charts import CHART_CONFIG

ROOT = Path(__file__).resolve().parents[2]


def test_no_page_draws_a_chart_around_the_one_config():
    direct = [f"{path.relative_to(ROOT)}:{n}"
              for path in [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")]
              if path.name != "charts.py"
              for n, line in enumerate(path.read_text().splitlines(), start=1)
              if re.search(r"\.plotly_chart\(", line)]
    assert not direct, f"draw with ui.charts.plot instead: {direct}"
    assert CHART_CONFIG["showTips"] is False
