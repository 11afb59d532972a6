"""Figure builders: decimation keeps a cyclical schedule's envelope."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clr_core.plots import Curve, decimate, line_figure


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
