"""Lesson tiles that count or summarise what their chart and table show (issue 32, item 6):
lesson 7's snapshots are the stars drawn; lessons 5 and 6 take no median over "never"."""

from __future__ import annotations

import numpy as np
import pytest

from clr_core.lessons import lesson_by_key
from clr_core.lessons.views import median_speedup


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
    assert median_speedup([1.82, 0.0]) == "1.82× in 1 of 2 seeds (seeds: 1.82, never)"
    assert median_speedup([1.5, 2.5]) == "2.00× (seeds: 1.50, 2.50)"
    assert median_speedup([0.0, 0.0]) == "never (seeds: never, never)"


def _windows(accs: dict[str, list[float]]):
    from types import SimpleNamespace

    from clr_core.lessons import training

    runs = {k: [SimpleNamespace(label=k, seed=i, eval_iterations=np.array([0, 10]),
                                val_accuracy=np.array([0.1, a]), final_val_accuracy=a)
                for i, a in enumerate(v)] for k, v in accs.items()}
    return training.Comparison(runs, "triangular", ("welch", "hann"))


@pytest.mark.parametrize(("accs", "equivalent"), [
    ({"triangular": [0.922, 0.93, 0.91], "welch": [0.95, 0.951, 0.949],
      "hann": [0.95, 0.952, 0.948]}, False),  # the walk's 92.2 % against 95 %
    ({"triangular": [0.94, 0.90, 0.96], "welch": [0.95, 0.93, 0.91],
      "hann": [0.94, 0.92, 0.95]}, True)])
def test_lesson_four_s_verdict_is_read_off_its_own_runs(accs, equivalent):
    """Item 6: lesson 4 called Hann "the best fixed learning rate" and said the windows
    "differ by less than the spread over seeds" beside a table showing 92.2 % against 95 %."""
    from clr_core.lessons.views import comparison_view, windows_verdict

    c = _windows(accs)
    said = windows_verdict(c)
    medians = {k: np.median(v) * 100 for k, v in accs.items()}
    gap = max(medians.values()) - min(medians.values())
    spread = max(np.ptp(v) for v in accs.values()) * 100
    assert f"differ by {gap:.1f} points" in said and f"{spread:.1f} points" in said
    assert ("equivalent, as far as these seeds can tell" in said) == equivalent
    assert ("not equivalent" in said) == (not equivalent)
    view = comparison_view(c, speedup=False, against="the best of the other windows",
                            tile="best other window")
    assert "fixed learning rate" not in view.summary
    assert "best of the other windows" in view.summary
    assert lesson_by_key("policies").claim.verdict.startswith("Run the demo")
