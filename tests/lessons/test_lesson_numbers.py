"""Lesson tiles that count or summarise what their chart and table show (issue 32, item 6):
lesson 7's snapshots are the stars drawn; lessons 5 and 6 take no median over "never"."""

from __future__ import annotations

import numpy as np
import pytest

from clr_core.lessons import lesson_by_key
from clr_core.lessons.catalogue import _median


@pytest.mark.parametrize(("t0", "mult", "n"), [(100, 2, 1000), (100, 1, 1000), (200, 2, 600),
                                               (50, 3, 777)])
def test_lesson_seven_counts_the_snapshots_it_draws(t0, mult, n):
    view = lesson_by_key("sgdr").view({"max_lr": 0.1, "base_lr": 0.001, "T_0": t0,
                                       "T_mult": mult, "num_iter": n})
    fig = view.figures[0][1]
    stars = next(t for t in fig.data if t.name == "snapshot (cycle end)")
    assert dict(view.metrics)["snapshots (cycle ends) in this budget"] == str(len(stars.x))
    # each star is the last step before a restart (the LR jumps up right after it)
    lr = next(t for t in fig.data if t.name != "snapshot (cycle end)")
    y = np.asarray(lr.y, dtype=float)
    for x in stars.x:
        assert int(x) == len(y) - 1 or y[int(x) + 1] > y[int(x)]


def test_a_speed_up_median_is_over_the_seeds_that_reached_it():
    assert _median([1.82, 0.0]) == "1.82× in 1 of 2 seeds (seeds: 1.82, never)"
    assert _median([1.5, 2.5]) == "2.00× (seeds: 1.50, 2.50)"
    assert _median([0.0, 0.0]) == "never (seeds: never, never)"
