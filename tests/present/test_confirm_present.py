"""The confirmation as drawn and said (`clr_core.present.confirm`): the chart's points are
the trials, the winner and the sweep's pick marked, the lines the page and CLI print."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.present import words
from clr_core.present.confirm import (
    confirm_figure,
    confirm_lines,
    share_label,
    sparkline,
    trials_table,
)
from clr_core.present.words import agreement_line, sweep_ok_line
from clr_core.runs.reports import ConfirmReport, TrialCurve
from clr_core.suggest.confirm import ConfirmPlan, ConfirmResult, ConfirmRound, Trial

TRIALS = [
    TrialCurve(0.01, 0.5, 0, -0.80, 8, (2.3, 1.0, 0.5), 0.6, 0.80),
    TrialCurve(0.10, 0.5, 0, -0.90, 8, (2.3, 0.8, 0.3), 0.4, 0.90),
    TrialCurve(1.00, 0.5, 0, math.nan, 3, (2.3, 9.0, math.nan), math.nan, math.nan, "non-finite loss"),
    TrialCurve(0.10, 1.0, 0, -0.95, 16, (2.3, 0.5, 0.2), 0.2, 0.95),
]


def _report(cancelled: bool = False) -> ConfirmReport:
    plan = ConfirmPlan((0.01, 0.1, 1.0), (ConfirmRound(3, 0.5), ConfirmRound(1, 1.0)))
    result = ConfirmResult(plan, tuple(Trial(t.peak, t.fraction, t.seed, t.score) for t in TRIALS),
                           0.1, 2.5, sweep_pick=0.03)
    return ConfirmReport(result=result, trials=TRIALS, metric="accuracy",
                         budget=16, cancelled=cancelled)


def test_each_trial_is_a_point_at_its_peak_and_a_diverged_one_an_x():
    fig = confirm_figure(TRIALS, budget=16, winner=0.1, sweep_pick=0.03)
    by_name = {t.name: t for t in fig.data}
    half = by_name["1/2 of the budget (8 steps)"]
    assert list(half.x) == [0.01, 0.1] and list(half.y) == pytest.approx([80.0, 90.0])
    assert list(by_name["the full budget (16 steps)"].y) == pytest.approx([95.0])
    bad = by_name["diverged (1/2 of the budget (8 steps))"]
    assert list(bad.x) == [1.0] and bad.marker.symbol == "x"
    star = by_name["confirmed: max_lr 0.1"]
    assert list(star.y) == pytest.approx([95.0])  # at what its longest trial reached
    low, high = fig.layout.yaxis.range  # the star inside the frame, with room around it
    assert low < 80.0 and high > 95.0
    assert "the sweep's pick: 0.03" in by_name
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.tickmode == "array"
    assert fig.layout.yaxis.title.text == "reached validation accuracy (%)"
    # each point carries its trial's training curve for the hover label
    assert half.customdata[0][1] == sparkline(TRIALS[0].losses)


def test_a_loss_metric_draws_the_loss():
    trials = [TrialCurve(0.1, 1.0, 0, 0.25, 4, (1.0, 0.5), 0.25)]
    fig = confirm_figure(trials, budget=4)
    assert fig.layout.yaxis.title.text == "reached validation loss"
    assert list(fig.data[0].y) == [0.25]


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=500))
def test_a_sparkline_is_at_most_24_bars_and_climbs_with_the_values(values):
    line = sparkline(values)
    assert 1 <= len(line) <= 24
    assert set(line) <= set("▁▂▃▄▅▆▇█")
    if len(values) <= 24 and max(values) - min(values) > 1e-6:
        assert line[values.index(min(values))] == "▁" and line[values.index(max(values))] == "█"


def test_shares_read_as_fractions_of_the_budget():
    assert share_label(1 / 8, 300) == "1/8 of the budget (38 steps)"
    assert share_label(1 / 3, 300) == "1/3 of the budget (100 steps)"
    assert share_label(1.0, 300) == "the full budget (300 steps)"


def test_the_lines_name_the_winner_the_sweeps_pick_and_the_cost():
    lines = confirm_lines(_report())
    assert lines[0] == "Confirmed max_lr 0.1: 95.0% accuracy at the full budget (16 steps)."
    assert lines[1] == ("The sweep's pick for this schedule and budget was 0.03 (0.52 decades "
                        "below the confirmed peak).")
    assert lines[2].startswith("The trainings and the sweep disagree (more than 2× apart)")
    assert lines[3] == "Cost: 2.5 trainings of the planned 16 steps (4 trials)."
    assert "stopped early" in confirm_lines(_report(cancelled=True))[-1]


def test_the_table_has_a_row_per_trial_in_order():
    table = trials_table(TRIALS, budget=16)
    assert list(table["peak"]) == [t.peak for t in TRIALS]
    assert list(table["accuracy %"])[:2] == pytest.approx([80.0, 90.0])
    assert math.isnan(table["accuracy %"][2]) and table["ended"][2] == "non-finite loss"


def test_a_report_reads_back_as_it_was_written():
    report = _report()
    again = ConfirmReport.from_dict(report.to_dict())
    assert again.trials[:2] == report.trials[:2] and again.trials[3] == report.trials[3]
    assert math.isnan(again.trials[2].score) and again.result.best_peak == 0.1


MEASURED = {"ok": {"n": 40, "of": 60, "within": 0.7, "within_se": 0.072},
            "agree": {"n": 25, "of": 60, "within": 0.92, "within_se": 0.054, "sweep_within": 0.84},
            "disagree": {"n": 35, "of": 60, "within": 0.71, "sweep_within": 0.49}}


def test_the_verdict_says_whether_trainings_and_sweep_agree_with_what_that_meant(monkeypatch):
    monkeypatch.setattr(words, "measured_confidence", lambda: MEASURED)
    agree = agreement_line(0.01, 0.006)
    assert agree == ("The trainings agree with the sweep (within 2×): where they agreed on 25 "
                     "held-out benchmark tasks, the confirmed peak was within 1 point / 2 % of "
                     "the best on 92 % ± 5.")
    apart = agreement_line(0.01, 0.001)
    assert "disagree" in apart and "on 35 held-out" in apart
    assert "on 71 %, the sweep's pick on 49 %" in apart
    assert apart.endswith("train in full at both 0.01 and 0.001 to settle it.")
    assert agreement_line(math.nan, 0.01) is None and agreement_line(0.01, None) is None
    # a confirmation of another cost is said with that cost's figures, or with none
    by_cost = {**MEASURED, "by_cost": {"2": {"agree": {"n": 20, "of": 60, "within": 0.8}}}}
    monkeypatch.setattr(words, "measured_confidence", lambda: by_cost)
    assert "agreed on 20 held-out benchmark tasks" in agreement_line(0.01, 0.006, 2.0)
    assert agreement_line(0.01, 0.006, 3.0) == "The trainings agree with the sweep (within 2×)."
    assert "agreed on 25 held-out" in agreement_line(0.01, 0.006)  # the default's
    monkeypatch.setattr(words, "measured_confidence", dict)  # not measured: no figures
    assert agreement_line(0.01, 0.006) == "The trainings agree with the sweep (within 2×)."
    assert sweep_ok_line() is None


def test_a_sweeps_ok_is_said_with_what_it_meant_on_held_out_tasks(monkeypatch):
    monkeypatch.setattr(words, "measured_confidence", lambda: MEASURED)
    line = sweep_ok_line()
    assert "on 40 held-out benchmark tasks" in line and "on 70 % ± 7." in line
    assert line.endswith("Confirm checks it.")


def test_a_report_stored_before_the_result_held_the_pick_reads_it_from_the_report():
    stored = _report().to_dict()
    stored["confirm"].pop("sweep_pick")  # as confirmations were stored until 2026-12-08
    again = ConfirmReport.from_dict(stored)
    assert again.sweep_pick == again.result.sweep_pick == 0.03
