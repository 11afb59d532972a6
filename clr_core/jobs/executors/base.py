"""Where a job's runner runs: the registry decides *when* (per-device FIFO queue), an
executor decides *where*. This module is the contract every executor keeps, and the parts
they share; it knows no implementation (``thread``, ``process`` and ``ray`` each have
their module, ``choose`` picks one by name).

Every executor has the same shape: ``run(task, channel)`` blocks in the job's supervising
thread (one per running job, inside the server) until the runner has ended, publishing
event batches through ``channel`` and asking it whether the user cancelled. So the page's
polling reads events the same way whichever executor ran the job. Events are plain dicts
(a runner emits its typed events' ``to_dict()``): they pickle, and the store takes them
as they are.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from clr_core.errors import JobError

__all__ = [
    "Channel",
    "EventBatcher",
    "Executor",
    "Outcome",
    "ParallelPlan",
    "Task",
    "check_event",
    "checked_result",
    "cpu_threads",
    "describe_error",
    "run_members",
    "set_torch_threads",
]

Runner = Callable[..., dict]


@dataclass(frozen=True)
class ParallelPlan:
    """How a job splits into members that may run at the same time (a sweep's range
    tests): ``members(config) -> [member]``, ``run_member(member, emit, should_stop) ->
    dict`` (the job protocol), ``combine(config, results, cancelled=...) -> result`` and
    ``place(member, device) -> member`` to put a member on a device."""

    members: Callable[[dict], list[dict]]
    run_member: Runner
    combine: Callable[..., dict]
    place: Callable[[dict, str], dict]


@dataclass(frozen=True)
class Task:
    """One job as an executor sees it. ``runner`` must pickle (a module-level function)
    for the process and Ray executors; ``threads`` is the torch thread count to use.
    ``plan`` (with ``devices``, the job's device first) lets an executor run its members
    in parallel; run whole, the runner does them one after another."""

    job_id: str
    kind: str
    runner: Runner
    config: dict[str, Any]
    device: str = "cpu"
    threads: int | None = None
    plan: ParallelPlan | None = None
    devices: tuple[str, ...] = ()


@dataclass
class Outcome:
    """How a runner ended: its result, or an error message ("Type: message"); ``forced``
    when a cancel had to end the worker because the runner did not stop in time."""

    result: dict[str, Any] | None = None
    error: str | None = None
    forced: bool = False
    notes: list[str] = field(default_factory=list)


class Channel(Protocol):
    """The registry's side of a running job."""

    def publish(self, events: Sequence[dict[str, Any]], progress: float | None) -> None: ...

    def stop_requested(self) -> bool: ...


class Executor(Protocol):
    name: str

    def run(self, task: Task, channel: Channel) -> Outcome: ...

    def close(self) -> None: ...


def check_event(event: Any) -> None:
    """An event crosses to the server as a plain dict (a typed event's ``to_dict()``), so
    nothing on the far side converts it again; refused here, in the runner, by its type."""
    if event is not None and not isinstance(event, dict):
        raise JobError(f"an event must be a dict, got {type(event).__name__}")


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def cpu_threads() -> int:
    """Torch threads for a CPU job: every core but one, which the server keeps."""
    return max(1, (os.cpu_count() or 2) - 1)


def set_torch_threads(threads: int) -> None:
    """Torch's thread count for a job in a worker; before torch is imported, through the
    variable it reads when it is (so a runner that never uses torch does not pay for
    importing it, and neither does the worker)."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    else:
        os.environ["OMP_NUM_THREADS"] = str(threads)


def checked_result(kind: str, out: Any) -> dict[str, Any]:
    """A runner's return value, refused by its type unless it is the dict the protocol asks for."""
    if not isinstance(out, dict):
        raise TypeError(f"runner for {kind!r} returned {type(out).__name__}, not dict")
    return out


class EventBatcher:
    """A runner's emit on the far side of a boundary: events buffered and handed to
    ``send(batch, progress)`` every ``batch_s`` by a flusher thread, so the server gets a
    few messages a second however fast the runner emits, and events emitted just before
    a long call still go out."""

    def __init__(self, send: Callable[[list[dict[str, Any]], float | None], None],
                 batch_s: float) -> None:
        self._send, self._batch_s = send, batch_s
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._progress: float | None = None
        self._dirty = False
        self._failure: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="clr-flush", daemon=True)
        self._thread.start()

    def __call__(self, event: dict[str, Any] | None = None,
                 progress: float | None = None) -> None:
        check_event(event)
        if self._failure is not None:
            raise JobError(f"events cannot be sent to the server: {self._failure}")
        with self._lock:
            if event is not None:
                self._events.append(event)
            if progress is not None:
                self._progress = progress
            self._dirty = True

    def _loop(self) -> None:
        while not self._done.wait(self._batch_s):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            batch, self._events, self._dirty = self._events, [], False
            try:
                self._send(batch, self._progress)
            except Exception as e:  # an event that does not pickle
                self._failure = e

    def close(self) -> None:
        self._done.set()
        self._thread.join()
        self.flush()


class MemberChannel:
    """One member's view of a parallel job: its events go straight to the job, its
    progress is averaged with the other members'."""

    def __init__(self, channel: Channel, shares: list[float], index: int,
                 lock: threading.Lock) -> None:
        self._channel, self._shares, self._index, self._lock = channel, shares, index, lock

    def publish(self, events: Sequence[dict[str, Any]], progress: float | None) -> None:
        with self._lock:
            if progress is not None:
                self._shares[self._index] = progress
            total = sum(self._shares) / len(self._shares)
            self._channel.publish(events, total)

    def stop_requested(self) -> bool:
        return self._channel.stop_requested()


def run_members(task: Task, channel: Channel, run_one: Callable[[Task, Channel], Outcome],
                slots: Sequence[str]) -> Outcome:
    """Run a planned job's members, one per slot (device) at a time, each as its own task
    through ``run_one``; then combine. A member that fails fails the job, naming it."""
    plan = task.plan
    try:
        members = plan.members(task.config)
    except Exception as e:
        return Outcome(error=describe_error(e))
    shares = [0.0] * len(members)
    lock = threading.Lock()
    outcomes: list[Outcome | None] = [None] * len(members)
    pending = list(enumerate(members))

    def slot_worker(device: str) -> None:
        while True:
            with lock:
                if not pending or channel.stop_requested():
                    return
                index, member = pending.pop(0)
            sub = Task(f"{task.job_id}/{index}", task.kind, plan.run_member,
                       plan.place(member, device), device, task.threads)
            outcomes[index] = run_one(sub, MemberChannel(channel, shares, index, lock))

    threads = [threading.Thread(target=slot_worker, args=(d,), name=f"clr-member-{d}",
                                daemon=True) for d in slots[: len(members)]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for member, outcome in zip(members, outcomes, strict=True):
        if outcome is not None and outcome.error is not None:
            return Outcome(error=f"{member.get('label', 'a member')}: {outcome.error}",
                           notes=outcome.notes)
    done = [o.result for o in outcomes if o is not None and o.result is not None]
    try:
        result = plan.combine(task.config, done, cancelled=channel.stop_requested())
    except Exception as e:
        return Outcome(error=describe_error(e))
    return Outcome(result=result, forced=any(o is not None and o.forced for o in outcomes))

