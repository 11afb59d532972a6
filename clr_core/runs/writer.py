"""One writer of live runs, and the one retry policy of every write to the run store.

A script's recorder (`clr_core.runs.recorder.RunRecorder`, behind ``record=`` and the
Lightning / Hugging Face callbacks) and the app's jobs (`clr_core.jobs.saving.JobSaver`)
both write a run the same way, through a `RunWriter`: the run's row is started "running",
its events are queued in memory (an append: the training loop never waits on the disk) and
a background thread appends them every ``flush_s`` seconds, beating the run's heart; the
end (status, result, error and the last events) is written in one transaction.

A failed write is judged by its type alone (`clr_core.errors`; the store's boundary turns
SQLite's errors into them): a `StoreBusy` store (another connection holds its lock) is
waited for, since it clears by itself; anything else (read-only, full, corrupt, a deleted
run) is given up at once, since no waiting fixes it. Nothing queued is dropped on either
path: a given-up writer keeps its events and can be asked again (`finish` once more, as the
app's "retry save" button does).

The waiting is `RetryPolicy`, defined once: waits that double from ``RETRY_FIRST_S`` up to
``RETRY_MAX_S``, for at most ``RETRY_FOR_S`` after the end was first refused. The
limits are this module's three constants, read when a writer is made (a test may shorten
them). Exponential back-off with a cap and a deadline is the usual answer to contention;
see M. Kleppmann, *Designing Data-Intensive Applications* (2017), ch. 8, and SQLite's own
``busy_timeout``, which each attempt already waits inside.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from clr_core.errors import ConfigError, StoreError, StoreTimedOut

if TYPE_CHECKING:
    from clr_core.runs.store import RunStore

__all__ = ["FLUSH_S", "RETRY_FIRST_S", "RETRY_FOR_S", "RETRY_MAX_S", "RetryPolicy",
           "RunWriter", "default_policy"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

FLUSH_S = 0.5  # well under the one second a live view may lag
#: The retry policy's limits, for every writer of runs: the first wait, the longest wait,
#: and how long after its first refusal a run's end is retried before the writer gives up.
RETRY_FIRST_S = 0.25
RETRY_MAX_S = 5.0
RETRY_FOR_S = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential back-off with a deadline, for a store another connection holds.

    ``delays()`` are the waits between attempts; ``call`` runs an attempt until it returns,
    retrying only a transient `StoreError` (`StoreBusy`) and raising any other at once, and
    `StoreTimedOut` (from the last busy error) when the next wait would end past
    ``give_up_after_s`` since the first attempt."""

    first_s: float = RETRY_FIRST_S
    max_s: float = RETRY_MAX_S
    give_up_after_s: float = RETRY_FOR_S

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.max_s:
            raise ConfigError(f"a retry policy waits 0 < first_s <= max_s, got "
                              f"{self.first_s!r} and {self.max_s!r}")
        if not self.give_up_after_s >= 0:
            raise ConfigError(f"give_up_after_s must be >= 0, got {self.give_up_after_s!r}")

    @staticmethod
    def retryable(exc: BaseException) -> bool:
        """Whether waiting can fix ``exc``: by its type, never its message."""
        return isinstance(exc, StoreError) and exc.transient

    def next_delay(self, previous: float | None, floor: float = 0.0) -> float:
        """The wait after one more refusal: ``first_s`` (at least ``floor``), then twice the
        previous one, never over ``max_s``."""
        base = self.first_s if previous is None else 2 * max(previous, floor)
        return min(max(base, floor), self.max_s)

    def delays(self) -> Iterator[float]:
        """The waits between attempts, stopping before their sum would pass the limit."""
        total, delay = 0.0, self.next_delay(None)
        while total + delay <= self.give_up_after_s:
            yield delay
            total += delay
            delay = self.next_delay(delay)

    def call(self, attempt: Callable[[], T], *, failed: StoreError | None = None,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep,
             on_retry: Callable[[StoreError], None] | None = None) -> T:
        """``attempt()`` until it returns. ``failed``: the first attempt was already made
        and refused so (the wait comes first). ``on_retry`` hears each refusal retried."""
        start = clock()
        last = failed
        # no wait before the first attempt, unless the caller already made it
        waits = self.delays() if failed is not None else itertools.chain([None], self.delays())
        for delay in waits:
            if delay is not None:
                if clock() - start + delay > self.give_up_after_s:
                    break
                if on_retry is not None:
                    on_retry(last)
                sleep(delay)
            try:
                return attempt()
            except StoreError as e:
                if not self.retryable(e):
                    raise
                last = e
        raise StoreTimedOut(f"the run store stayed busy for {self.give_up_after_s:.0f} s; "
                            f"last error: {type(last).__name__}: {last}") from last


def default_policy() -> RetryPolicy:
    """The policy from this module's limits, as they are now."""
    return RetryPolicy(RETRY_FIRST_S, RETRY_MAX_S, RETRY_FOR_S)


def _said(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


#: ``on_failure(writer, error, given_up)``: a write was refused; ``given_up``: no more
#: are tried (called from the constructor too, so the writer is passed in).
OnFailure = Callable[["RunWriter", BaseException, bool], None]


class RunWriter:
    """One run written to ``store`` from a queue (see the module doc).

    ``start_wait``: start the running row now, waiting the store's whole busy timeout
    (True) or only a moment (False; a busy store starts it from the flusher later), or
    never (None: no running row and no flusher; the end saves the run whole).
    ``on_failure`` hears every refused write (`OnFailure`)."""

    def __init__(self, store: RunStore, kind: str, config: Mapping[str, Any], *,
                 label: str | None = None, owner: str | None = None,
                 flush_s: float = FLUSH_S, start_wait: bool | None = False,
                 policy: RetryPolicy | None = None, on_failure: OnFailure | None = None,
                 name: str = "clr-write") -> None:
        if not (isinstance(flush_s, int | float) and flush_s > 0):
            raise StoreError(f"flush_s must be > 0 seconds, got {flush_s!r}")
        self.store = store
        self.policy = policy or default_policy()
        self._start = (kind, dict(config), label, owner)
        self.run_id: int | None = None
        #: Why the writer stopped trying (None while it tries, or once the end is saved).
        self.save_error: str | None = None
        #: The last refused write being retried (None once writes go through).
        self.retrying: str | None = None
        #: The last refusal of any kind, in words.
        self.last_error: str | None = None
        self.saved = False
        self._on_failure = on_failure
        self._on_saved: Callable[[], None] | None = None
        self._end: tuple[str, dict[str, Any] | None, str | None] | None = None
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # the queue and the fields above
        self._io = threading.Lock()  # one write at a time
        self._stop = threading.Event()
        self._retrier: threading.Thread | None = None
        self._flusher: threading.Thread | None = None
        if start_wait is None:
            return
        try:
            self.run_id = store.start_run(kind, dict(config), label=label, owner=owner,
                                          wait=start_wait)
        except StoreError as e:  # busy: the flusher starts it; else it is said now
            self._refused(e)
        self._flusher = threading.Thread(target=self._flush_loop, args=(float(flush_s),),
                                         name=f"{name}-{self.run_id}", daemon=True)
        self._flusher.start()

    @property
    def ending(self) -> bool:
        """Whether ``finish`` was called (the end is written, being retried, or refused)."""
        return self._end is not None

    # -- the queue --------------------------------------------------------------------

    def add(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Queue event dicts (copied: the caller may reuse them) for the next flush."""
        batch = [dict(e) for e in events]
        if batch:
            with self._lock:
                self._pending.extend(batch)

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            batch, self._pending = self._pending, []
        return batch

    def _put_back(self, batch: list[dict[str, Any]]) -> None:
        with self._lock:
            self._pending[:0] = batch

    # -- writing ----------------------------------------------------------------------

    def _write(self) -> None:
        """One attempt: start the row if it is not yet, then append the queued events or,
        once the run has ended, write its end with them; refused, they stay queued."""
        with self._io:
            if self.saved:
                return
            batch = self._take()
            kind, config, label, owner = self._start
            try:
                if self._end is not None and self.run_id is None:
                    status, result, error = self._end
                    self.run_id = self.store.save_run(kind, config, result, status=status,
                                                      label=label, error=error,
                                                      events=batch or None, owner=owner)
                    self.saved = True
                elif self._end is not None:
                    status, result, error = self._end
                    self.store.finish_run(self.run_id, status, result, error=error, events=batch)
                    self.saved = True
                else:
                    if self.run_id is None:
                        self.run_id = self.store.start_run(kind, config, label=label,
                                                           owner=owner)
                    self.store.append_events(self.run_id, batch)
            except BaseException:
                self._put_back(batch)
                raise
        if self.retrying is not None:
            logger.warning("run %s saved to %s again after: %s", self.run_id, self.store.path,
                           self.retrying)
        self.retrying = None
        if self.saved:
            self.save_error = None
            with self._lock:  # the store holds the result now: let it go (a job's is large)
                on_saved, self._on_saved = self._on_saved, None
                if self._end is not None:
                    self._end = (self._end[0], None, self._end[2])
            if on_saved is not None:
                on_saved()

    def _refused(self, exc: BaseException) -> bool:
        """Note a refused write; True when it is worth retrying."""
        self.last_error = _said(exc)
        transient = self.policy.retryable(exc)
        if transient:
            self.retrying = self.last_error
        else:
            self.save_error = self.last_error
            logger.debug("writing run %s to %s stopped: %s", self.run_id, self.store.path,
                           self.save_error)
        if self._on_failure is not None:
            self._on_failure(self, exc, not transient)
        return transient

    def _flush_loop(self, every: float) -> None:
        delay = every
        while not self._stop.wait(delay):
            if self.save_error is not None:
                return
            try:
                self._write()
                delay = every
            except Exception as e:  # noqa: BLE001 - a failing store never costs the run
                if not self._refused(e):
                    return
                delay = self.policy.next_delay(delay, floor=every)

    def _stop_flusher(self) -> None:
        self._stop.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join()

    # -- the end ----------------------------------------------------------------------

    def finish(self, status: str, result: dict[str, Any] | None, *, error: str | None = None,
               wait: bool = True, on_saved: Callable[[], None] | None = None) -> bool:
        """Write the run's end with the queued events; True once it is in the store.

        The first call sets the end; a later one tries to write it again, even after the
        writer gave up (the store may have been fixed). A busy store is retried by the
        policy: here, until saved or given up (``wait``), or on a thread of its own while
        this returns False at once. ``on_saved`` is called once the end is saved."""
        with self._lock:
            if self._end is None:
                self._end = (status, result, error)
            if on_saved is not None:
                self._on_saved = on_saved
        self._stop_flusher()
        if self.saved:
            return True
        self.save_error = None
        try:
            self._write()
            return True
        except Exception as e:  # noqa: BLE001 - said in save_error, the run is kept
            if not self._refused(e):
                return False
            first = e if isinstance(e, StoreError) else None
        if wait:
            return self._retry_end(first)
        with self._lock:
            if self._retrier is None or not self._retrier.is_alive():
                self._retrier = threading.Thread(target=self._retry_end, args=(first,),
                                                 name=f"clr-save-retry-{self.run_id}",
                                                 daemon=True)
                self._retrier.start()
        return False

    def _retry_end(self, first: StoreError | None) -> bool:
        try:
            self.policy.call(self._write, failed=first, on_retry=self._note_retry)
            return True
        except StoreTimedOut:
            self._refused(StoreTimedOut(
                f"the run store stayed unwritable for {self.policy.give_up_after_s:.0f} s "
                f"after the run ended; last error: {self.retrying}"))
        except Exception as e:  # noqa: BLE001 - said in save_error, the run is kept
            self._refused(e)
        return False

    def _note_retry(self, exc: StoreError) -> None:
        self.retrying = self.last_error = _said(exc)

    def close(self) -> None:
        """Stop the flusher without writing the end (a run whose record was given up)."""
        self._stop_flusher()
