"""What a job is while the registry holds it, and the snapshot pages read: kept apart from
the scheduling so the pages' view of a job (``JobStatus``) reads without the registry."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "STATES",
    "STORE_EVERY_S",
    "TERMINAL_STATES",
    "Emit",
    "Job",
    "JobChannel",
    "JobStatus",
    "Runner",
    "ShouldStop",
    "canonical_device",
    "time_left",
]

STATES = ("queued", "running", "done", "cancelled", "failed")
#: How often a running job's new events are appended to its row in the store.
STORE_EVERY_S = 1.0
TERMINAL_STATES = frozenset({"done", "cancelled", "failed"})


def canonical_device(device: str) -> str:
    """One name per device, so "cuda" and "cuda:0" are not two free GPUs."""
    return "cuda:0" if device == "cuda" else device


class Emit(Protocol):
    def __call__(self, event: dict[str, Any] | None, progress: float | None = None) -> None: ...


ShouldStop = Callable[[], bool]
Runner = Callable[[dict[str, Any], Emit, ShouldStop], dict[str, Any]]


def time_left(progress: float, elapsed_s: float, *,
              first: tuple[float, float] | None = None) -> float | None:
    """Seconds a piece of work has left: ``progress`` (0 to 1) done after ``elapsed_s``
    seconds, the rest at the pace seen so far. None while nothing is done (no pace yet).

    ``first``: (progress, elapsed_s) of the first progress reported. The pace is then
    measured from there on, so the start-up before it (a worker importing torch, building
    the data and the model: most of a short job's first seconds, and a ViT's first half
    minute) is not spread over the steps: from the start, a job that took 10 s to its first
    1 % and 0.1 s to the next would be said to need 990 s more, not 9.8. With one report
    only (or none after it), the pace is the whole elapsed time's."""
    if not (math.isfinite(progress) and math.isfinite(elapsed_s)) or progress <= 0.0:
        return None
    if progress >= 1.0:
        return 0.0
    done, took = progress, max(elapsed_s, 0.0)
    if first is not None and progress > first[0] and elapsed_s > first[1]:
        done, took = progress - first[0], elapsed_s - first[1]
    return took / done * (1.0 - progress)


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job, safe to read from any thread. ``config`` and ``result`` are
    shared with the registry, not copied: treat them as read-only. A saved job's result is
    read back from the store when first asked for."""

    id: str
    kind: str
    label: str | None
    owner: str | None
    device: str
    config: dict[str, Any]
    state: str
    progress: float
    eta_s: float | None
    error: str | None
    created: float
    started: float | None
    finished: float | None
    n_events: int
    kept_result: dict[str, Any] | None
    run_id: int | None
    save_error: str | None = None
    load_result: Callable[[], dict[str, Any] | None] | None = field(
        default=None, repr=False, compare=False)

    @property
    def result(self) -> dict[str, Any] | None:
        if self.kept_result is None and self.load_result is not None:
            return self.load_result()
        return self.kept_result

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def save_failed(self) -> bool:
        return self.save_error is not None

    @property
    def elapsed_s(self) -> float | None:
        if self.started is None:
            return None
        return (self.finished if self.finished is not None else time.time()) - self.started


@dataclass(eq=False)
class Job:
    id: str
    seq: int
    kind: str
    label: str | None
    owner: str | None
    device: str
    config: dict[str, Any]
    runner: Runner
    cond: threading.Condition
    state: str = "queued"
    progress: float = 0.0
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    started_mono: float | None = None
    finished: float | None = None
    result: dict[str, Any] | None = None
    run_id: int | None = None
    save_error: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    n_events: int = 0  # stays when a saved job's events leave memory
    n_stored: int = 0  # events handed to the job's RunWriter (written by its end at latest)
    stored_at: float = 0.0
    released: bool = False
    saving: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    loader: Callable[[], dict[str, Any] | None] | None = None
    devices: list[str] = field(default_factory=list)  # the job's device and any it borrowed
    first_progress: tuple[float, float] | None = None  # (progress, seconds since start)

    def note_progress(self, progress: float) -> None:
        """Take a new progress fraction; the first above 0 is remembered with its time, the
        start of the pace `time_left` measures."""
        self.progress = progress
        if self.first_progress is None and progress > 0.0 and self.started_mono is not None:
            self.first_progress = (progress, time.monotonic() - self.started_mono)

    def eta_s(self) -> float | None:
        if self.state != "running" or self.started_mono is None:
            return None
        return time_left(self.progress, time.monotonic() - self.started_mono,
                         first=self.first_progress)

    def snapshot(self) -> JobStatus:
        return JobStatus(
            id=self.id,
            kind=self.kind,
            label=self.label,
            owner=self.owner,
            device=self.device,
            config=self.config,
            state=self.state,
            progress=self.progress,
            eta_s=self.eta_s(),
            error=self.error,
            created=self.created,
            started=self.started,
            finished=self.finished,
            n_events=self.n_events,
            kept_result=self.result,
            run_id=self.run_id,
            save_error=self.save_error,
            load_result=self.loader if self.released else None,
        )


@dataclass(frozen=True)
class JobChannel:
    """What the executor sees of a running job: where its event batches go (``sink``, the
    registry's, given the job) and whether the user asked it to stop."""

    job: Job
    sink: Callable[[Job, Sequence[dict[str, Any]], float | None], None]

    def publish(self, events: Sequence[dict[str, Any]], progress: float | None) -> None:
        self.sink(self.job, events, progress)

    def stop_requested(self) -> bool:
        return self.job.stop.is_set()
