"""Saving a job to the run store: its running row kept up to date while it runs, its end
written in one transaction, its result and events released from memory once saved and
read back on demand, and a failed save kept, reported and retried. A mixin of
``JobRegistry``, which supplies the lock, the store and the jobs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from clr_core.errors import StoreError
from clr_core.jobs.state import TERMINAL_STATES, Job

__all__ = ["JobSaving", "as_event_dict"]

logger = logging.getLogger("clr_core.jobs.registry")


class JobSaving:
    """The store half of ``JobRegistry`` (see the module doc)."""

    def _store_new_events(self, job: Job) -> None:
        """Append the events that arrived since the last time to the job's running row,
        up to ``save_events_limit`` (after that only the heartbeat)."""
        job.stored_at = time.monotonic()
        with self._lock:
            end = min(len(job.events), self._save_events_limit)
            batch = [as_event_dict(e) for e in job.events[job.n_stored:end]]
        try:
            self._store.append_events(job.run_id, batch)
            job.n_stored += len(batch)
        except StoreError as e:  # the final save reports it if it persists
            logger.warning("could not append events of job %s: %s", job.id, e)

    def _save(self, job: Job, state: str) -> bool:
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

    def _save_once(self, job: Job, state: str) -> bool:
        with self._lock:
            n = len(job.events)
            fits = n <= self._save_events_limit
            rest = [as_event_dict(e) for e in job.events[job.n_stored:n]] if fits else []
            result, error = job.result, job.error
        try:
            if job.run_id is not None:
                self._store.finish_run(job.run_id, state, result, error=error, events=rest)
            else:
                job.run_id = self._store.save_run(
                    job.kind, job.config, result, status=state, label=job.label, error=error,
                    events=[as_event_dict(e) for e in job.events[:n]] if fits and n else None)
        except Exception as e:
            logger.exception("could not save %s job %s to the run store", job.kind, job.id)
            with self._lock:
                job.save_error = f"{type(e).__name__}: {e}"
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

    def retry_save(self, job_id: str) -> bool:
        """Save a finished job whose save failed; True once it is in the store."""
        with self._lock:
            job = self._get_locked(job_id)
            if job.state not in TERMINAL_STATES or job.released:
                return job.released
            if job.save_error is None and job.run_id is not None:
                return True
            state = job.state
        return self._save(job, state)

    def _retry_failed_saves(self) -> None:
        with self._lock:
            pending = [j for j in self._jobs.values() if j.save_error is not None]
        for job in pending:
            self._save(job, job.state)


def as_event_dict(event: Any) -> dict[str, Any]:
    """Events go to the store as dicts, whether they came as dicts or typed events."""
    return event if isinstance(event, dict) else event.to_dict()
