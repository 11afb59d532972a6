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


def _drawn(chart, panel: str) -> tuple[list[float], list[float]]:
    """The (x, y) of the first trace plotly drew on the chart's panel titled ``panel``: its
    computed points, read from the graph div (the spec's arrays travel base64-encoded)."""
    xy = chart.locator(".js-plotly-plot").first.evaluate("""(el, panel) => {
        const fl = el._fullLayout;
        const axis = Object.keys(fl).find(k => /^yaxis\\d*$/.test(k) && fl[k].title
                                               && fl[k].title.text === panel);
        const i = el._fullData.findIndex(t => t.yaxis === 'y' + axis.slice(5));
        return [el.calcdata[i].map(p => p.x), el.calcdata[i].map(p => p.y)]; }""", panel)
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
    # one chart, the loss and the learning rate on panels of their own
    loss = page.get_by_test_id("stPlotlyChart").filter(has_text="training loss")
    expect(loss).to_be_visible()
    expect(loss).to_contain_text("learning rate")
    x, y = _drawn(loss, "training loss (log)")
    assert x == list(range(STEPS))
    assert y == pytest.approx([2.0 / (1 + s) for s in range(STEPS)], rel=1e-6)
    x, y = _drawn(loss, "learning rate")
    assert x == list(range(STEPS))
    assert y == pytest.approx([1e-3 * (1 + s) for s in range(STEPS)], rel=1e-6)
    assert loss.locator("g.scatterlayer path.js-line").count() >= 1  # and drawn as a line
    body = page.locator("body").inner_text()
    assert str(tmp_path) not in body  # the folder named by its role, never its server path
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "runs_tracker_import")
