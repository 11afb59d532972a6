"""Issue 32: a training lesson's demo reports how many of its runs are done, so the Learn
page draws a progress bar with the time left."""

from __future__ import annotations

from clr_core.lessons.digits import reporting_progress, train_grid

VARIANTS = {"low": {"schedule": {"policy": "fixed", "lr": 0.01}},
            "high": {"schedule": {"policy": "fixed", "lr": 0.1}}}


def test_a_grid_reports_its_runs_done_before_the_first_and_after_each():
    seen, finished = [], []
    with reporting_progress(lambda done, total: seen.append((done, total))):
        runs = train_grid(VARIANTS, num_iter=6, seeds=(0, 1), eval_every=3,
                          on_run=lambda run: finished.append(len(seen)))
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert finished == [1, 2, 3, 4]  # each run is drawn before its count is reported
    assert sum(len(r) for r in runs.values()) == 4
    # outside the block nothing reports
    train_grid(VARIANTS, num_iter=6, seeds=(0,), eval_every=3)
    assert len(seen) == 5
