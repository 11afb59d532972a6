"""Background jobs: range tests and training runs keep going while Streamlit reruns the
script, and the page polls their progress and events.

The registry is meant to be one shared object (``st.cache_resource``) polled from an
``st.fragment(run_every=...)``. It decides *when* a job runs; an executor
(``clr_core.jobs.executors``) decides *where*: by default a worker process per running job, so
the job neither holds the server's interpreter lock nor takes the server down when it
dies. Event batches come back to the job's supervising thread, which appends them under
the registry's lock; the script thread reads them by offset.

Scheduling: jobs on the same device run ``max_running_per_device`` at a time (default one,
so two range tests never fight over one GPU); the rest wait FIFO. Each running job has one
supervising daemon thread in the server, and a finishing job starts the next queued one
before its thread exits, so no thread lives longer than its job.

With a store, a job is a "running" row from its start (events appended about once a
second), finished in one transaction at its end; a server that starts marks the rows of
servers that stopped "interrupted". Once saved, a finished job's result and events leave
memory: the registry reads them back from the store (a few recent results are cached).
A failed save keeps them in memory, says why in ``save_error``, and is retried. The
store half is ``clr_core.jobs.saving.JobSaver``, which the registry owns.

The registry knows nothing about torch: it is handed its runners, each any
``runner(config, emit, should_stop) -> dict`` (see docs/architecture.md); the engine's
come with ``clr_core.jobs.engine_jobs.engine_registry``.
"""

from __future__ import annotations

import builtins
import copy
import itertools
import logging
import math
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from clr_core.errors import JobError
from clr_core.jobs.executors.base import Executor, Outcome, ParallelPlan, Task, cpu_threads
from clr_core.jobs.executors.choose import make_executor
from clr_core.jobs.limits import JobSizer, Limits
from clr_core.jobs.saving import JobSaver
from clr_core.jobs.state import (
    STORE_EVERY_S,
    TERMINAL_STATES,
    Job,
    JobChannel,
    JobStatus,
    Runner,
    canonical_device,
)

if TYPE_CHECKING:
    from clr_core.runs.store import RunStore

__all__ = ["JobRegistry"]

logger = logging.getLogger(__name__)

class JobRegistry:
    """Runs jobs through an executor and keeps their state, events and results.

    ``runners``: the job kinds and the runner of each. ``executor``: an ``Executor``, or
    its name ("process", "ray", "thread"); default ``$CLR_STUDIO_EXECUTOR``, else
    "process". ``parallel``: kinds whose members may run at once (a sweep's range tests);
    with the process executor a running job of such a kind also takes the free
    ``devices`` of its own type (other GPUs). ``save_events_limit``: a job's events go to
    the store beside its result only up to this many (0 never); the result alone must
    redraw the plot. ``limits``: what one owner (a person, `clr_core.runs.identity`) may
    hold and ask for, checked on every job submitted with an owner; default the operator's
    settings (`Limits.from_settings`). ``sizer(kind, config)``: the training iterations a
    job asks for, for the limits per job and per sweep (the engine's is
    ``runners.job_iterations``); without one only the number of jobs is limited.
    """

    def __init__(
        self,
        runners: Mapping[str, Runner],
        *,
        store: RunStore | None = None,
        executor: Executor | str | None = None,
        parallel: Mapping[str, ParallelPlan] | None = None,
        devices: Sequence[str] = (),
        max_running_per_device: int = 1,
        save_events_limit: int = 5000,
        results_cached: int = 4,
        limits: Limits | None = None,
        sizer: JobSizer | None = None,
    ) -> None:
        if max_running_per_device < 1:
            raise JobError(f"max_running_per_device must be >= 1, got {max_running_per_device}")
        self._runners: dict[str, Runner] = dict(runners)
        self._parallel: dict[str, ParallelPlan] = dict(parallel or {})
        self._devices = tuple(canonical_device(d) for d in devices)
        self._executor = executor if hasattr(executor, "run") else make_executor(executor)
        # Ray places tasks on a cluster's devices itself: no queue per device here.
        self._max_running = (sys.maxsize if getattr(self._executor, "schedules_devices", False)
                             else int(max_running_per_device))
        self._limits = limits or Limits.from_settings()
        self._sizer = sizer
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._running: dict[str, int] = {}
        self._seq = itertools.count()
        self._closed = False
        self._saver = JobSaver(store, self._lock, self._jobs.values,
                               events_limit=save_events_limit, results_cached=results_cached)
        self._saver.mark_interrupted()

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._runners)

    @property
    def store(self) -> RunStore | None:
        return self._saver.store

    @property
    def executor(self) -> Executor:
        return self._executor

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
        if owner is not None and self._sizer is not None:
            self._limits.check_size(kind, self._sizer(kind, config))
        with self._lock:
            if self._closed:
                raise JobError("the job registry is shut down")
            if owner is not None:  # a person's job (the app's): their limits apply
                self._limits.check_jobs(sum(1 for j in self._jobs.values()
                                            if j.owner == owner and j.state not in TERMINAL_STATES))
            job = Job(
                id=uuid.uuid4().hex,
                seq=next(self._seq),
                kind=kind,
                label=label,
                owner=owner,
                device=canonical_device(str(device)),
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
        waiting: deque[Job] = deque()
        while self._queue:
            job = self._queue.popleft()
            if self._running.get(job.device, 0) < self._max_running:
                self._start_locked(job)
            else:
                waiting.append(job)
        self._queue = waiting

    def _start_locked(self, job: Job) -> None:
        job.devices = [job.device, *self._spares_locked(job)]
        for device in job.devices:
            self._running[device] = self._running.get(device, 0) + 1
        job.state = "running"
        job.started = time.time()
        job.started_mono = time.monotonic()
        job.thread = threading.Thread(
            target=self._work, args=(job,), name=f"clr-job-{job.kind}-{job.id[:8]}", daemon=True
        )
        job.thread.start()
        job.cond.notify_all()

    def _spares_locked(self, job: Job) -> list[str]:
        """Free devices of the job's type that no queued job waits for, for a job whose
        members may run in parallel (a sweep on a machine with several GPUs)."""
        if job.kind not in self._parallel:
            return []
        family = job.device.split(":")[0]
        wanted = {q.device for q in self._queue}
        return [d for d in self._devices
                if d != job.device and d.split(":")[0] == family and d not in wanted
                and self._running.get(d, 0) < self._max_running]

    # -- the supervising thread ----------------------------------------------------------

    def _publish(self, job: Job, events: Sequence[dict[str, Any]],
                 progress: float | None) -> None:
        with self._lock:
            if job.state in TERMINAL_STATES:
                return
            job.events.extend(events)
            job.n_events = len(job.events)
            if progress is not None and math.isfinite(progress):
                job.note_progress(min(max(float(progress), 0.0), 1.0))
        if job.run_id is not None and time.monotonic() - job.stored_at >= STORE_EVERY_S:
            self._saver.append_new_events(job)

    def _work(self, job: Job) -> None:
        self._saver.start(job)
        task = Task(job.id, job.kind, job.runner, copy.deepcopy(job.config), job.device,
                    threads=cpu_threads() if job.device == "cpu" else None,
                    plan=self._parallel.get(job.kind), devices=tuple(job.devices))
        channel = JobChannel(job, self._publish)
        try:
            outcome = self._executor.run(task, channel)
        except Exception as e:  # the executor itself failed (Ray down, no processes)
            logger.exception("%s job %s could not run", job.kind, job.id)
            outcome = Outcome(error=f"{type(e).__name__}: {e}")
        if outcome.error is not None:
            logger.error("%s job %s failed: %s\n%s", job.kind, job.id, outcome.error,
                         "".join(outcome.notes))
            state = "failed"
        elif job.stop.is_set():
            state = "cancelled"
        else:
            state = "done"
        try:
            with self._lock:
                job.result = outcome.result
                job.error = self._saver.shown_error(outcome.error)  # in full in the log above
            self._saver.save(job, state)
        finally:
            with self._lock:
                if state == "done":
                    job.progress = 1.0
                job.state = state
                job.finished = time.time()
                for device in job.devices:
                    self._running[device] -= 1
                    if not self._running[device]:
                        del self._running[device]
                self._dispatch_locked()
                job.cond.notify_all()
        self._saver.retry_failed()
        logger.debug("%s job %s %s", job.kind, job.id, state)

    # -- reading -------------------------------------------------------------------------

    def _get_locked(self, job_id: str) -> Job:
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
            n = job.n_events
            if not 0 <= since <= n:
                raise JobError(f"event offset {since} is outside 0..{n} for job {job_id!r}")
            if not job.released:
                return job.events[since:n], n
            run_id = job.run_id
        if since == n:
            return [], n
        return self._saver.read_events(run_id, since), n

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

    def retry_save(self, job_id: str) -> bool:
        """Save a finished job whose save failed; True once it is in the store."""
        with self._lock:
            job = self._get_locked(job_id)
        return self._saver.retry(job)

    def forget(self, job_id: str) -> None:
        """Drop a finished job from memory (its saved run stays in the store)."""
        with self._lock:
            job = self._get_locked(job_id)
            if job.state not in TERMINAL_STATES:
                raise JobError(f"job {job_id!r} is {job.state}; cancel it before forgetting it")
            del self._jobs[job_id]
        self._saver.forget(job_id)

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
        else:
            self._executor.close()
        return not alive

    def __enter__(self) -> JobRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

