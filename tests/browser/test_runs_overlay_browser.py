"""Issue 32, read in Chromium at 1400×1000: ten trainings overlaid on the Runs page told
apart (item 4), plotly's legend tip gone after a page switch (item 17), and labels shown
whole where they were cut: the phases editor's toggle and button (item 9), the training
page's comparison table and LR panel (item 11), lesson 9's tiles (item 6)."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from bhelpers import ARTIFACTS, fill, open_runs, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

#: A training chart as drawn: each trace's run (legend group), colour, panel and legend
#: name; each panel's plot area; the legend's box and its rendered entries.
TRAINING_JS = """
(gd) => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {l: r.left, t: r.top, r: r.right, b: r.bottom, h: r.height}; };
  const fl = gd._fullLayout;
  const titles = {};
  for (const k of Object.keys(fl))
    if (/^yaxis\\d*$/.test(k)) titles['y' + k.slice(5)] = fl[k].title && fl[k].title.text;
  const legend = gd.querySelector('.legend');
  return {
    traces: gd._fullData.map(t => ({group: t.legendgroup, name: t.name, color: t.line.color,
      panel: titles[t.yaxis], showlegend: t.showlegend, hover: t.hovertemplate})),
    plots: [...gd.querySelectorAll('.nsewdrag')].map(e => ({...box(e),
      panel: titles[e.getAttribute('data-subplot').replace(/^x\\d*/, '')]})),
    legend: legend ? box(legend) : null, chart: box(gd),
    entries: [...gd.querySelectorAll('.legend .traces .legendtext')].map(e => e.textContent),
  };
}
"""

#: The text of elements matching ``selector`` (or inside them) drawn cut: wider than their box.
CUT_JS = """
(selector) => {
  const out = [];
  for (const root of document.querySelectorAll(selector))
    for (const el of [root, ...root.querySelectorAll('*')])
      if (el.textContent.trim() && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
        out.push(el.textContent);
  return out;
}
"""


def _save_trainings(db, runs: int = 5):
    """Trainings as a script's record= would save them: each job the designed schedule and
    a fixed-LR baseline, every job the same policy (the case that was ten blues)."""
    from clr_core.engine.events import Event
    from clr_core.engine.results import TrainResult
    from clr_core.runs.reports import TrainCurve, TrainReport
    from clr_core.runs.store import RunStore

    def curve(label, lr, k):
        it = np.arange(120)
        lrs = lr * (1 + 0.5 * np.sin(it / 12))
        acc = [0.5 + 0.02 * k + 0.1 * i for i in range(3)]
        return TrainCurve(label, TrainResult(
            iterations=it.tolist(), lrs=lrs.tolist(), momentums=(0.95 - lrs / (15 * lr) - 0.005 * k).tolist(),
            losses=(2.3 * np.exp(-it / (30 + 10 * k)) + 0.05).tolist(),
            evals=[Event("eval", i, val_accuracy=a) for i, a in zip((40, 80, 119), acc, strict=True)],
            final_val_accuracy=acc[-1], best_val_accuracy=acc[-1], best_iteration=119, num_iter=120))

    store, ids = RunStore(db), []
    for j in range(runs):
        config = {"dataset": "digits", "model": "mlp", "optimizer": "sgd", "num_iter": 120,
                  "schedule": {"policy": "triangular", "base_lr": 0.001, "max_lr": 0.006 * (j + 1)}}
        report = TrainReport([curve("preset: Digits demo: triangular, 2 cycles", 0.006 * (j + 1), 2 * j),
                              curve("baseline: fixed", 0.003 * (j + 1), 2 * j + 1)], config=config)
        ids.append(store.save_run("train", config, report.to_dict(), label=None))
    return ids


def _training_chart(page, groups: int) -> dict:
    """The page's training chart once it holds ``groups`` runs (a rerun may redraw it)."""
    deadline = time.monotonic() + 30
    while True:
        wait_idle(page)
        c = page.evaluate(f"() => {{ const gd = [...document.querySelectorAll('.js-plotly-plot')]"
                          f".find(g => g._fullLayout && /-training$/.test(g._fullLayout.uirevision));"
                          f" return gd ? ({TRAINING_JS})(gd) : null; }}")
        if (c and len({t["group"] for t in c["traces"]}) == groups) or time.monotonic() > deadline:
            assert c, "no training chart"
            return c
        page.wait_for_timeout(300)


def _assert_panels_readable(c: dict) -> None:
    """Every panel tall enough (the LR one most of all), the legend below all of them and
    inside the chart, each run's entry drawn."""
    for p in c["plots"]:
        assert p["h"] >= (200 if p["panel"] == "learning rate" else 150), p
    assert c["legend"] and c["legend"]["t"] >= max(p["b"] for p in c["plots"])
    assert c["legend"]["b"] <= c["chart"]["b"] + 1 and c["legend"]["r"] <= c["chart"]["r"] + 1


def _shoot(page, name: str, locator) -> None:
    """The view a person checks, from ``locator``'s top in a window tall enough for it."""
    page.set_viewport_size({"width": 1400, "height": 1600})
    locator.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_ten_trainings_overlaid_read_apart_and_no_plotly_tip_follows_to_another_page(
        page, app_url, app_db):
    from clr_core.present.training_plots import LEGEND_CHARS

    ids = _save_trainings(app_db)
    page.goto(f"{app_url}/runs")
    wait_idle(page)
    open_runs(page, ids)
    c = _training_chart(page, groups=10)
    runs: dict[str, list[dict]] = {}
    for t in c["traces"]:
        runs.setdefault(t["group"], []).append(t)
    assert len(runs) == 10
    for group, traces in runs.items():
        # one colour for a run in the loss, accuracy, LR and momentum panels
        assert {t["panel"] for t in traces} >= {"training loss (log)", "learning rate", "momentum"}
        assert len({t["color"] for t in traces}) == 1, group
        assert "training · mlp · sgd · digits" in traces[0]["hover"]  # the full name on hover
    assert len({traces[0]["color"] for traces in runs.values()}) == 10  # ten runs, ten colours
    names = [t["name"] for t in c["traces"] if t["showlegend"]]
    assert len(names) == 10 and all(len(n) <= LEGEND_CHARS for n in names), names
    assert sorted(c["entries"]) == sorted(names)  # each drawn in the one legend, none scrolled away
    _assert_panels_readable(c)
    _shoot(page, "runs_overlay", page.get_by_text("Trainings", exact=False).first)

    # a click in the legend hides the run in every panel; plotly's tip stays off
    page.locator(".js-plotly-plot .legend .traces .legendtoggle").first.click()
    page.wait_for_timeout(500)
    hidden = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].flatMap("
                           "gd => (gd._fullData || []).filter(t => t.visible === 'legendonly')"
                           ".map(t => t.legendgroup))")
    assert len(hidden) >= 3 and len(set(hidden)) == 1
    page.get_by_test_id("stSidebarNav").get_by_text("Schedule designer").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name=re.compile("Schedule designer"))).to_be_visible()
    tips = page.evaluate("() => [...document.querySelectorAll('.plotly-notifier')]"
                         ".map(e => e.textContent).join(' ')")
    assert "Double-click" not in tips


def test_labels_and_tables_show_whole_at_1400px(page, own_app_url):
    # the phases editor: the view beside the wide table kept "Log-scal…" and "Add to ove…"
    page.goto(f"{own_app_url}/?policy=phases")
    wait_idle(page)
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    toggle = page.get_by_test_id("stCheckbox").filter(has_text="Log-scale LR")
    button = page.get_by_test_id("stButton").filter(has_text="Add to overlay")
    expect(toggle).to_be_visible()
    expect(button).to_be_visible()
    cut = page.evaluate(CUT_JS, '[data-testid="stCheckbox"], [data-testid="stButton"]')
    assert not cut, f"cut at 1400 px: {cut}"
    _shoot(page, "phases_editor", page.get_by_test_id("stMainBlockContainer"))

    # the training page: the comparison whole (its "stopped" column was scrolled out of
    # view), no "None" in a cell, the LR panel full height
    page.goto(f"{own_app_url}/training")
    wait_idle(page)
    fill(page, "Iterations", "60")
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("Comparison")).to_be_visible(timeout=120_000)
    wait_idle(page)
    table = page.get_by_test_id("stDataFrame").last
    expect(table).to_be_visible()
    table.scroll_into_view_if_needed()
    cells = table.locator('[role="gridcell"]')  # the grid's accessible copy of its cells in view
    cells.first.wait_for(state="attached")
    texts = [t.strip() for t in cells.all_text_contents()]
    assert "completed" in texts, texts  # the "stopped" column is drawn, so in view
    assert "None" not in texts
    widths = page.evaluate("() => [...document.querySelectorAll('.dvn-scroller')]"
                           ".map(e => e.scrollWidth - e.clientWidth)")
    assert widths and max(widths) <= 1, widths
    c = _training_chart(page, groups=2)
    _assert_panels_readable(c)
    _shoot(page, "training_page", page.get_by_text(re.compile("^Done in")).first)

    # lesson 9: four tiles in a row cut "schedule-free SGD at WSD's best pe…"
    page.goto(f"{own_app_url}/learn?lesson=9&task=logreg&num_iter=100&seeds=1")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Run it yourself")).click()
    # four tiles, or three where schedule-free's best peak is WSD's (the lesson drops the copy)
    expect(page.get_by_text(re.compile("^At its best peak")).first).to_be_visible(timeout=120_000)
    wait_idle(page)
    labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
    assert len(labels) in (3, 4) and any("schedule-free" in t for t in labels), labels
    cut = page.evaluate(CUT_JS, '[data-testid="stMetricLabel"]')
    assert not cut, f"cut at 1400 px: {cut}"
    _shoot(page, "lesson9_tile", page.get_by_text(re.compile("^At its best peak")).first)
