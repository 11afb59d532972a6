"""Saving jobs to the run store: a job's running row kept up to date while it runs, its end
written in one transaction, its result and events released from memory once saved and
read back on demand, and a failed save kept, reported and retried.

A part of ``JobRegistry`` given what it needs rather than a mixin reading the registry's
fields: the store, the lock that guards every job's fields, a view of the jobs held now
and its limits; so it can be built and tested on its own."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from clr_core.errors import StoreError
from clr_core.jobs.state import TERMINAL_STATES, Job
from clr_core.redact import scrub_paths

if TYPE_CHECKING:
    from clr_core.runs.store import RunStore

__all__ = ["JobSaver"]

logger = logging.getLogger(__name__)

#: A failed save is retried in the background with back-off (first after this long,
#: doubling up to RETRY_MAX_S), for up to RETRY_FOR_S; the job keeps its result meanwhile.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
RETRY_FOR_S = 900.0


class JobSaver:
    """Writes jobs to ``store`` (none: nothing is saved) and reads released ones back.

    ``lock`` guards the jobs' fields (the registry's, shared with it); ``jobs()`` returns
    the jobs the registry holds now and is called under ``lock``. ``events_limit``: a job's
    events go to the store beside its result only up to this many (0 never).
    ``results_cached``: how many results read back from the store stay in memory."""

    def __init__(self, store: RunStore | None, lock: threading.RLock,
                 jobs: Callable[[], Iterable[Job]], *, events_limit: int,
                 results_cached: int) -> None:
        self._store, self._lock, self._jobs = store, lock, jobs
        self._events_limit = int(events_limit)
        self._results: OrderedDict[int, dict[str, Any] | None] = OrderedDict()
        self._results_cached = max(1, int(results_cached))
        self._retrying: set[str] = set()  # ids of jobs a background retry is saving

    @property
    def store(self) -> RunStore | None:
        return self._store

    def mark_interrupted(self) -> None:
        """Runs of servers that stopped mid-job: never shown running forever."""
        if self._store is None:
            return
        try:
            self._store.mark_interrupted()
        except StoreError as e:
            logger.warning("could not mark interrupted runs: %s", e)

    def start(self, job: Job) -> None:
        """Record a starting job as a "running" row; if the store refuses, the job is
        saved as a whole at its end instead."""
        job.stored_at = time.monotonic()
        if self._store is None:
            return
        try:
            job.run_id = self._store.start_run(job.kind, job.config, label=job.label,
                                               owner=job.owner)
        except StoreError as e:
            logger.warning("could not record %s job %s as running: %s", job.kind, job.id, e)

    def append_new_events(self, job: Job) -> None:
        """Append the events that arrived since the last time to the job's running row,
        up to ``events_limit`` (after that only the heartbeat)."""
        job.stored_at = time.monotonic()
        with self._lock:
            end = min(len(job.events), self._events_limit)
            batch = job.events[job.n_stored:end]
        try:
            self._store.append_events(job.run_id, batch)
            job.n_stored += len(batch)
        except StoreError as e:  # the final save reports it if it persists
            logger.warning("could not append events of job %s: %s", job.id, e)

    def save(self, job: Job, state: str) -> bool:
        """Write the job's end to the store in one transaction; never raises, since a full
        disk must not lose the result the user is looking at: the job keeps it in memory
        with ``save_error`` set, and the save is retried."""
        if self._store is None:
            return False
        with self._lock:
            if job.saving:  # another thread is retrying this very save
                return False
            job.saving = True
        try:
            return self._save_once(job, state)
        finally:
            with self._lock:
                job.saving = False

    def shown_error(self, error: str | None) -> str | None:
        """A job's error as every visitor reads it: the store's file and the server's other
        folders named by role ("<run store>", "<data root>/MNIST"), never by path."""
        if error is None:
            return None
        return scrub_paths(error, {} if self._store is None else {self._store.path: "<run store>"})

    def _save_once(self, job: Job, state: str) -> bool:
        with self._lock:
            n = len(job.events)
            fits = n <= self._events_limit
            rest = job.events[job.n_stored:n] if fits else []
            result, error = job.result, job.error
        try:
            if job.run_id is not None:
                self._store.finish_run(job.run_id, state, result, error=error, events=rest)
            else:
                job.run_id = self._store.save_run(
                    job.kind, job.config, result, status=state, label=job.label, error=error,
                    events=job.events[:n] if fits and n else None, owner=job.owner)
        except Exception as e:
            logger.exception("could not save %s job %s to the run store", job.kind, job.id)
            with self._lock:
                job.save_error = self.shown_error(f"{type(e).__name__}: {e}")
            self._retry_later(job)
            return False
        with self._lock:
            job.save_error = None
            job.n_stored = n if fits else job.n_stored
            if result is not None or fits:  # the store can give both back: free them
                job.loader = self._result_loader(job.run_id)
                job.released = True
                job.result = None
                job.events = []
        return True

    def _retry_later(self, job: Job) -> None:
        """Keep trying a failed save in the background (a lock another process holds
        clears by itself), with back-off; the page's retry and the next job's end still
        try at once."""
        with self._lock:
            if job.id in self._retrying:
                return
            self._retrying.add(job.id)

        def loop() -> None:
            delay, deadline = RETRY_FIRST_S, time.monotonic() + RETRY_FOR_S
            try:
                while time.monotonic() + delay < deadline:
                    time.sleep(delay)
                    with self._lock:
                        done = job.save_error is None or job.released
                    if done or self.retry(job):
                        return
                    delay = min(delay * 2, RETRY_MAX_S)
            finally:
                with self._lock:
                    self._retrying.discard(job.id)

        threading.Thread(target=loop, name=f"clr-save-retry-{job.id}", daemon=True).start()

    def _result_loader(self, run_id: int) -> Callable[[], dict[str, Any] | None]:
        def load() -> dict[str, Any] | None:
            with self._lock:
                if run_id in self._results:
                    self._results.move_to_end(run_id)
                    return self._results[run_id]
            try:
                result = self._store.load_run(run_id).result
            except StoreError as e:  # deleted from the Runs page, or the file went away
                logger.warning("could not read back run %s: %s", run_id, e)
                return None
            with self._lock:
                self._results[run_id] = result
                while len(self._results) > self._results_cached:
                    self._results.popitem(last=False)
            return result

        return load

    def read_events(self, run_id: int, since: int) -> list[dict[str, Any]]:
        """A released job's events from offset ``since`` on, read back from the store
        (none if the store cannot give them)."""
        try:
            events, _ = self._store.read_events(run_id, since)
        except StoreError as e:
            logger.warning("could not read back the events of run %s: %s", run_id, e)
            return []
        return events

    def retry(self, job: Job) -> bool:
        """Save a finished job whose save failed; True once it is in the store."""
        with self._lock:
            if job.state not in TERMINAL_STATES or job.released:
                return job.released
            if job.save_error is None and job.run_id is not None:
                return True
            state = job.state
        return self.save(job, state)

    def retry_failed(self) -> None:
        """Retry every held job whose save failed (the store may take them now)."""
        with self._lock:
            pending = [j for j in self._jobs() if j.save_error is not None]
        for job in pending:
            self.save(job, job.state)
