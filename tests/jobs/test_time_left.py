"""Issue 32, "Time you can see": the estimate of the time a job has left, from the progress
done and the time it took, and the words a page shows it in."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.jobs import state
from clr_core.jobs.state import Job, time_left
from ui.jobs import time_left_text


def test_nothing_done_gives_no_estimate_and_everything_done_none_left():
    assert time_left(0.0, 5.0) is None
    assert time_left(math.nan, 5.0) is None
    assert time_left(0.5, math.inf) is None
    assert time_left(1.0, 5.0) == 0.0


def test_the_pace_so_far_sets_the_rest():
    assert time_left(0.5, 10.0) == pytest.approx(10.0)  # half in 10 s: 10 s more
    assert time_left(0.25, 10.0) == pytest.approx(30.0)


def test_the_start_up_before_the_first_progress_is_not_spread_over_the_steps():
    # 10 s to the first 1 % (imports, data, model), 0.1 s to the next 1 %: 98 steps of
    # 0.1 s are left, not 98 of (10.1 / 2)
    assert time_left(0.02, 10.1, first=(0.01, 10.0)) == pytest.approx(9.8)
    assert time_left(0.02, 10.1) == pytest.approx(494.9)  # from the start: 50x too long
    # one report so far (or none after it): the whole elapsed time is the pace
    assert time_left(0.01, 10.0, first=(0.01, 10.0)) == pytest.approx(990.0)


@given(startup=st.floats(0.0, 100.0), pace=st.floats(0.01, 1000.0),
       first=st.floats(0.001, 0.5), now=st.floats(0.001, 0.999))
def test_a_steady_job_after_any_start_up_is_estimated_exactly(startup, pace, first, now):
    """``pace`` seconds per whole job once running: the estimate is what is left of it."""
    if now <= first + 1e-6:
        now = min(first + 0.01, 0.999)
    left = time_left(now, startup + pace * now, first=(first, startup + pace * first))
    assert left == pytest.approx(pace * (1.0 - now), rel=1e-6, abs=1e-6)


@given(progress=st.floats(0.001, 0.999), elapsed=st.floats(0.0, 1e6), more=st.floats(0.0, 1e6))
def test_more_time_for_the_same_progress_means_more_time_left(progress, elapsed, more):
    assert 0.0 <= time_left(progress, elapsed) <= time_left(progress, elapsed + more)


def test_a_job_measures_its_pace_from_its_first_progress(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(state.time, "monotonic", lambda: clock[0])
    job = Job(id="j", seq=0, kind="k", label=None, owner=None, device="cpu", config={},
              runner=lambda *a: {}, cond=threading.Condition(), state="running",
              started_mono=100.0)
    assert job.eta_s() is None  # nothing done yet: no estimate
    clock[0] = 110.0
    job.note_progress(0.01)  # 10 s of start-up
    clock[0] = 110.1
    job.note_progress(0.02)
    assert job.first_progress == (0.01, 10.0)
    assert job.eta_s() == pytest.approx(9.8)
    assert job.snapshot().eta_s == pytest.approx(9.8)
    job.state = "done"
    assert job.eta_s() is None


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "estimating the time left…"),
    (math.nan, "estimating the time left…"),
    (0.2, "about 1 s left"),
    (42.4, "about 42 s left"),
    (89.0, "about 89 s left"),
    (100.0, "about 2 min left"),
    (45 * 60, "about 45 min left"),
    (3 * 3600 + 600, "about 3 h 10 min left"),
])
def test_the_time_left_in_words(seconds, text):
    assert time_left_text(seconds) == text
