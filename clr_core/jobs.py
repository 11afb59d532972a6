"""Background jobs: range tests and training runs keep going while Streamlit reruns the
script, and the page polls their progress and events.

The registry is meant to be one shared object (``st.cache_resource``) polled from an
``st.fragment(run_every=...)``. Workers never touch Streamlit: they only append events to
their job under the registry's lock, and the script thread reads them by offset.

Scheduling: jobs on the same device run ``max_running_per_device`` at a time (default one,
so two range tests never fight over one GPU); the rest wait FIFO. Each job gets its own
daemon thread when it leaves the queue, and a finishing worker starts the next queued job
before it exits, so no thread lives longer than its job and nothing polls in the
background.

The registry knows nothing about torch: a runner is any
``runner(config, emit, should_stop) -> dict`` (see docs/architecture.md).
"""

from __future__ import annotations

import builtins
import copy
import itertools
import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from clr_core.errors import JobError

if TYPE_CHECKING:
    from clr_core.store import RunStore

__all__ = [
    "STATES",
    "TERMINAL_STATES",
    "Emit",
    "JobRegistry",
    "JobStatus",
    "Runner",
    "ShouldStop",
]

logger = logging.getLogger(__name__)

STATES = ("queued", "running", "done", "cancelled", "failed")
TERMINAL_STATES = frozenset({"done", "cancelled", "failed"})


class Emit(Protocol):
    def __call__(self, event: dict[str, Any] | None, progress: float | None = None) -> None: ...


ShouldStop = Callable[[], bool]
Runner = Callable[[dict[str, Any], Emit, ShouldStop], dict[str, Any]]


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job, safe to read from any thread. ``config`` and ``result`` are
    shared with the registry, not copied: treat them as read-only."""

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
    result: dict[str, Any] | None
    run_id: int | None
    save_error: str | None = None

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
class _Job:
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
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def eta_s(self) -> float | None:
        if self.state != "running" or self.started_mono is None or self.progress <= 0.0:
            return None
        elapsed = time.monotonic() - self.started_mono
        return max(elapsed * (1.0 - self.progress) / self.progress, 0.0)

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
            n_events=len(self.events),
            result=self.result,
            run_id=self.run_id,
            save_error=self.save_error,
        )


class JobRegistry:
    """Runs jobs in background threads and keeps their state, events and results.

    ``save_events_limit``: a finished job's events go to the store beside its result only
    when there are at most this many (0 never); the result alone must redraw the plot.
    """

    def __init__(
        self,
        runners: Mapping[str, Runner] | None = None,
        *,
        store: RunStore | None = None,
        max_running_per_device: int = 1,
        save_events_limit: int = 5000,
    ) -> None:
        if runners is None:
            # The engine's runners by default; imported here so tests and other callers
            # can build a registry from plain functions without torch.
            from clr_core.experiments import RUNNERS

            runners = RUNNERS
        if max_running_per_device < 1:
            raise JobError(f"max_running_per_device must be >= 1, got {max_running_per_device}")
        self._runners: dict[str, Runner] = dict(runners)
        self._store = store
        self._max_running = int(max_running_per_device)
        self._save_events_limit = int(save_events_limit)
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._queue: deque[_Job] = deque()
        self._running: dict[str, int] = {}
        self._seq = itertools.count()
        self._closed = False

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._runners)

    @property
    def store(self) -> RunStore | None:
        return self._store

    # -- submitting and scheduling ------------------------------------------------------

    def submit(
        self,
        kind: str,
        config: dict[str, Any],
        *,
        owner: str | None = None,
        device: str = "cpu",
        label: str | None = None,
    ) -> str:
        """Queue a job and return its id; it starts at once if its device is free."""
        runner = self._runners.get(kind)
        if runner is None:
            known = ", ".join(sorted(self._runners)) or "none"
            raise JobError(f"unknown job kind {kind!r} (known: {known})")
        if not isinstance(config, Mapping):
            raise JobError(f"config must be a dict, got {type(config).__name__}")
        with self._lock:
            if self._closed:
                raise JobError("the job registry is shut down")
            job = _Job(
                id=uuid.uuid4().hex,
                seq=next(self._seq),
                kind=kind,
                label=label,
                owner=owner,
                device=str(device),
                config=copy.deepcopy(dict(config)),
                runner=runner,
                cond=threading.Condition(self._lock),
            )
            self._jobs[job.id] = job
            self._queue.append(job)
            self._dispatch_locked()
        logger.debug("submitted %s job %s on %s", kind, job.id, device)
        return job.id

    def _dispatch_locked(self) -> None:
        """Start every queued job whose device has a free slot, oldest first."""
        if not self._queue:
            return
        waiting: deque[_Job] = deque()
        while self._queue:
            job = self._queue.popleft()
            if self._running.get(job.device, 0) < self._max_running:
                self._start_locked(job)
            else:
                waiting.append(job)
        self._queue = waiting

    def _start_locked(self, job: _Job) -> None:
        self._running[job.device] = self._running.get(job.device, 0) + 1
        job.state = "running"
        job.started = time.time()
        job.started_mono = time.monotonic()
        job.thread = threading.Thread(
            target=self._work, args=(job,), name=f"clr-job-{job.kind}-{job.id[:8]}", daemon=True
        )
        job.thread.start()
        job.cond.notify_all()

    # -- the worker ----------------------------------------------------------------------

    def _emit_for(self, job: _Job) -> Emit:
        def emit(event: dict[str, Any] | None, progress: float | None = None) -> None:
            if event is not None and not isinstance(event, dict):
                raise JobError(f"an event must be a dict, got {type(event).__name__}")
            with self._lock:
                if job.state in TERMINAL_STATES:
                    return
                if event is not None:
                    job.events.append(dict(event))
                if progress is not None and math.isfinite(progress):
                    job.progress = min(max(float(progress), 0.0), 1.0)

        return emit

    def _work(self, job: _Job) -> None:
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            out = job.runner(copy.deepcopy(job.config), self._emit_for(job), job.stop.is_set)
            if not isinstance(out, dict):
                raise TypeError(f"runner for {job.kind!r} returned {type(out).__name__}, not dict")
            result = out
        except Exception as e:  # a runner's bug must not kill the app; the user sees the message
            logger.exception("%s job %s failed", job.kind, job.id)
            error = f"{type(e).__name__}: {e}"
        if error is not None:
            state = "failed"
        elif job.stop.is_set():
            state = "cancelled"
        else:
            state = "done"
        run_id: int | None = None
        save_error: str | None = None
        try:
            run_id, save_error = self._save(job, state, result, error)
        finally:
            with self._lock:
                job.result = result
                job.error = error
                job.run_id = run_id
                job.save_error = save_error
                if state == "done":
                    job.progress = 1.0
                job.state = state
                job.finished = time.time()
                self._running[job.device] -= 1
                if not self._running[job.device]:
                    del self._running[job.device]
                self._dispatch_locked()
                job.cond.notify_all()
        logger.debug("%s job %s %s", job.kind, job.id, state)

    def _save(
        self, job: _Job, state: str, result: dict[str, Any] | None, error: str | None
    ) -> tuple[int | None, str | None]:
        """Save outside the lock (SQLite may wait on other writers); never raises, since a
        full disk must not lose the result the user is looking at."""
        if self._store is None:
            return None, None
        with self._lock:
            n = len(job.events)
            events = job.events[:n] if 0 < n <= self._save_events_limit else None
        try:
            run_id = self._store.save_run(
                job.kind, job.config, result, status=state, label=job.label, error=error,
                events=events,
            )
        except Exception as e:
            logger.exception("could not save %s job %s to the run store", job.kind, job.id)
            return None, f"{type(e).__name__}: {e}"
        return run_id, None

    # -- reading -------------------------------------------------------------------------

    def _get_locked(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobError(f"unknown job id {job_id!r}")
        return job

    def status(self, job_id: str) -> JobStatus:
        with self._lock:
            return self._get_locked(job_id).snapshot()

    def events(self, job_id: str, since: int = 0) -> tuple[builtins.list[dict[str, Any]], int]:
        """Events from offset ``since`` on, and the offset to pass next time. The list is
        append-only, so a reader that keeps its offset sees each event exactly once."""
        with self._lock:
            job = self._get_locked(job_id)
            n = len(job.events)
            if not 0 <= since <= n:
                raise JobError(f"event offset {since} is outside 0..{n} for job {job_id!r}")
            return job.events[since:n], n

    def list(self, owner: str | None = None) -> builtins.list[JobStatus]:
        """Newest first; ``owner`` (e.g. a session id) keeps one user's jobs."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if owner is None or j.owner == owner]
            jobs.sort(key=lambda j: j.seq, reverse=True)
            return [j.snapshot() for j in jobs]

    def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """Block until the job is done, cancelled or failed, and its thread has exited.

        On timeout it returns the current (not terminal) status rather than raising:
        check ``status.is_terminal``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            job = self._get_locked(job_id)
            while job.state not in TERMINAL_STATES:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return job.snapshot()
                job.cond.wait(remaining)
            thread = job.thread
        if thread is not None and thread is not threading.current_thread():
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            thread.join(remaining)
        with self._lock:
            return job.snapshot()

    # -- control -------------------------------------------------------------------------

    def cancel(self, job_id: str) -> bool:
        """Cancel a job; True if this call changed anything.

        A queued job ends at once without running (and is not saved: it has nothing to
        show). A running job is asked to stop; its runner returns a partial result within
        one batch and the job ends "cancelled" with that result. Finished jobs: no-op.
        """
        with self._lock:
            job = self._get_locked(job_id)
            if job.state == "queued":
                self._queue.remove(job)
                job.state = "cancelled"
                job.finished = time.time()
                job.cond.notify_all()
                return True
            if job.state == "running" and not job.stop.is_set():
                job.stop.set()
                return True
            return False

    def forget(self, job_id: str) -> None:
        """Drop a finished job from memory (its saved run stays in the store)."""
        with self._lock:
            job = self._get_locked(job_id)
            if job.state not in TERMINAL_STATES:
                raise JobError(f"job {job_id!r} is {job.state}; cancel it before forgetting it")
            del self._jobs[job_id]

    def shutdown(self, wait: bool = True, timeout: float | None = 30.0) -> bool:
        """Refuse new jobs, cancel every queued and running one and (if ``wait``) join
        their threads. True if no job thread is left running."""
        with self._lock:
            self._closed = True
            for job in builtins.list(self._queue):
                self.cancel(job.id)
            for job in self._jobs.values():
                if job.state == "running":
                    job.stop.set()
            threads = [j.thread for j in self._jobs.values() if j.thread is not None]
        if wait:
            deadline = None if timeout is None else time.monotonic() + timeout
            for thread in threads:
                if thread is threading.current_thread():
                    continue
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                thread.join(remaining)
        alive = [t.name for t in threads if t.is_alive()]
        if alive:
            logger.warning("job threads still running after shutdown: %s", ", ".join(alive))
        return not alive

    def __enter__(self) -> JobRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
