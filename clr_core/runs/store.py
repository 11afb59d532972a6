"""SQLite run store: range tests and training runs survive a restart and can be compared
later, and a run still going in another process (a script, the CLI, a worker) can be
watched while it runs.

A live run is a row created with status "running" (``start_run``), events appended in
batches (``append_events``, which also beats the heart), and a final status and result
(``finish_run``). The row names the host and pid of the process that writes it, so any
reader can tell a run whose process died: on the same host the pid is gone, elsewhere the
heartbeat is older than ``stale_after_s``. Readers mark such runs "interrupted".

An unreadable file is moved aside untouched (``*.corrupt-<time>``) and a new store started
(``notice`` says so). A read-only file or folder lists and reopens its runs read-only;
saving raises ``StoreError`` saying why. Every call opens its own short connection, so one
``RunStore`` is shared between threads and processes: WAL lets readers run beside the one
writer, writers queue in ``busy_timeout``, and a reader waits at most ``READ_BUSY_MS``
before ``StoreBusy`` says "the run store is busy".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from clr_core.errors import RunNotFound, StoreCorrupt, StoreError
from clr_core.redact import scrub_paths
from clr_core.runs.connection import (
    BUSY_MESSAGE,
    ENV_VAR,
    READ_BUSY_MS,
    StoreBusy,
    connect_read_only,
    default_db_path,
    is_read_only,
    os_error,
    read_only_error,
    set_aside,
    store_error,
)
from clr_core.runs.format import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SUMMARY_COLUMNS,
    Run,
    RunSummary,
    dumps,
    headline_of,
    loads,
    run_id_of,
)
from clr_core.runs.live import LiveRuns

__all__ = [
    "BUSY_MESSAGE",
    "ENV_VAR",
    "RunStore",
    "StoreBusy",
    "default_db_path",
    "run_id_of",
]

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
STALE_AFTER_S = 30.0  # a live run elsewhere whose heartbeat is older than this is interrupted

class RunStore:
    """Saved runs in one SQLite file; thread- and process-safe (see the module doc).

    Its live runs are written by ``self.live`` (`clr_core.runs.live.LiveRuns`); the
    live-run methods here hand over to it, so callers need not know the split."""

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, stale_after_s: float = STALE_AFTER_S
    ) -> None:
        if not stale_after_s > 0:
            raise StoreError(f"stale_after_s must be > 0, got {stale_after_s!r}")
        if path is not None and str(path) == ":memory:":
            # Each call opens a new connection, so an in-memory database would vanish.
            raise StoreError("RunStore needs a file path, not ':memory:'")
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self._closed = False
        #: A file (or folder) this process cannot write: listed and reopened read-only.
        self.read_only = is_read_only(self.path)
        self._starting = True  # the file may not exist yet: _connect must not recreate it
        #: Set when the file found at start was unreadable and moved aside: the UI shows it.
        self.notice: str | None = None
        try:
            if not self.read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise os_error(e, f"cannot create the folder for the run store {self.path}") from e
        try:
            self._init_schema()
        except StoreError as e:
            if not isinstance(e, StoreCorrupt) or not self.path.exists():
                raise
            self.notice = set_aside(self.path, e)
            logger.warning(self.notice)
            self._init_schema()
        self._starting = False
        # The connections are looked up on each call, not bound now, so a store whose
        # writes are replaced (a subclass, a test that simulates a locked file) is
        # replaced for its live runs too.
        self.live = LiveRuns(
            connect=lambda: self._read(), write=lambda: self._write(),
            try_write=lambda: self._write(READ_BUSY_MS // 4),
            save_run=self.save_run, path=self.path, stale_after_s=float(stale_after_s),
        )

    # -- connections -----------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self, busy_ms: int | None = None) -> Iterator[sqlite3.Connection]:
        busy_ms = BUSY_TIMEOUT_MS if busy_ms is None else busy_ms
        if self._closed:
            raise StoreError("the run store is closed")
        if self.read_only:
            with connect_read_only(self.path, busy_ms) as conn:
                yield conn
            return
        if not self._starting and not self.path.exists():
            # Deleted while the server ran: start a new file rather than fail every save.
            logger.warning("run store %s disappeared; starting a new one", self.path)
            self._starting = True
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._init_schema()
            except OSError as e:
                raise os_error(e, f"the run store {self.path} is gone and cannot be started "
                                  "again") from e
            finally:
                self._starting = False
        try:
            conn = sqlite3.connect(self.path, timeout=busy_ms / 1000, isolation_level=None)
        except sqlite3.Error as e:
            raise store_error(self.path, e, doing="open") from e
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, faster
            yield conn
        except sqlite3.Error as e:
            raise store_error(self.path, e) from e
        finally:
            conn.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading: it never waits long on a writer (``READ_BUSY_MS``)."""
        with self._connect(READ_BUSY_MS) as conn:
            yield conn

    @contextlib.contextmanager
    def _write(self, busy_ms: int | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction; IMMEDIATE takes the write lock up front so concurrent
        writers wait in busy_timeout instead of failing on a lock upgrade (housekeeping
        a reader may skip passes a short ``busy_ms``)."""
        if self.read_only:
            raise read_only_error(self.path)
        with self._connect(busy_ms) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _init_schema(self) -> None:
        with self._connect() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise StoreCorrupt(f"run store {self.path}: database disk image is malformed "
                               f"({check})")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"run store {self.path} has schema version {version}; this CLR Studio "
                f"reads up to {SCHEMA_VERSION}. Upgrade CLR Studio or set {ENV_VAR}."
            )
        if self.read_only and version >= 2:  # every column a read needs is there
            logger.warning("run store %s is read-only: runs will not be saved", self.path)
            return
        if self.read_only:
            raise StoreError(f"the run store {self.path} is read-only and has schema version "
                             f"{version}; it needs {SCHEMA_VERSION}: make it writable once")
        with self._connect() as conn:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":  # setting it needs the lock: only when it changes
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("run store %s: journal_mode is %s, not WAL", self.path, mode)
        if version == SCHEMA_VERSION:
            return  # nothing to migrate: no write lock taken just to open the store
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")

    def schema_version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Refuse further calls; there is no long-lived connection to release."""
        self._closed = True

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ------------------------------------------------------------------------

    def save_run(
        self,
        kind: str,
        config: dict[str, Any],
        result: dict[str, Any] | None,
        *,
        status: str = "done",
        label: str | None = None,
        error: str | None = None,
        events: list[dict[str, Any]] | None = None,
        owner: str | None = None, busy_ms: int | None = None,
    ) -> int:
        """Save one run, return its id; ``events`` only when small, ``owner`` who made it;
        ``busy_ms``: how long to wait for another writer (default ``BUSY_TIMEOUT_MS``)."""
        if not kind or not isinstance(kind, str):
            raise StoreError(f"a run needs a kind, got {kind!r}")
        if not status or not isinstance(status, str):
            raise StoreError(f"a run needs a status, got {status!r}")
        if not isinstance(config, dict):
            raise StoreError(f"config must be a dict, got {type(config).__name__}")
        if result is not None and not isinstance(result, dict):
            raise StoreError(f"result must be a dict or None, got {type(result).__name__}")
        # sweeps keep the shared settings (dataset included) under "base"
        dataset = config.get("dataset") or (config.get("base") or {}).get("dataset")
        row = (
            kind,
            label,
            status,
            None if dataset is None else str(dataset),
            time.time(),
            headline_of(result),
            None if error is None else scrub_paths(error, {self.path: "<run store>"}),  # by role
            dumps(config, "config"),
            None if result is None else dumps(result, "result"),
            None if events is None else dumps(list(events), "events"),
            owner,
        )
        with self._write() if busy_ms is None else self._write(busy_ms) as conn:
            cur = conn.execute(
                "INSERT INTO runs (kind, label, status, dataset, created_at, headline, error,"
                " config_json, result_json, events_json, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            run_id = int(cur.lastrowid)
        logger.debug("saved %s run %d (%s) to %s", kind, run_id, status, self.path)
        return run_id

    def list_runs(
        self,
        kind: str | None = None,
        dataset: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[RunSummary]:
        """Newest first; filters that are None match everything. Live runs whose process
        died are marked "interrupted" first."""
        self.live.reap_quietly()
        where, args = [], []
        for column, value in (("kind", kind), ("dataset", dataset), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT {SUMMARY_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(int(limit), 0))
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [RunSummary(*row) for row in rows]

    def load_run(self, run_id: int) -> Run:
        """The run in full; a live run's events are those appended so far."""
        run_id = run_id_of(run_id)
        self.live.reap_quietly()
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {SUMMARY_COLUMNS}, config_json, result_json, events_json"
                " FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
            batches = conn.execute(
                "SELECT events_json FROM run_events WHERE run_id = ? ORDER BY first",
                (run_id,),
            ).fetchall()
        if row is None:
            raise RunNotFound(f"no saved run with id {run_id}")
        *summary, config_json, result_json, events_json = row
        try:
            events = loads(events_json)
            if batches:
                events = (events or []) + [e for (b,) in batches for e in json.loads(b)]
            return Run(*summary, loads(config_json), loads(result_json), events)
        except json.JSONDecodeError as e:
            raise StoreCorrupt(f"saved run {run_id} is corrupt: {e}") from e

    def owner_of(self, run_id: int) -> str | None:
        """Who made the run: an owner key (`clr_core.runs.identity`), or None (before
        owners were kept)."""
        run_id = run_id_of(run_id)
        with self._read() as conn:
            row = conn.execute("SELECT owner FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"no saved run with id {run_id}")
        return row[0]

    def rename_run(self, run_id: int, label: str | None) -> None:
        run_id = run_id_of(run_id)
        with self._write() as conn:
            cur = conn.execute("UPDATE runs SET label = ? WHERE id = ?", (label, run_id))
            if cur.rowcount == 0:
                raise RunNotFound(f"no saved run with id {run_id}")

    def delete_run(self, run_id: int) -> None:
        self.delete_runs([run_id])

    def delete_runs(self, run_ids: Iterable[int]) -> int:
        """All or nothing: one unknown id (a stale selection) deletes nothing."""
        ids = sorted({run_id_of(i) for i in run_ids})
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        with self._write() as conn:
            found = {r[0] for r in conn.execute(f"SELECT id FROM runs WHERE id IN ({marks})", ids)}
            missing = [i for i in ids if i not in found]
            if missing:
                raise RunNotFound(f"no saved run with id {', '.join(map(str, missing))}")
            conn.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids)
            conn.execute(f"DELETE FROM run_events WHERE run_id IN ({marks})", ids)
        return len(ids)

    # -- live runs (see clr_core.runs.live) -------------------------------------------

    @property
    def stale_after_s(self) -> float:
        return self.live.stale_after_s

    def start_run(self, kind: str, config: dict[str, Any], *, label: str | None = None,
                  host: str | None = None, pid: int | None = None, owner: str | None = None,
                  wait: bool = True) -> int:
        """A "running" row, created at once (`LiveRuns.start_run`)."""
        return self.live.start_run(kind, config, label=label, host=host, pid=pid, owner=owner,
                                   wait=wait)

    def append_events(self, run_id: int, events: Iterable[dict[str, Any]]) -> int:
        """Append a batch and beat the heart (`LiveRuns.append_events`)."""
        return self.live.append_events(run_id, events)

    def heartbeat(self, run_id: int) -> None:
        self.live.heartbeat(run_id)

    def read_events(self, run_id: int, since: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Events from offset ``since`` on, and the next offset (`LiveRuns.read_events`)."""
        return self.live.read_events(run_id_of(run_id), since)

    def finish_run(self, run_id: int, status: str, result: dict[str, Any] | None, *,
                   error: str | None = None, events: Iterable[dict[str, Any]] = ()) -> None:
        """End a live run (`LiveRuns.finish_run`)."""
        self.live.finish_run(run_id, status, result, error=error, events=events)

    def mark_interrupted(self, run_ids: Iterable[int] | None = None) -> list[int]:
        """Mark runs whose process is gone "interrupted" (`LiveRuns.mark_interrupted`)."""
        return self.live.mark_interrupted(run_ids)
