"""What a newcomer sees, measured in Chromium at 1400 px (issue 19): markers where the
figure's own data puts them, no overlapping labels in the rendered SVG, legends outside the
plot area, whole log-tick labels, nothing cut short; a screenshot of every page."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from bhelpers import ARTIFACTS, open_runs, screenshot, wait_idle
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

#: Read from a rendered plotly chart: its traces, the plot area and legend boxes, every
#: label's box, and each log axis's ticks as drawn.
CHART_JS = """
(gd) => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {l: r.left, t: r.top, r: r.right, b: r.bottom, w: r.width, h: r.height}; };
  const fl = gd._fullLayout;
  const logTicks = [];
  for (const k of Object.keys(fl)) {
    if (/^[xy]axis\\d*$/.test(k) && fl[k].type === 'log' && fl[k].visible !== false)
      for (const v of (fl[k]._vals || [])) logTicks.push({axis: k, x: v.x, text: v.text});
  }
  const labels = [...gd.querySelectorAll(
      '.textpoint text, .annotation-text, .xtick text, .ytick text, .g-xtitle text, .g-ytitle text')]
    .filter(e => e.textContent.trim() && e.getBoundingClientRect().width > 0)
    .map(e => ({text: e.textContent, ...box(e)}));
  const legend = gd.querySelector('.legend');
  return {
    data: gd._fullData.map(t => ({name: t.name, mode: t.mode, x: Array.from(t.x || []),
                                  y: Array.from(t.y || []), visible: t.visible, meta: t.meta})),
    plots: [...gd.querySelectorAll('.nsewdrag')].map(box),
    legend: legend ? box(legend) : null,
    labels, logTicks,
  };
}
"""


def shoot(page, name: str) -> None:
    """The page as a person first sees it, and each chart on it whole (the page scrolls
    inside Streamlit's own container, which a page screenshot does not)."""
    page.wait_for_function("!document.querySelector('[data-testid=\"stSkeleton\"]')")
    screenshot(page, name)
    charts = page.locator(".js-plotly-plot")
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        charts.nth(i).screenshot(path=str(ARTIFACTS / f"{name}_chart{i + 1}.png"))


def chart(page, nth: int = 0) -> dict:
    """The ``nth`` chart once drawn; asked afresh each try, as a rerun may replace it."""
    handle = page.locator(".js-plotly-plot").nth(nth)
    expect(handle).to_be_visible()
    for _ in range(20):
        wait_idle(page)
        found = page.evaluate(f"n => {{ const gd = document.querySelectorAll('.js-plotly-plot')[n];"
                              f" return gd && gd._fullLayout && gd._fullData ? ({CHART_JS})(gd)"
                              f" : null; }}", nth)
        if found is not None:
            return found
        page.wait_for_timeout(250)
    raise AssertionError(f"chart {nth} was never drawn")


def _overlap(a, b, pad=0.5) -> bool:
    return (a["l"] + pad < b["r"] and b["l"] + pad < a["r"]
            and a["t"] + pad < b["b"] and b["t"] + pad < a["b"])


def assert_readable(c: dict, *, min_plot_px: float = 150) -> None:
    """The rules every chart keeps: no two labels drawn over each other, the legend outside
    every plot area, each plot area tall enough to read, log ticks whole values."""
    labels = c["labels"]
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not _overlap(a, b), f"labels overlap: {a['text']!r} and {b['text']!r}"
    for p in c["plots"]:
        assert p["h"] >= min_plot_px, f"plot squashed to {p['h']:.0f} px"
        if c["legend"]:
            assert not _overlap(c["legend"], p), "the legend covers the plot"
    for t in c["logTicks"]:
        assert float(t["text"]) == pytest.approx(10 ** t["x"], rel=1e-3), t


def assert_nothing_cut(page) -> None:
    """At 1400 px no metric, select box or table is cut short."""
    cut = page.evaluate("""() => {
      const out = [];
      for (const el of document.querySelectorAll(
          '[data-testid="stMetricValue"] *, [data-testid="stMetricValue"], ' +
          '[data-testid="stSelectbox"] [data-baseweb="select"] div, [data-testid="stSelectbox"] input'))
        if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
            && (el.tagName === 'INPUT' || getComputedStyle(el).overflow !== 'visible'))
          out.push(el.textContent || el.value);
      for (const el of document.querySelectorAll('.dvn-scroller'))
        if (el.scrollWidth > el.clientWidth + 1) out.push('table: ' + el.scrollWidth + ' > ' + el.clientWidth);
      return out; }""")
    assert not cut, f"cut short at 1400 px: {cut}"


def _save_range_tests(db, specs):
    """Range tests as a script's record= would save them: (name, optimizer, loss curve)."""
    from clr_core.engine.results import RangeTestResult
    from clr_core.runs.reports import RangeTestReport
    from clr_core.runs.store import RunStore
    from clr_core.suggest.registry import suggest_all

    store, out = RunStore(db), {}
    lrs = np.geomspace(1e-5, 10, 120)
    for name, optimizer, centre in specs:
        loss = 2.3 - np.tanh(np.log10(lrs / centre) * 1.5) + np.where(lrs > 30 * centre, 8.0, 0)
        rt = RangeTestResult(lrs, loss, loss, False, "completed", suggestions=suggest_all(lrs, loss),
                             start_lr=1e-5, end_lr=10.0, num_iter=120)
        config = {"dataset": "digits", "model": "mlp", "optimizer": optimizer, "start_lr": 1e-5,
                  "end_lr": 10.0, "num_iter": 120}
        run_id = store.save_run("range_test", config, RangeTestReport(rt, config=config).to_dict(),
                                label=name)
        out[run_id] = rt.suggestions["recommended"].max_lr
    return out


def test_runs_overlay_keeps_each_marker_on_its_own_run_and_six_legends_fit(page, app_url, app_db):
    """Items 1, 5, 10: two SGD tests and an Adam one (plus three more): every diamond sits at
    its own run's recommendation, runs are told apart by optimizer, the plot keeps its
    height with six legend entries, the legend outside it."""
    saved = _save_range_tests(app_db, [("same name", "sgd", 3e-3), ("same name", "sgd", 2e-3),
                                       ("same name", "adam", 2e-4), ("w1", "sgd", 1e-3),
                                       ("w2", "sgd", 5e-3), ("w3", "adam", 5e-4)])
    page.goto(f"{app_url}/runs")
    wait_idle(page)
    open_runs(page, saved)
    deadline = time.monotonic() + 30  # the last choice's rerun may still be drawing
    while True:
        c = chart(page)
        lines = [t for t in c["data"] if t["mode"] == "lines"]
        marks = [t for t in c["data"] if t["mode"] == "markers"]
        if len(lines) == 6 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    assert len(lines) == len(marks) == 6
    for run_id, max_lr in saved.items():
        (line,) = [t for t in lines if t["name"].startswith(f"#{run_id} ")]
        (mark,) = [t for t in marks if t["meta"] == line["name"]]
        assert mark["x"][0] == pytest.approx(max_lr)
    names = [t["name"] for t in lines]
    assert len(set(names)) == 6 and sum("adam" in n for n in names) == 2
    assert_readable(c, min_plot_px=300)
    assert_nothing_cut(page)
    shoot(page, "runs_overlay_six")


def test_the_range_test_reads_in_two_seconds(page, app_url):
    """Item 2: the chart full width, the recommendation the one labelled marker (at the
    headline's number), the other rules off until asked for, stability on its own panel,
    the LR axis ending where the sweep ended; no overlap, nothing cut."""
    page.goto(f"{app_url}/range_test")
    wait_idle(page)
    page.get_by_role("button", name="Start range test").click()
    expect(page.get_by_text("Suggested bounds")).to_be_visible(timeout=120_000)
    wait_idle(page)
    headline = page.get_by_test_id("stMetricValue").first.inner_text()
    expect(page.get_by_text(re.compile(r"^Train with max_lr"))).to_be_visible()
    deadline = time.monotonic() + 20  # the finished figure replaces the last live one in
    while True:  # the browser after the rerun ends (the live one read a partial curve,
        c = chart(page)  # its marker maybe "a guess")
        recs = [t for t in c["data"] if (t["name"] or "").startswith("recommended: ")]
        if [f"{t['x'][0]:.3g}" for t in recs] == [headline] or time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    (rec,) = recs
    assert f"{rec['x'][0]:.3g}" == headline
    (others,) = [t for t in c["data"] if t["name"] == "other rules"]
    assert others["visible"] == "legendonly"
    assert len(c["plots"]) == 2  # the loss, and the stability limit's own panel under it
    loss_plot, limit_plot = sorted(c["plots"], key=lambda p: p["t"])
    main = page.get_by_test_id("stMainBlockContainer").bounding_box()["width"]
    assert loss_plot["h"] > 2 * limit_plot["h"] and loss_plot["w"] > 0.75 * main  # full width
    raw = next(t for t in c["data"] if t["name"] == "loss (raw)")
    rng = page.locator(".js-plotly-plot").first.evaluate("gd => gd._fullLayout.xaxis.range")
    assert 10 ** rng[1] == pytest.approx(max(raw["x"]), rel=0.05)  # cut to the sweep
    assert_readable(c, min_plot_px=100)  # the stability panel is small on purpose
    assert_nothing_cut(page)
    shoot(page, "range_test")


def test_every_page_is_readable_at_1400px(page, app_url):
    """Items 4, 9, 11, 12, 13: each page's charts and tables, screenshots for review."""
    page.goto(f"{app_url}/")
    wait_idle(page)
    page.get_by_test_id("stCheckbox").filter(has_text="Log-scale LR").click() \
        if page.get_by_test_id("stCheckbox").filter(has_text="Log-scale LR").count() \
        else page.get_by_text("Log-scale LR").click()
    wait_idle(page)
    assert_readable(chart(page))
    assert_nothing_cut(page)
    shoot(page, "designer")
    from clr_core.schedules import PRESETS

    longest = max((p.label for p in PRESETS.values()), key=len)  # its name shown whole
    page.get_by_test_id("stSelectbox").filter(has_text="Preset").click()
    page.get_by_role("option", name=longest).click()
    wait_idle(page)
    assert_nothing_cut(page)
    page.goto(f"{app_url}/?policy=phases")  # the phases editor: every column in view
    wait_idle(page)
    expect(page.locator(".dvn-scroller").first).to_be_visible()
    assert_nothing_cut(page)
    shoot(page, "designer_phases")

    page.goto(f"{app_url}/training")
    wait_idle(page)
    expect(page.get_by_text(re.compile("LR from 0.025 to 0.1 over 300"))).to_be_visible()
    expect(page.get_by_text(re.compile("mid-cycle"))).to_have_count(0)
    assert_nothing_cut(page)
    shoot(page, "training")

    page.goto(f"{app_url}/sweeps")
    wait_idle(page)
    assert_nothing_cut(page)
    shoot(page, "sweeps")

    page.goto(f"{app_url}/overview")
    wait_idle(page)
    assert_nothing_cut(page)
    shoot(page, "overview")

    page.goto(f"{app_url}/learn?lesson=2&condition=30&lr=banana")
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"condition=30"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"lr='banana'"))).to_be_visible()
    for nth in range(2):
        assert_readable(chart(page, nth), min_plot_px=120)
    assert_nothing_cut(page)
    shoot(page, "learn_stability_bad_link")

    page.goto(f"{app_url}/learn?lesson=4&gamma=0.998&projector=1")
    wait_idle(page)
    expect(page.get_by_text("0.9980").first).to_be_visible()
    c = chart(page)
    assert_readable(c)
    title = page.locator(".js-plotly-plot .gtitle, .js-plotly-plot .legend").first
    if title.count():
        svg = page.locator(".js-plotly-plot .main-svg").first.bounding_box()
        tb = title.bounding_box()
        assert tb["y"] >= svg["y"] - 1  # nothing clipped at the top in projector mode
    shoot(page, "learn_policies_projector")
