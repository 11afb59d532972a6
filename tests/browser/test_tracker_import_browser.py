"""A TensorBoard log folder imported on the Runs page in a real browser: the form in its
expander, the run opened at once, its loss and learning-rate curves drawn with every
logged step, nothing of the server's paths or tracebacks shown."""

from __future__ import annotations

import re

import pytest
from bhelpers import fill, screenshot, wait_idle
from playwright.sync_api import expect
from torch.utils.tensorboard import SummaryWriter

pytestmark = pytest.mark.browser

STEPS = 30


def _drawn(chart) -> tuple[list[float], list[float]]:
    """The (x, y) of the first trace plotly drew in the chart: its computed points, read
    from the graph div (the spec's arrays travel base64-encoded)."""
    xy = chart.locator(".js-plotly-plot").first.evaluate(
        "el => [el.calcdata[0].map(p => p.x), el.calcdata[0].map(p => p.y)]")
    return xy[0], xy[1]


def test_an_imported_tensorboard_run_draws_on_the_runs_page(page, app_url, tmp_path):
    with SummaryWriter(str(tmp_path / "tb_logs" / "version_0")) as w:
        for step in range(STEPS):
            w.add_scalar("train/loss", 2.0 / (1 + step), step)
            w.add_scalar("train/learning_rate", 1e-3 * (1 + step), step)
    page.goto(f"{app_url}/runs")
    wait_idle(page)
    page.get_by_text("Import from TensorBoard or MLflow").click()
    fill(page, "Log folder", str(tmp_path / "tb_logs"))
    page.get_by_role("button", name="Import").click()
    wait_idle(page)
    done = page.get_by_text(re.compile(r"Imported as run #\d+"))
    expect(done).to_be_visible()
    run_id = re.search(r"#(\d+)", done.inner_text()).group(1)
    expect(page.get_by_role("heading", name=re.compile(f"Run #{run_id}"))).to_be_visible()
    charts = page.get_by_test_id("stPlotlyChart")
    loss = charts.filter(has_text="training loss")
    lr = charts.filter(has_text="learning rate")
    expect(loss).to_be_visible()
    expect(lr).to_be_visible()
    x, y = _drawn(loss)
    assert x == list(range(STEPS))
    assert y == pytest.approx([2.0 / (1 + s) for s in range(STEPS)], rel=1e-6)
    x, y = _drawn(lr)
    assert x == list(range(STEPS))
    assert y == pytest.approx([1e-3 * (1 + s) for s in range(STEPS)], rel=1e-6)
    assert loss.locator("g.scatterlayer path.js-line").count() >= 1  # and drawn as a line
    body = page.locator("body").inner_text()
    assert str(tmp_path) not in body  # the folder named by its role, never its server path
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "runs_tracker_import")
