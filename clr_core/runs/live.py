"""Runs that are still going: a row created "running", events appended in batches with a
heartbeat, a final status and result; and the rule by which any reader tells that the
process writing a run has died ("interrupted").

``RunStore`` owns one ``LiveRuns`` and hands it what it needs explicitly (its connections
and its ``save_run``), so this half can be built and tested on any database that holds
the store's schema."""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from clr_core.errors import RunNotFound, StoreCorrupt, StoreError
from clr_core.redact import scrub_paths
from clr_core.runs.format import FINAL_STATUSES, LIVE_STATUS, dumps, headline_of

__all__ = ["Connect", "LiveRuns", "SaveRun"]

logger = logging.getLogger("clr_core.runs.store")

#: How long a start that must not block waits for another writer's lock.
NO_WAIT_MS = 200

_PROCESS_STARTED = time.time()  # before this process could have started any run

#: Opens a connection for one call (``connect``) or one write transaction (``write``).
Connect = Callable[[], AbstractContextManager[sqlite3.Connection]]
#: Saves a new row: ``save_run(kind, config, result, *, status, label) -> id``.
SaveRun = Callable[..., int]


class LiveRuns:
    """The live runs of one store file (see the module doc)."""

    def __init__(self, *, connect: Connect, write: Connect, save_run: SaveRun,
                 path: Path, stale_after_s: float, try_write: Connect | None = None) -> None:
        self._connect = connect
        self._write = write
        self._try_write = try_write or write
        self._save_run = save_run
        self.path = path
        self.stale_after_s = stale_after_s

    def start_run(
        self,
        kind: str,
        config: dict[str, Any],
        *,
        label: str | None = None,
        host: str | None = None,
        pid: int | None = None,
        owner: str | None = None,
        wait: bool = True,
    ) -> int:
        """Create a "running" row at once, so every reader lists the run while it goes.

        ``host``/``pid`` name the process that will finish the row (default: this one);
        when it dies without finishing, readers mark the run "interrupted". ``wait=False``:
        a StoreError at once if another process holds the lock (the caller retries later)."""
        mine: dict[str, Any] = {} if owner is None else {"owner": owner}  # old save_runs
        if not wait:
            mine["busy_ms"] = NO_WAIT_MS
        run_id = self._save_run(kind, config, None, status=LIVE_STATUS, label=label, **mine)
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET host = ?, pid = ?, heartbeat_at = ? WHERE id = ?",
                (host or socket.gethostname(), os.getpid() if pid is None else int(pid), now,
                 run_id),
            )
        return run_id

    def append_events(self, run_id: int, events: Iterable[dict[str, Any]]) -> int:
        """Append a batch of events (one transaction, one row) and beat the heart; returns
        how many events the run now has. Call it with an empty batch to only beat."""
        batch = [dict(e) for e in events]
        text = dumps(batch, "events") if batch else None
        with self._write() as conn:
            _beat(conn, run_id)
            return _append(conn, run_id, batch, text)

    def heartbeat(self, run_id: int) -> None:
        """Show that the run's process is alive (``append_events`` does it too)."""
        with self._write() as conn:
            _beat(conn, run_id)

    def read_events(self, run_id: int, since: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Events from offset ``since`` on and the offset to pass next time; readable from
        any process while the run goes (append-only, so each event is seen once)."""
        since = max(int(since), 0)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT first, events_json FROM run_events"
                " WHERE run_id = ? AND first + n > ? ORDER BY first",
                (int(run_id), since),
            ).fetchall()
        events: list[dict[str, Any]] = []
        for first, text in rows:
            try:
                batch = json.loads(text)
            except json.JSONDecodeError as e:
                raise StoreCorrupt(f"saved run {run_id} has corrupt events: {e}") from e
            events.extend(batch[max(since - first, 0):])
        return events, since + len(events)

    def finish_run(
        self,
        run_id: int,
        status: str,
        result: dict[str, Any] | None,
        *,
        error: str | None = None,
        events: Iterable[dict[str, Any]] = (),
    ) -> None:
        """End a live run with its final status and full result; ``events`` are the last
        unflushed ones, appended in the same transaction. A run a reader wrongly marked
        "interrupted" (say, a paused laptop) still gets its true ending."""
        if status not in FINAL_STATUSES:
            raise StoreError(f"a run ends {', '.join(FINAL_STATUSES)}; got {status!r}")
        if result is not None and not isinstance(result, dict):
            raise StoreError(f"result must be a dict or None, got {type(result).__name__}")
        result_json = None if result is None else dumps(result, "result")
        # every visitor reads the error: the server's folders in it are named by role
        error = None if error is None else scrub_paths(error, {self.path: "<run store>"})
        batch = [dict(e) for e in events]
        text = dumps(batch, "events") if batch else None
        now = time.time()
        with self._write() as conn:
            _append(conn, run_id, batch, text)
            cur = conn.execute(
                "UPDATE runs SET status = ?, result_json = ?, headline = ?, error = ?,"
                " heartbeat_at = ?, finished_at = ? WHERE id = ?",
                (status, result_json, headline_of(result), error, now, now, int(run_id)),
            )
            if cur.rowcount == 0:
                raise RunNotFound(f"no saved run with id {run_id}")

    def mark_interrupted(self, run_ids: Iterable[int] | None = None, *,
                         wait: bool = True) -> list[int]:
        """Mark live runs "interrupted" and return their ids: the given ones (a server
        that restarts owns its old jobs), or by default every live run whose process is
        gone (same host: its pid is dead; elsewhere: no heartbeat for ``stale_after_s``).
        ``wait=False``: give up at once if another process holds the write lock."""
        now = time.time()
        with (self._write if wait else self._try_write)() as conn:
            live = conn.execute(
                "SELECT id, host, pid, heartbeat_at, created_at FROM runs WHERE status = ?",
                (LIVE_STATUS,),
            ).fetchall()
            if run_ids is not None:
                wanted = {int(i) for i in run_ids}
                dead = [row[0] for row in live if row[0] in wanted]
            else:
                dead = [row[0] for row in live if self._owner_gone(*row[1:], now=now)]
            for run_id in dead:
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?,"
                    " error = COALESCE(error, ?) WHERE id = ? AND status = ?",
                    (now, "the process recording this run stopped before it ended", run_id,
                     LIVE_STATUS),
                )
        if dead:
            logger.info("run store %s: runs %s interrupted", self.path, dead)
        return dead

    def reap_quietly(self) -> None:
        """``mark_interrupted`` before a read, only when a read shows a live run whose
        process is gone, and without queueing for the lock: a reader that cannot write
        (read-only copy, locked file) still reads at once, and marks them later."""
        with self._connect() as conn:  # a busy store is said by the read that follows
            live = conn.execute(
                "SELECT host, pid, heartbeat_at, created_at FROM runs WHERE status = ?",
                (LIVE_STATUS,)).fetchall()
        now = time.time()
        try:
            if any(self._owner_gone(*row, now=now) for row in live):
                self.mark_interrupted(wait=False)
        except StoreError as e:
            logger.debug("could not mark interrupted runs in %s: %s", self.path, e)

    def _owner_gone(
        self, host: str | None, pid: int | None, heartbeat_at: float | None,
        created_at: float, *, now: float
    ) -> bool:
        # (os.kill(pid, 0) would terminate the process on Windows: heartbeat only there)
        if host == socket.gethostname() and pid is not None and os.name != "nt":
            if int(pid) == os.getpid():
                # This pid before this process started: a restart that got the same pid
                # (the server is PID 1 in a container every time).
                return created_at < _PROCESS_STARTED
            return not _pid_alive(int(pid))
        return heartbeat_at is None or now - heartbeat_at > self.stale_after_s


def _append(
    conn: sqlite3.Connection, run_id: int, batch: list[dict[str, Any]], text: str | None
) -> int:
    first = conn.execute(
        "SELECT COALESCE(MAX(first + n), 0) FROM run_events WHERE run_id = ?", (int(run_id),)
    ).fetchone()[0]
    if text is not None:
        conn.execute(
            "INSERT INTO run_events (run_id, first, n, events_json) VALUES (?,?,?,?)",
            (int(run_id), first, len(batch), text),
        )
    return int(first) + len(batch)


def _beat(conn: sqlite3.Connection, run_id: int) -> None:
    cur = conn.execute(
        "UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), int(run_id))
    )
    if cur.rowcount == 0:
        raise RunNotFound(f"no saved run with id {run_id}")


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 checks, sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return False
    return True
