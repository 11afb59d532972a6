"""Lesson 9's verdict, checked on the seeds and budget it states: schedule-free SGD against
warm-up + cosine and WSD on the digits tasks, each at its own best peak of the grid."""

from __future__ import annotations

import numpy as np
import pytest

from clr_core.lessons import lesson_by_key
from clr_core.lessons.schedule_free import (
    DIVERGED,
    METHODS,
    PEAK_GRID,
    SCHEDULED,
    SHORT,
    showdown,
)

SEEDS = (0, 1)


def test_the_lesson_defaults_are_the_setting_its_verdict_states():
    lesson = lesson_by_key("schedule_free")
    assert lesson.defaults() == {"task": "mlp", "num_iter": 200, "seeds": 2}
    assert "200 updates, seeds 0 and 1" in lesson.claim.verdict


def _agrees_with_its_table(s):
    """The summary's numbers are the table's and metrics' numbers, and its words follow
    them: the check a lesson sentence gets, on any machine (tests/lessons/
    test_lesson_sentences.py runs it on synthetic showdowns too)."""
    text, table = s.summary(), s.table()
    sf, scheduled = "schedule-free SGD", s.best_scheduled()
    mine = table.loc[sf, f"peak {s.best_peak(sf):g}"]
    theirs = table.loc[scheduled, f"peak {s.best_peak(scheduled):g}"]
    assert all(table.loc[scheduled].max() >= table.loc[m].max() for m in SCHEDULED)
    assert f"reaches {mine:.1f} % against {theirs:.1f} % for {scheduled}" in text
    assert dict(s.metrics())[f"schedule-free @ {s.best_peak(sf):g}"] == f"{mine:.1f} %"
    assert all(len(label) <= 24 for label, _ in s.metrics())  # four tiles share the width
    diff = 100 * (s.best(sf) - s.best(scheduled))
    # the margin: a point, or the most either moves between seeds (max - min over seeds)
    spread = max(100 * np.ptp([r.final_val_accuracy for r in s.runs[f"{m} @ {s.best_peak(m):g}"]])
                 for m in (sf, scheduled))
    margin = max(1.0, spread)
    assert ("about the same" in text) == (abs(diff) <= margin)
    if abs(diff) > margin:
        assert f"{abs(diff):.1f} points {'better' if diff > 0 else 'worse'}" in text
    other = next(m for m in SCHEDULED if m != scheduled)
    assert (f"tied with {other}" in text) != ("the better schedule" in text)
    bests = [table.loc[m].max() for m in METHODS]
    assert f"span {s.spread():.1f} points" in text
    assert abs(s.spread() - (max(bests) - min(bests))) <= 0.1  # the table rounds to 0.1
    return text


def test_mlp_schedule_free_matches_the_best_schedule_only_at_a_far_larger_lr():
    s = showdown("mlp", num_iter=200, seeds=SEEDS)
    sf, best_scheduled = "schedule-free SGD", s.best_scheduled()
    # at its own best peak it matches the best schedule, within the point the lesson states ...
    assert s.best(sf) >= s.best(best_scheduled) - 0.01
    # ... at a peak ten times the schedules' or more, where both schedules diverge ...
    assert all(s.best_peak(sf) >= 10 * s.best_peak(m) for m in SCHEDULED)
    assert all(s.median(m, s.best_peak(sf)) < DIVERGED for m in SCHEDULED)
    # ... and at the schedules' peak it is more than 10 points behind
    assert s.median(sf, s.best_peak(best_scheduled)) < s.best(best_scheduled) - 0.10
    table = s.table()
    assert list(table.index) == list(METHODS) and len(table.columns) == len(PEAK_GRID)
    text = _agrees_with_its_table(s)
    assert "diverge" in text  # the sentence says it too, from the same numbers


def test_logistic_regression_cannot_tell_the_three_apart():
    s = showdown("logreg", num_iter=200, seeds=SEEDS)
    bests = [s.best(m) for m in METHODS]
    assert max(bests) - min(bests) <= 0.01  # all three within a point of each other
    _agrees_with_its_table(s)


def test_the_lesson_draws_each_method_at_its_best_peak():
    lesson = lesson_by_key("schedule_free")
    seen = []
    view = lesson.view(lesson.defaults(), on_run=seen.append)
    assert len(seen) == len(METHODS) * len(PEAK_GRID) * 2
    (name, fig), = view.figures
    drawn = [t.name for t in fig.data if t.showlegend is not False]
    table = view.table.set_index("method")
    # each method drawn at a peak where its row of the table is best
    assert [label.split(" @ ")[0] for label in drawn] == list(METHODS)
    for label in drawn:
        method, peak = label.split(" @ ")
        assert table.loc[method, f"peak {peak}"] == table.loc[method].max(), label
    assert list(view.table["method"]) == list(METHODS)
    tiles = dict(view.metrics)
    for label in drawn:  # a tile per method at the peak drawn, with the table's accuracy
        method, peak = label.split(" @ ")
        assert tiles[f"{SHORT[method]} @ {peak}"] == f"{table.loc[method, f'peak {peak}']:.1f} %"
    assert len(tiles) == len(METHODS) + 1  # and schedule-free at the schedules' best peak
    assert view.summary.startswith("At its best peak LR")


def _synthetic(accs: dict[str, dict[float, list[float]]]):
    """A showdown of given final accuracies ({method: {peak: per seed}}; peaks not given end
    at chance), so every branch of the summary is checked without training."""
    from types import SimpleNamespace

    from clr_core.lessons.schedule_free import Showdown

    n = len(next(iter(next(iter(accs.values())).values())))
    runs = {f"{m} @ {p:g}": [SimpleNamespace(final_val_accuracy=a)
                             for a in accs.get(m, {}).get(p, [0.1] * n)]
            for m in METHODS for p in PEAK_GRID}
    return Showdown("mlp", 200, runs)


@pytest.mark.parametrize("accs", [
    # schedule-free ahead by 3 points, but the seeds move it by 6: about the same
    {"warm-up + cosine": {0.1: [0.92, 0.93]}, "WSD": {0.1: [0.90, 0.91]},
     "schedule-free SGD": {1.0: [0.92, 0.98], 0.1: [0.5, 0.6]}},
    # ahead by more than the seeds move: "better"; the two schedules tie
    {"warm-up + cosine": {0.3: [0.90, 0.905]}, "WSD": {0.3: [0.902, 0.903]},
     "schedule-free SGD": {3.0: [0.95, 0.952]}},
    # behind, one seed
    {"warm-up + cosine": {0.1: [0.95]}, "WSD": {0.03: [0.90]},
     "schedule-free SGD": {0.1: [0.91]}},
])
def test_lesson_nine_s_sentence_follows_its_table_whatever_the_numbers(accs):
    _agrees_with_its_table(_synthetic(accs))
