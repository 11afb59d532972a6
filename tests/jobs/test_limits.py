"""Limits per person (issue 29): jobs queued or running at once, iterations per job and
per sweep; a refusal names the limit and the operator's setting."""

from __future__ import annotations

import pytest

from clr_core.errors import JobError
from clr_core.jobs.limits import LimitError, Limits
from clr_core.jobs.registry import JobRegistry
from clr_core.jobs.runners import job_iterations
from clr_core.settings import reload_settings


def quick(config, emit, should_stop):
    while not should_stop():
        emit({"kind": "step"}, 0.5)
    return {}


@pytest.fixture
def make():
    made = []

    def factory(**options) -> JobRegistry:
        reg = JobRegistry({"q": quick, "sweep": quick, "range_test": quick},
                          executor="thread", **options)
        made.append(reg)
        return reg

    yield factory
    for reg in made:
        for status in reg.list():
            reg.cancel(status.id)
        assert reg.shutdown(timeout=30)


def test_one_person_cannot_queue_more_than_the_limit(make):
    reg = make(limits=Limits(jobs_per_person=2))
    ids = [reg.submit("q", {}, owner="alice") for _ in range(2)]
    with pytest.raises(LimitError, match=r"allows 2 per person \(CLR_STUDIO_MAX_JOBS_PER_PERSON\)"):
        reg.submit("q", {}, owner="alice")
    assert len(reg.list(owner="alice")) == 2  # the refused one is nowhere
    other = reg.submit("q", {}, owner="bob")  # the limit is per person
    reg.submit("q", {})  # a script's job (no owner) is not a person's
    for job_id in (*ids, other):
        reg.cancel(job_id)
    for job_id in ids:
        reg.wait(job_id, timeout=30)
    reg.submit("q", {}, owner="alice")  # ended jobs free the slots


def test_a_sweep_too_large_is_refused_before_it_is_queued(make):
    reg = make(limits=Limits(iterations_per_sweep=1_000_000), sizer=job_iterations)
    huge = {"param": "seed", "values": list(range(5000)), "base": {"num_iter": 100_000}}
    with pytest.raises(LimitError) as caught:
        reg.submit("sweep", huge, owner="alice")
    message = str(caught.value)
    assert "500,000,000 training iterations" in message
    assert "allows 1,000,000 per sweep (CLR_STUDIO_MAX_ITERATIONS_PER_SWEEP)" in message
    assert isinstance(caught.value, JobError)  # the pages' existing handler says it
    assert reg.list() == []
    reg.submit("sweep", {**huge, "values": list(range(10))}, owner="alice")  # 1,000,000: fits


def test_a_job_over_its_iteration_limit_is_refused_and_one_within_runs(make):
    reg = make(limits=Limits(iterations_per_job=500), sizer=job_iterations)
    with pytest.raises(LimitError, match=r"allows 500 per job \(CLR_STUDIO_MAX_ITERATIONS_PER_JOB\)"):
        reg.submit("range_test", {"num_iter": 501}, owner="alice")
    reg.submit("range_test", {"num_iter": 500}, owner="alice")
    reg.submit("range_test", {"num_iter": 10_000})  # no owner: a script's own registry


@pytest.mark.parametrize(("kind", "config", "expected"), [
    ("range_test", {}, 100),  # RangeTestConfig's default
    ("range_test", {"num_iter": 250}, 250),
    ("train", {}, 300),
    ("train", {"num_iter": 50, "runs": [{}, {"num_iter": 70}, {"label": "x"}]}, 170),
    ("sweep", {"param": "seed", "values": [1, 2, 3]}, 300),
    ("sweep", {"values": [0.1, 0.2], "base": {"num_iter": 40}}, 80),
    ("range_test", {"num_iter": "many"}, None),  # not said: the runner refuses it
    ("range_test", {"num_iter": True}, None),
    ("train", {"runs": "nope"}, None),
    ("sweep", {"values": 3}, None),
    ("unknown", {}, None),
])
def test_a_jobs_size_is_read_from_its_config(kind, config, expected):
    assert job_iterations(kind, config) == expected


def test_the_limits_come_from_the_operators_settings(monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_MAX_JOBS_PER_PERSON", "5")
    monkeypatch.setenv("CLR_STUDIO_MAX_ITERATIONS_PER_JOB", "1000")
    monkeypatch.setenv("CLR_STUDIO_MAX_ITERATIONS_PER_SWEEP", "9000")
    try:
        reload_settings()
        assert Limits.from_settings() == Limits(5, 1000, 9000)
    finally:
        monkeypatch.undo()
        reload_settings()
    assert Limits.from_settings() == Limits()  # the documented defaults
