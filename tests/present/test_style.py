"""Chart conventions (clr_core.present.style) hold on every figure the pages draw: whole
log-tick labels, one colour per policy, legends that add height instead of taking it, the
range-test chart's one highlighted answer, overlays that keep each run's own marker."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from range_results import curve_result

from clr_core.present.labels import run_label
from clr_core.present.plots import (
    Curve,
    line_figure,
    range_test_figure,
    schedule_figures,
    sweep_figure,
)
from clr_core.present.style import POLICY_COLORS, color_for, for_projector, log_ticks
from clr_core.schedules import make_schedule
from clr_core.suggest.registry import suggest_all

TRI = {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 500}


def _log_axes(fig):
    layout = fig.to_plotly_json()["layout"]
    return {k: v for k, v in layout.items() if k[1:5] == "axis" and v.get("type") == "log"}


def assert_whole_log_ticks(fig):
    """Every log axis is labelled by our ticks, each label the very value it marks: no bare
    "2" standing for 0.02 (what plotly's default minor labels do)."""
    axes = _log_axes(fig)
    assert axes, "expected a log axis"
    for name, ax in axes.items():
        assert ax.get("tickmode") == "array", name
        for val, text in zip(ax["tickvals"], ax["ticktext"], strict=True):
            assert float(text) == pytest.approx(val, rel=1e-3), (name, val, text)


@settings(max_examples=80, deadline=None)
@given(lo_exp=st.floats(-9, 3), span=st.floats(0.05, 12))
def test_log_ticks_are_whole_values_inside_the_axis(lo_exp, span):
    lo, hi = 10 ** lo_exp, 10 ** (lo_exp + span)
    vals, texts = log_ticks(lo, hi)
    assert len(vals) >= 2
    assert all(lo * 0.999 <= v <= hi * 1.001 for v in vals)
    for v, t in zip(vals, texts, strict=True):
        assert float(t) == pytest.approx(v, rel=0.01)  # "0.02" or "2e-2", never "2"
    assert len(vals) <= 12  # readable, not a label per minor tick


def test_every_log_axis_the_pages_draw_has_whole_tick_labels():
    lrs = np.geomspace(1e-5, 10, 120)
    loss = 2.3 - np.tanh(np.log10(lrs / 1e-3)) + np.where(lrs > 1, 5 * (lrs - 1), 0)
    sug = suggest_all(lrs, loss)
    sharp = [(i, lrs[i], 2.0 / lrs[min(i + 15, 119)]) for i in range(0, 120, 20)]
    assert_whole_log_ticks(range_test_figure(curve_result(lrs, loss, suggestions=sug,
                                                          sharpness=sharp, momentum=0.9)))
    assert_whole_log_ticks(sweep_figure([Curve("a", lrs, loss, marker=0.01)]))
    lr_fig, _ = schedule_figures([("current: triangular", make_schedule("triangular", **TRI))], 12_000,
                                 log_y=True)
    assert_whole_log_ticks(lr_fig)
    assert_whole_log_ticks(line_figure([Curve("run", np.arange(100), np.geomspace(2, 0.05, 100))],
                                       x_title="iteration", y_title="loss", log_y=True))


def test_the_lessons_log_axes_have_whole_tick_labels_too():
    from clr_core.lessons import bowl, wsd

    _, rates, _ = bowl.stability_figures(1.0, 0.5, 10.0)
    assert_whole_log_ticks(rates)
    _, loss_fig, _, _ = wsd.wsd_figures(0.3, 1000, 0.5, 0.2, "1-sqrt")
    assert_whole_log_ticks(loss_fig)


def test_one_colour_per_policy_on_every_page():
    """Welch is the same colour in the designer, the lessons' policy chart and their
    training check, whatever its position among the curves."""
    welch = POLICY_COLORS["welch"]
    lr_fig, _ = schedule_figures([("#1 triangular", make_schedule("triangular", **TRI)),
                                  ("current: welch", make_schedule("welch", **TRI))], 4000)
    assert lr_fig.data[1].line.color == welch
    from clr_core.lessons import lesson_by_key

    view = lesson_by_key("policies").view({"base_lr": 0.03, "max_lr": 0.3, "step_size": 200,
                                           "gamma": 0.998})
    fig = dict(view.figures)["policies"]
    assert {t.name: t.line.color for t in fig.data}["welch"] == welch
    assert color_for("welch 0.03–0.3", 7) == welch
    assert color_for("fixed @ 0.01") == POLICY_COLORS["fixed"]
    assert color_for("run #3", 2) not in ("", None)


def _plot_px(fig) -> float:
    m = fig.layout.margin
    return fig.layout.height - m.t - m.b


def test_legends_add_height_and_never_shrink_the_plot():
    k = np.arange(200)
    one = line_figure([Curve("a", k, k)], x_title="it", y_title="lr", height=220)
    six = line_figure([Curve(f"run {i}", k, k * i) for i in range(6)], x_title="it",
                      y_title="lr", height=220)
    assert _plot_px(one) == _plot_px(six) == 220
    legend = six.layout.legend
    assert legend.y < 0 and legend.yanchor == "top"  # below the plot area, in the margin
    # the legend's rows fit in the bottom margin under the axis title
    assert six.layout.margin.b >= 58 + 6 * 20


def test_the_range_test_chart_highlights_one_answer_and_layers_the_rest():
    lrs = np.geomspace(1e-5, 10, 120)
    loss = 2.3 - np.tanh(np.log10(lrs / 1e-3)) + np.where(lrs > 1, 5 * (lrs - 1), 0)
    sug = suggest_all(lrs, loss)
    sharp = [(i, lrs[i], 2.0 / lrs[min(i + 15, 119)]) for i in range(0, 120, 20)]
    fig = range_test_figure(curve_result(lrs, loss, suggestions=sug, sharpness=sharp,
                                         momentum=0.9), highlight="recommended")
    assert not [t for t in fig.data if t.mode and "text" in t.mode]  # no label per rule
    (label,) = fig.layout.annotations  # the one label: the recommendation, on its marker
    assert f"max_lr {sug['recommended'].max_lr:.3g}" in label.text
    assert 10 ** label.x == pytest.approx(sug["recommended"].max_lr)
    (others,) = [t for t in fig.data if t.name == "other rules"]
    assert others.visible == "legendonly"  # off by default, one click to show
    assert {row[0] for row in others.customdata} == set(sug) - {"recommended"}
    assert list(fig.layout.xaxis.range) == pytest.approx([-5, 1])  # cut to the sweep
    limit = next(t for t in fig.data if (t.name or "").startswith("stability limit"))
    assert limit.yaxis == "y2" and limit.xaxis == "x2"  # its own panel...
    assert fig.layout.xaxis2.matches == "x" or fig.layout.xaxis.matches == "x2"  # ...sharing x
    bands = [s for s in fig.layout.shapes if s.type == "rect" and s.yref in ("y domain", "y")]
    assert any(s.x0 == pytest.approx(sug["recommended"].low) for s in bands)


def test_an_overlay_marks_each_run_with_its_own_suggestion_even_when_names_repeat():
    """Item 1: three range tests, two called alike; each diamond sits at its own run's
    max_lr on its own curve."""
    lrs = np.geomspace(1e-4, 1, 50)
    curves = [Curve("range test · digits", lrs, 2 - lrs, marker=0.1),
              Curve("range test · digits", lrs, 2.5 - lrs, marker=0.013),
              Curve("range test · mnist", lrs, 3 - lrs, marker=0.05)]
    fig = sweep_figure(curves)
    lines = [t for t in fig.data if t.mode == "lines"]
    marks = [t for t in fig.data if t.mode == "markers"]
    assert [m.x[0] for m in marks] == [0.1, 0.013, 0.05]
    for line, mark, c in zip(lines, marks, curves, strict=True):
        assert mark.marker.color == line.line.color
        assert mark.y[0] == pytest.approx(float(np.interp(c.marker, c.x, c.y)))


def test_run_labels_say_what_differs():
    sgd = {"dataset": "digits", "model": "mlp", "optimizer": "sgd", "start_lr": 1e-5, "end_lr": 10}
    adam = {**sgd, "optimizer": "adam"}
    assert run_label("range_test", sgd) != run_label("range_test", adam)
    assert "adam" in run_label("range_test", adam) and "1e-5" in run_label("range_test", adam)
    assert run_label("range_test", {**sgd, "model": "cnn"}) != run_label("range_test", sgd)
    assert run_label("range_test", sgd, "baseline").startswith("baseline — range test")
    # the generic names older app versions stored give way to what differs
    assert run_label("range_test", adam, "range test · digits") == run_label("range_test", adam)
    train = {"dataset": "digits", "model": "mlp", "optimizer": "sgd", "num_iter": 300,
             "schedule": {"policy": "one_cycle", "max_lr": 0.1}}
    assert "one_cycle max 0.1" in run_label("train", train)


def test_projector_scale_grows_text_and_margins_so_titles_are_not_clipped():
    fig = line_figure([Curve("a", np.arange(3), np.arange(3.0))], x_title="x", y_title="y",
                      title="A title")
    big = for_projector(fig)
    assert big.layout.font.size > fig.layout.font.size
    # set on the axes too: Streamlit's theme would otherwise keep its small tick labels
    assert big.layout.xaxis.tickfont.size == big.layout.yaxis.tickfont.size == 22
    assert big.layout.margin.t >= 70 and big.layout.height > fig.layout.height
    assert math.isclose(_plot_px(big) / _plot_px(fig), big.layout.height / fig.layout.height,
                        rel_tol=0.05)


def test_a_guess_is_drawn_but_never_as_the_answer():
    """No reliable recommendation: the pick is shown, hollow and grey, labelled a guess."""
    from dataclasses import replace

    import numpy as np

    from clr_core.present.plots import range_test_figure
    from clr_core.present.style import GUESS, HIGHLIGHT
    from clr_core.suggest.types import Suggestion

    lrs = np.geomspace(1e-4, 1, 50)
    loss = 2 - np.log10(lrs) * 0.01
    s = Suggestion("recommended", 0.001, 0.01, "why", "test", 20, 0.005, 0.02)
    for sug, color, text in ((s, HIGHLIGHT, "<b>max_lr 0.01</b>"),
                             (replace(s, confidence="none", caveat="flat"), GUESS, "a guess: 0.01")):
        fig = range_test_figure(curve_result(lrs, loss, suggestions={"recommended": sug}),
                                highlight="recommended")
        marker = next(t for t in fig.data if t.name and t.name.startswith("recommended"))
        assert marker.marker.color == color
        assert text in [a.text for a in fig.layout.annotations]


def test_the_training_baselines_are_told_apart_by_hue():
    """Issue 32, item 11: four baselines in greys and black. Only the fixed-LR reference is
    grey; every other baseline has a hue, and no two share a colour."""
    from clr_core.engine.baselines import BASELINES

    colors = {name: color_for(f"baseline: {name}", i) for i, name in enumerate(BASELINES)}
    assert len(set(colors.values())) == len(colors)

    def chroma(hex_color: str) -> int:
        rgb = [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]
        return max(rgb) - min(rgb)

    assert [n for n, c in colors.items() if chroma(c) < 40] == ["fixed"]
