"""A range test in a notebook: ``result.plot()`` is the page's figure, ``result.summary()``
the page's words, and ``_repr_html_`` both, drawn without a browser."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import plotly.io as pio
import pytest
import torch
from plotly.offline import get_plotlyjs_version
from range_results import curve_result
from torch import nn

from clr_core.engine.results import RangeTestResult
from clr_core.present.notebook import ShownRangeTestResult, shown
from clr_core.present.plots import range_test_figure
from clr_core.present.style import GUESS, HIGHLIGHT
from clr_core.present.summary import RangeTestSummary, summarize
from clr_core.runs.reports import RangeTestReport, range_test_report
from clr_core.suggest.registry import suggest_all

LRS = np.geomspace(1e-5, 10, 120)
LOSS = 2.3 - np.tanh(np.log10(LRS / 1e-3)) + np.where(LRS > 1, 5 * (LRS - 1), 0)


def _result(**kw) -> ShownRangeTestResult:
    return curve_result(LRS, LOSS, suggestions=suggest_all(LRS, LOSS), **kw)


def test_plot_highlights_the_recommendation_shades_its_band_and_layers_the_other_rules():
    rt = _result()
    rec = rt.suggestions["recommended"]
    fig = rt.plot()
    (marker,) = [t for t in fig.data if (t.name or "").startswith("recommended")]
    assert marker.x == (rec.max_lr,) and marker.marker.color == HIGHLIGHT
    assert marker.name == f"recommended: max_lr {rec.max_lr:.3g}"
    (band,) = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (band.x0, band.x1) == pytest.approx((rec.low, rec.high)) and band.fillcolor == HIGHLIGHT
    (others,) = [t for t in fig.data if t.name == "other rules"]
    assert others.visible == "legendonly"  # one legend click shows them
    assert {row[0] for row in others.customdata} == set(rt.suggestions) - {"recommended"}
    assert sorted(others.x) == pytest.approx(sorted(
        s.max_lr for k, s in rt.suggestions.items() if k != "recommended"))
    # the page's figure: the same function on the same result and summary
    page = range_test_figure(rt, summarize(rt))
    assert json.loads(pio.to_json(page)) == json.loads(pio.to_json(fig))


def test_a_guess_is_plotted_hollow_and_grey():
    rt = _result()
    rec = rt.suggestions["recommended"]
    rt.suggestions["recommended"] = type(rec)(**{**rec.__dict__, "confidence": "none",
                                                 "caveat": "flat"})
    (marker,) = [t for t in rt.plot().data if (t.name or "").startswith("recommended")]
    assert marker.marker.color == GUESS and marker.marker.symbol == "diamond-open"


def test_the_notebook_view_shows_the_summary_and_a_figure_that_draws_offline():
    rt = _result(settings_used={"precision": "<b>fp32</b>"})
    page = rt._repr_html_()
    s = rt.summary()
    assert isinstance(s, RangeTestSummary) and str(s).splitlines()[1] == s.headline
    assert html.escape(s.headline) in page and html.escape(s.advice.text) in page
    assert "<b>fp32</b>" not in page and html.escape("<b>fp32</b>") in page  # text, not markup
    assert page.index(html.escape(s.headline)) < page.index("Plotly.newPlot")  # summary first
    # plotly.js itself is in the output (no <script src=...> to fetch, no require.js)
    assert re.search(r"<script[^>]*\bsrc=", page) is None and "require([" not in page
    assert f"plotly.js v{get_plotlyjs_version()}" in page
    assert 'class="plotly-graph-div"' in page
    # the figure in the page is the one plot() returns
    spec = json.loads(pio.to_json(rt.plot()))
    assert json.dumps(spec["data"][0]["name"]) in page


def test_every_result_a_user_gets_shows_itself():
    """The engine's result, a report read back and a recorded one all have the methods."""
    plain = RangeTestResult(LRS, LOSS, LOSS, False, "completed", suggestions=suggest_all(LRS, LOSS))
    assert not hasattr(plain, "plot")
    back = RangeTestReport.from_dict(
        range_test_report(plain, {}, iters_per_epoch=None, device="cpu").to_dict()).range_test
    assert isinstance(back, ShownRangeTestResult)
    assert back.summary().headline == summarize(plain).headline
    again = shown(plain)
    assert again.lrs is plain.lrs and shown(again) is again
    assert [type(r) for r in shown([plain, plain])] == [ShownRangeTestResult] * 2


def test_the_notebook_example_runs():
    """The README's notebook example, as written there: sweep, read, draw."""
    from clr_core.range_test import run_range_test

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x, y = torch.randn(512, 10), torch.randint(0, 3, (512,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)

    result = run_range_test(model, optimizer, nn.CrossEntropyLoss(), loader,
                            start_lr=1e-5, end_lr=10, num_iter=60)
    summary = result.summary()
    print(summary)          # the headline, what to do with it, the warnings, the other rules
    fig = result.plot()     # the range-test page's figure; fig.show() or leave it last in a cell

    rec = result.suggestions["recommended"]
    assert summary.recommendation == rec and str(summary).splitlines()[1] == summary.headline
    assert any(t.name.startswith(f"recommended: max_lr {rec.max_lr:.3g}") for t in fig.data
               if t.name) or not rec.reliable
    assert result._repr_html_().startswith("<div class='clr-range-test-summary'>")
