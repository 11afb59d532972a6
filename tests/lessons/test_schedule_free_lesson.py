"""Lesson 9's verdict, checked on the seeds and budget it states: schedule-free SGD against
warm-up + cosine and WSD on the digits tasks, each at its own best peak of the grid."""

from __future__ import annotations

import numpy as np

from clr_core.lessons import lesson_by_key
from clr_core.lessons.schedule_free import METHODS, PEAK_GRID, showdown

SEEDS = (0, 1)
SCHEDULED = ("warm-up + cosine", "WSD")


def test_the_lesson_defaults_are_the_setting_its_verdict_states():
    lesson = lesson_by_key("schedule_free")
    assert lesson.defaults() == {"task": "mlp", "num_iter": 200, "seeds": 2}
    assert "200 updates, seeds 0 and 1" in lesson.claim.verdict


def test_mlp_schedule_free_matches_the_best_schedule_only_at_a_far_larger_lr():
    s = showdown("mlp", num_iter=200, seeds=SEEDS)
    best_scheduled = max(SCHEDULED, key=s.best)
    # at its own best peak it matches (here: beats) the best schedule ...
    assert s.best("schedule-free SGD") >= s.best(best_scheduled)
    # ... at a peak 30x the schedules' (3 vs 0.1), where both schedules diverge ...
    assert s.best_peak("schedule-free SGD") == 3.0
    assert {s.best_peak(m) for m in SCHEDULED} == {0.1}
    assert all(s.median(m, 3.0) < 0.2 for m in SCHEDULED)
    # ... and at the schedules' peak it is more than 10 points behind
    assert s.median("schedule-free SGD", 0.1) < s.best(best_scheduled) - 0.10
    table = s.table()
    assert list(table.index) == list(METHODS) and len(table.columns) == len(PEAK_GRID)


def test_logistic_regression_cannot_tell_the_three_apart():
    s = showdown("logreg", num_iter=200, seeds=SEEDS)
    bests = [s.best(m) for m in METHODS]
    assert max(bests) - min(bests) <= 0.01  # within a point of each other
    assert np.isclose(s.best("schedule-free SGD"), max(bests))


def test_the_lesson_draws_each_method_at_its_best_peak():
    lesson = lesson_by_key("schedule_free")
    seen = []
    view = lesson.view(lesson.defaults(), on_run=seen.append)
    assert len(seen) == len(METHODS) * len(PEAK_GRID) * 2
    (name, fig), = view.figures
    drawn = [t.name for t in fig.data if t.showlegend is not False]
    assert drawn == ["warm-up + cosine @ 0.1", "WSD @ 0.1", "schedule-free SGD @ 3"]
    assert list(view.table["method"]) == list(METHODS)
    assert any("schedule-free SGD at" in label for label, _ in view.metrics)
