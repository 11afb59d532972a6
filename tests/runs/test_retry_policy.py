"""The one retry policy of every write to the run store (`clr_core.runs.writer`): waits that
double up to a cap, never more in all than the limit, only a transient (busy) store retried
(judged by the error's type, never its message), and a typed error when it gives up.

A fake clock stands in for time: each attempt costs some seconds on it, each sleep moves it,
so the tests check the bound the policy promises without waiting and without timing."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from clr_core.errors import (
    ConfigError,
    RunNotFound,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreReadOnly,
    StoreTimedOut,
    StoreUnavailable,
)
from clr_core.runs import writer as writer_mod
from clr_core.runs.writer import RetryPolicy, default_policy


class Clock:
    """Fake time: ``sleep`` moves it and records the wait; an attempt may cost time too."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def attempts_that(clock: Clock, errors: list[BaseException | None], cost: float = 0.0):
    """An attempt that raises ``errors`` in turn (None: it returns the attempt's number),
    costing ``cost`` seconds of the clock each time; ``calls`` counts them."""
    calls: list[int] = []

    def attempt() -> int:
        calls.append(1)
        clock.now += cost
        error = errors[min(len(calls), len(errors)) - 1]
        if error is not None:
            raise error
        return len(calls)

    return attempt, calls


#: Any workable policy: a first wait, a cap at least as long, a limit from none to long.
policies = st.tuples(st.floats(0.01, 5.0), st.floats(0.0, 60.0), st.floats(0.0, 1000.0)).map(
    lambda t: RetryPolicy(first_s=t[0], max_s=t[0] + t[1], give_up_after_s=t[2]))


@given(policies)
@example(RetryPolicy(0.25, 5.0, 120.0))
@example(RetryPolicy(1.0, 1.0, 0.0))
def test_the_waits_double_up_to_the_cap_and_sum_to_at_most_the_limit(policy):
    delays = list(policy.delays())
    assert all(policy.first_s <= d <= policy.max_s for d in delays)
    assert sum(delays) <= policy.give_up_after_s + 1e-9
    for before, after in zip(delays, delays[1:], strict=False):
        assert after == pytest.approx(min(2 * before, policy.max_s))
    # nothing left on the table: one more wait would pass the limit
    following = policy.next_delay(delays[-1]) if delays else policy.first_s
    assert sum(delays) + following > policy.give_up_after_s


@given(policies, st.floats(0.0, 40.0))
@example(RetryPolicy(0.25, 5.0, 120.0), 30.0)  # each attempt waits out SQLite's busy_timeout
def test_a_store_that_stays_busy_is_given_up_typed_within_the_limit(policy, cost):
    clock = Clock()
    attempt, calls = attempts_that(clock, [StoreBusy("database is locked")], cost)
    with pytest.raises(StoreTimedOut, match="database is locked") as caught:
        policy.call(attempt, clock=clock, sleep=clock.sleep)
    assert isinstance(caught.value.__cause__, StoreBusy) and not caught.value.transient
    assert len(calls) == len(clock.sleeps) + 1  # an attempt after every wait, and one first
    assert sum(clock.sleeps) <= policy.give_up_after_s + 1e-9
    # every wait ended within the limit, the attempts' own time counted
    waited_until = cost * len(clock.sleeps) + sum(clock.sleeps)
    assert waited_until <= policy.give_up_after_s + 1e-9
    assert all(policy.first_s <= s <= policy.max_s for s in clock.sleeps)


@pytest.mark.parametrize("error", [
    StoreReadOnly("attempt to write a readonly database"), StoreFull("database or disk is full"),
    StoreCorrupt("file is not a database"), StoreUnavailable("unable to open database file"),
    RunNotFound("no saved run with id 3"), StoreError("a run needs a kind"),
])
def test_a_store_no_waiting_fixes_is_given_up_at_once_with_its_own_type(error):
    clock = Clock()
    attempt, calls = attempts_that(clock, [error])
    with pytest.raises(type(error)) as caught:
        default_policy().call(attempt, clock=clock, sleep=clock.sleep)
    assert caught.value is error and len(calls) == 1 and clock.sleeps == []


def test_the_type_decides_never_the_message():
    """A plain StoreError that happens to say "locked" is not retried; a StoreBusy is,
    whatever it says."""
    assert not RetryPolicy.retryable(StoreError("run store x: database is locked"))
    assert RetryPolicy.retryable(StoreBusy("anything"))
    assert not RetryPolicy.retryable(RuntimeError("database is locked"))
    assert not RetryPolicy.retryable(StoreTimedOut("stayed busy"))


@given(st.integers(0, 6), st.floats(0.0, 2.0))
def test_a_lock_that_clears_is_written_on_the_first_attempt_after_it(k, cost):
    clock = Clock()
    attempt, calls = attempts_that(clock, [StoreBusy("locked")] * k + [None], cost)
    policy = RetryPolicy(0.25, 5.0, 120.0)  # k <= 6 refusals fit in 120 s at any cost <= 2
    assert policy.call(attempt, clock=clock, sleep=clock.sleep) == k + 1
    assert len(clock.sleeps) == k and clock.sleeps == list(policy.delays())[:k]


def test_an_attempt_already_refused_starts_with_the_first_wait():
    clock = Clock()
    attempt, calls = attempts_that(clock, [None])
    heard = []
    first = StoreBusy("locked")
    assert RetryPolicy(0.5, 4.0, 10.0).call(attempt, failed=first, clock=clock,
                                            sleep=clock.sleep, on_retry=heard.append) == 1
    assert clock.sleeps == [0.5] and heard == [first]


def test_a_limit_of_zero_tries_once_and_never_waits():
    clock = Clock()
    attempt, calls = attempts_that(clock, [StoreBusy("locked")])
    with pytest.raises(StoreTimedOut):
        RetryPolicy(0.25, 5.0, 0.0).call(attempt, clock=clock, sleep=clock.sleep)
    assert len(calls) == 1 and clock.sleeps == []


@pytest.mark.parametrize("first, cap, limit", [(0, 1, 1), (2, 1, 1), (0.1, 1, -1),
                                               (float("nan"), 1, 1), (0.1, 1, float("nan"))])
def test_a_policy_that_cannot_work_is_refused(first, cap, limit):
    with pytest.raises(ConfigError):
        RetryPolicy(first, cap, limit)


def test_the_limits_are_read_from_their_one_place(monkeypatch):
    monkeypatch.setattr(writer_mod, "RETRY_FOR_S", 3.0)
    monkeypatch.setattr(writer_mod, "RETRY_FIRST_S", 1.0)
    assert default_policy() == RetryPolicy(1.0, writer_mod.RETRY_MAX_S, 3.0)
    assert list(default_policy().delays()) == [1.0, 2.0]
