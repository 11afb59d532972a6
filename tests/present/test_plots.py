"""Figure builders: decimation keeps a cyclical schedule's envelope."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from range_results import curve_result

from clr_core.present.plots import (
    LIVE_MAX_POINTS,
    MAX_POINTS,
    Curve,
    decimate,
    line_figure,
    range_test_figure,
)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 30_000), max_points=st.integers(10, 3000), seed=st.integers(0, 10))
def test_decimate_keeps_extremes_and_order(n, max_points, seed):
    rng = np.random.default_rng(seed)
    x = np.arange(n)
    y = rng.normal(size=n)
    dx, dy = decimate(x, y, max_points)
    assert len(dx) == len(dy) <= max(n, max_points + 2)
    assert np.all(np.diff(dx) > 0)
    assert dy.max() == y.max() and dy.min() == y.min()
    assert dx[0] == 0 and dx[-1] == n - 1
    np.testing.assert_array_equal(dy, y[dx])


def test_decimate_keeps_every_peak_of_a_triangle_wave():
    k = np.arange(1_000_000)
    period = 2_000
    y = 1 - np.abs((k % period) / (period / 2) - 1)
    dx, dy = decimate(k, y, 4000)
    peaks = dx[dy == 1.0]
    assert len(peaks) == len(k) // period


def test_line_figure_uses_log_axes_and_hover_names_coordinates():
    fig = line_figure([Curve("a", np.arange(3), np.array([1.0, 2.0, 3.0]))],
                      x_title="learning rate", y_title="loss", log_x=True)
    assert fig.layout.xaxis.type == "log"
    assert "learning rate" in fig.data[0].hovertemplate
    assert "loss" in fig.data[0].hovertemplate


def test_decimate_keeps_finite_extremes_when_the_tail_is_nan():
    y = np.concatenate([np.linspace(2.3, 1.0, 9000), np.full(1000, np.nan)])
    dx, dy = decimate(np.arange(len(y)), y, 500)
    assert np.nanmin(dy) == 1.0 and np.nanmax(dy) == 2.3
    assert dx[-1] == len(y) - 1


def test_a_live_chart_sends_fewer_points_and_still_shows_the_spikes():
    """While a job streams, the browser gets LIVE_MAX_POINTS per series (a cheap redraw),
    and the loss spikes and the lowest loss are still among them."""
    rng = np.random.default_rng(0)
    n = 100_000
    lrs = np.geomspace(1e-5, 1.0, n)
    losses = 2.0 + 0.1 * rng.standard_normal(n)
    losses[[1234, 67_890]] = [9.0, -3.0]
    smoothed = np.convolve(losses, np.ones(50) / 50, mode="same")
    live = range_test_figure(curve_result(lrs, losses, smoothed), max_points=LIVE_MAX_POINTS)
    full = range_test_figure(curve_result(lrs, losses, smoothed))
    for fig, cap in ((live, LIVE_MAX_POINTS), (full, MAX_POINTS)):
        raw = fig.data[0]
        assert len(raw.y) <= cap + 2
        assert max(raw.y) == 9.0 and min(raw.y) == -3.0
    assert len(live.data[0].y) < len(full.data[0].y)
    curves = [Curve("loss", np.arange(n), losses)]
    assert len(line_figure(curves, x_title="it", y_title="loss",
                           max_points=LIVE_MAX_POINTS).data[0].y) <= LIVE_MAX_POINTS + 2


def test_the_stability_panel_stops_where_its_ratio_falls_back_and_says_why():
    """Issue 32, item 13: Adam's ratio peaked at 1.09 and fell to 0.03 while the loss blew
    up; the panel shaded "unstable" over a line below 1. Now it shades only the span over
    the limit, draws nothing past the fall-back, and says what it cannot measure there."""
    from clr_core.present.plots import UNMEASURED_NOTE, range_test_figure
    from clr_core.suggest.stability import stability_limit

    lrs = np.logspace(-4, 0, 60)
    c = stability_limit(1.0, 0.9, "adam")  # the limit is c / λ
    at = np.array([1e-3, 1e-2, 0.04, 0.2, 0.7])
    ratio = np.array([0.05, 0.4, 1.09, 0.2, 0.03])
    sharp = np.column_stack([np.arange(5) * 10, at, ratio * c / at])
    fig = range_test_figure(curve_result(lrs, 2 - lrs, sharpness=sharp, momentum=0.9,
                                         sharpness_kind="adam"))
    line = next(t for t in fig.data if t.name.startswith("stability limit"))
    assert np.allclose(line.x, at[:3]) and np.allclose(line.y, ratio[:3])
    red = [sh for sh in fig.layout.shapes if sh.type == "rect" and sh.fillcolor == "red"]
    assert len(red) == 1 and red[0].x1 == pytest.approx(0.04) and 0.01 < red[0].x0 < 0.04
    notes = [a.text for a in fig.layout.annotations if "not measured" in (a.text or "")]
    assert notes == [UNMEASURED_NOTE["adam"]]
    # a ratio that stays over the limit is shaded to the end, with nothing unsaid
    ratio = np.array([0.05, 0.4, 1.09, 2.0, 5.0])
    sharp = np.column_stack([np.arange(5) * 10, at, ratio * c / at])
    fig = range_test_figure(curve_result(lrs, 2 - lrs, sharpness=sharp, momentum=0.9,
                                         sharpness_kind="adam"))
    red = [sh for sh in fig.layout.shapes if sh.type == "rect" and sh.fillcolor == "red"]
    assert len(red) == 1 and red[0].x1 == pytest.approx(0.7)
    assert not [a for a in fig.layout.annotations if "not measured" in (a.text or "")]
