"""The Confirm step in a real browser: after a quick range test, the button trains the
candidates and the page draws "reached accuracy versus peak LR", read back from plotly."""

from __future__ import annotations

import math
import re

import pytest
from bhelpers import fill, screenshot, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

#: The confirmation chart's traces and x axis, as plotly holds them in the page.
_CONFIRM_CHART = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find(g => g._fullLayout && g.layout.uirevision === 'confirm');
  if (!gd) return null;
  return {
    xtype: gd._fullLayout.xaxis.type,
    ytitle: gd._fullLayout.yaxis.title.text,
    ticks: (gd._fullLayout.xaxis._vals || []).map(v => v.text),
    data: gd._fullData.map(t => ({name: t.name, x: Array.from(t.x || []), y: Array.from(t.y || []),
                                  customdata: t.customdata ? Array.from(t.customdata) : null})),
  };
}"""


def test_confirm_after_a_quick_range_test_draws_each_trial_and_the_winner(page, own_app_url):
    page.goto(f"{own_app_url}/range_test")
    wait_idle(page)
    fill(page, "Iterations", "40")
    page.get_by_role("button", name="Start range test").click()
    expect(page.get_by_text("Suggested bounds")).to_be_visible(timeout=120_000)
    fill(page, "Planned training (steps)", "16")
    button = page.get_by_role("button", name=re.compile(r"^Confirm with short trainings \(4 × 16 steps"))
    expect(button).to_be_enabled()
    button.click()
    expect(page.get_by_text(re.compile(r"^Confirmed max_lr"))).to_be_visible(timeout=240_000)
    wait_idle(page)
    chart = None
    for _ in range(20):
        chart = page.evaluate(_CONFIRM_CHART)
        if chart is not None:
            break
        page.wait_for_timeout(250)
    assert chart is not None, "no confirmation chart on the page"
    assert chart["xtype"] == "log" and chart["ytitle"].startswith("reached validation accuracy")
    rounds = [t for t in chart["data"] if re.match(r"\d+/\d+ of the budget|the full budget",
                                                   t["name"] or "")]
    # 4 trainings: six peaks for 1/6 of the budget (a diverged one drawn as an ×), then
    # three at the full budget around the best of them
    sixth = [t for t in chart["data"] if "1/6 of the budget" in (t["name"] or "")]
    assert sum(len(t["x"]) for t in sixth) == 6
    in_full = [t for t in chart["data"] if (t["name"] or "").endswith("the full budget")
               or "the full budget (" in (t["name"] or "")]
    assert sum(len(t["x"]) for t in in_full) == 3
    points = [(x, y) for t in rounds for x, y in zip(t["x"], t["y"], strict=True)]
    assert all(0 <= y <= 100 for _, y in points)  # accuracy in percent
    assert all(row[1] for t in rounds for row in t["customdata"])  # each trial's curve on hover
    (star,) = [t for t in chart["data"] if (t["name"] or "").startswith("confirmed: max_lr")]
    full = [t for t in rounds if t["name"].startswith("the full budget")]
    assert any(math.isclose(star["x"][0], x, rel_tol=1e-9) for t in full for x in t["x"])
    assert any((t["name"] or "").startswith("the sweep's pick") for t in chart["data"])
    # the verdict under the chart: whether the trainings agree with the sweep
    verdict = page.get_by_text(re.compile(r"^The trainings (agree with|and) the sweep"))
    expect(verdict).to_be_visible()
    verdict.scroll_into_view_if_needed()
    screenshot(page, "range_test_confirm")
