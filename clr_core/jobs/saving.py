"""Saving jobs to the run store: a job's running row kept up to date while it runs, its end
written in one transaction, its result and events released from memory once saved and
read back on demand, and a failed save kept, reported and retried.

Each job is written by the one writer of live runs, `clr_core.runs.writer.RunWriter`, which
scripts' recorders use too: its queue and flush thread append the job's events, and its one
`RetryPolicy` retries a busy store (in the background, so the job's end never waits on it).
A store that no waiting fixes (read-only, full, corrupt) is not retried by itself; the job
keeps its result in memory with ``save_error`` set, and the next job's end or the page's
"retry save" button tries again.

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

from clr_core.errors import StoreError, StoreTimedOut
from clr_core.jobs.state import STORE_EVERY_S, TERMINAL_STATES, Job
from clr_core.redact import scrub_paths
from clr_core.runs.writer import RunWriter

if TYPE_CHECKING:
    from clr_core.runs.store import RunStore

__all__ = ["JobSaver"]

logger = logging.getLogger(__name__)


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
        self._writers: dict[str, RunWriter] = {}  # by job id, until the job is saved

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
        """Record a starting job as a "running" row, written on by its `RunWriter`; if a
        busy store refuses, the writer starts it later, and if nothing can be written the
        job is saved as a whole at its end instead."""
        job.stored_at = time.monotonic()
        if self._store is None:
            return
        writer = RunWriter(self._store, job.kind, job.config, label=job.label,
                           owner=job.owner, flush_s=STORE_EVERY_S, start_wait=True,
                           on_failure=self._refused(job), name=f"clr-save-{job.id}")
        with self._lock:
            self._writers[job.id] = writer
            job.run_id = writer.run_id

    def _refused(self, job: Job) -> Callable[[RunWriter, BaseException, bool], None]:
        def said(writer: RunWriter, exc: BaseException, given_up: bool) -> None:
            if writer.saved or (writer.ending and not isinstance(exc, StoreTimedOut)):
                return  # the save reports its own failure; a timed-out retry is said here
            logger.warning("could not write %s job %s to the run store%s: %s", job.kind,
                           job.id, "" if given_up else " (retrying)", exc)
        return said

    def append_new_events(self, job: Job) -> None:
        """Hand the events that arrived since the last time to the job's writer, which
        appends them to its running row, up to ``events_limit`` (after that only the
        heartbeat)."""
        job.stored_at = time.monotonic()
        with self._lock:
            writer = self._writers.get(job.id)
            end = min(len(job.events), self._events_limit)
            batch = job.events[job.n_stored:end]
            if writer is not None:
                job.n_stored = max(job.n_stored, end)
        if writer is not None:
            writer.add(batch)

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

    def _writer_for(self, job: Job) -> RunWriter:
        """The job's writer; a job that was never started (no running row) gets one that
        saves it whole at its end."""
        with self._lock:
            writer = self._writers.get(job.id)
            if writer is None:
                writer = RunWriter(self._store, job.kind, job.config, label=job.label,
                                   owner=job.owner, start_wait=None,
                                   on_failure=self._refused(job))
                self._writers[job.id] = writer
            return writer

    def _save_once(self, job: Job, state: str) -> bool:
        writer = self._writer_for(job)
        with self._lock:
            n = len(job.events)
            fits = n <= self._events_limit
            rest = job.events[job.n_stored:n] if fits else []
            job.n_stored = n if fits else job.n_stored
            result, error = job.result, job.error
        writer.add(rest)  # a busy store is retried by the writer in the background
        if writer.finish(state, result, error=error, wait=False,
                         on_saved=lambda: self._saved(job, writer, result, fits)):
            return True
        logger.error("could not save %s job %s to the run store: %s", job.kind, job.id,
                     writer.last_error)
        with self._lock:
            if not writer.saved:  # else the background retry saved it meanwhile
                job.save_error = self.shown_error(writer.last_error)
        return writer.saved

    def _saved(self, job: Job, writer: RunWriter, result: dict[str, Any] | None,
               fits: bool) -> None:
        """The job's end is in the store: free its result and events (the store can give
        both back)."""
        with self._lock:
            self._writers.pop(job.id, None)
            job.run_id = writer.run_id
            job.save_error = None
            if result is not None or fits:
                job.loader = self._result_loader(job.run_id)
                job.released = True
                job.result = None
                job.events = []

    def forget(self, job_id: str) -> None:
        """A job dropped from memory: its writer goes too (a save still being retried in
        the background may land; nothing waits for it)."""
        with self._lock:
            writer = self._writers.pop(job_id, None)
        if writer is not None:
            writer.close()

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
