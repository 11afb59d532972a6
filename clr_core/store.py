"""SQLite run store: range tests and training runs survive a restart and can be compared
later, and a run still going in another process (a script, the CLI, a worker) can be
watched while it runs.

A live run is a row created with status "running" (``start_run``), events appended in
batches (``append_events``, which also beats the heart), and a final status and result
(``finish_run``). The row names the host and pid of the process that writes it, so any
reader can tell a run whose process died: on the same host the pid is gone, elsewhere the
heartbeat is older than ``stale_after_s``. Readers mark such runs "interrupted".

A file that is not a readable SQLite database is moved aside untouched (``*.corrupt-<time>``)
and a new store is started; ``notice`` says so, for the UI to show. A read-only file still
lists and reopens its runs; saving raises ``StoreError`` saying why.

Every call opens its own short-lived connection, so one ``RunStore`` is safe to share
between threads (the job workers and Streamlit's script threads) and several processes
(CLI and app) may write the same file at once: WAL lets readers run beside the single
writer, and ``busy_timeout`` makes writers queue instead of failing with "database is
locked".
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clr_core.errors import StoreError

__all__ = [
    "ENV_VAR",
    "FINAL_STATUSES",
    "LIVE_STATUS",
    "SCHEMA_VERSION",
    "Run",
    "RunStore",
    "RunSummary",
    "default_db_path",
]

logger = logging.getLogger(__name__)

ENV_VAR = "CLR_STUDIO_DB"
SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 30_000
LIVE_STATUS = "running"
FINAL_STATUSES = ("done", "cancelled", "failed", "interrupted")
STALE_AFTER_S = 30.0  # a live run elsewhere whose heartbeat is older than this is interrupted
_HEADLINE_MAX = 200
_PROCESS_STARTED = time.time()  # before this process could have started any run

# Version 1. Later versions add a step to _MIGRATIONS; user_version records where a file is.
_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    label       TEXT,
    status      TEXT NOT NULL,
    dataset     TEXT,
    created_at  REAL NOT NULL,
    headline    TEXT,
    error       TEXT,
    config_json TEXT NOT NULL,
    result_json TEXT,
    events_json TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_kind ON runs (kind, created_at DESC);
"""
# Version 2: live runs. Who writes the row (host, pid), when it last showed life, when it
# ended, and its events as append-only batches (first = index of the batch's first event).
_SCHEMA_V2 = """
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN heartbeat_at REAL;
ALTER TABLE runs ADD COLUMN finished_at REAL;
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS run_events (
    run_id      INTEGER NOT NULL,
    first       INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    events_json TEXT NOT NULL,
    PRIMARY KEY (run_id, first)
);
"""
# target version -> script from version - 1
_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2}

_SUMMARY_COLUMNS = "id, kind, label, status, dataset, created_at, error, headline"


@dataclass(frozen=True)
class RunSummary:
    """One row of the runs list; leaves out the JSON so listing stays cheap."""

    id: int
    kind: str
    label: str | None
    status: str
    dataset: str | None
    created_at: float
    error: str | None
    headline: str | None


@dataclass(frozen=True)
class Run(RunSummary):
    """A saved run in full: enough to redraw its plots without running it again."""

    config: dict[str, Any]
    result: dict[str, Any] | None
    events: list[dict[str, Any]] | None = None


def default_db_path() -> Path:
    """``$CLR_STUDIO_DB``, else the XDG data dir, so the CLI and the app share one file."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "clr_studio" / "runs.db"


def _json_default(obj: Any) -> Any:
    # numpy arrays/scalars and torch tensors sneak into results; store their plain values.
    if hasattr(obj, "to_dict"):  # typed events and results
        return obj.to_dict()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _dumps(obj: Any, what: str) -> str:
    # allow_nan keeps NaN/inf (diverged losses) as NaN/Infinity, which json.loads reads back.
    try:
        return json.dumps(obj, allow_nan=True, default=_json_default, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise StoreError(f"cannot save the run's {what}: {e}") from e


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _headline(result: Any) -> str | None:
    value = result.get("headline") if isinstance(result, dict) else None
    if value is None:
        return None
    finite = isinstance(value, float) and math.isfinite(value)
    return (f"{value:.4g}" if finite else str(value))[:_HEADLINE_MAX]


def _is_corrupt(error: StoreError) -> bool:
    """An error that says the file itself is not a readable database (not a lock or a
    permission problem, which moving the file would not fix)."""
    text = str(error.__cause__ or error).lower()
    return any(m in text for m in ("not a database", "malformed", "file is encrypted"))


class RunStore:
    """Saved runs in one SQLite file; thread- and process-safe (see the module doc)."""

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, stale_after_s: float = STALE_AFTER_S
    ) -> None:
        if not stale_after_s > 0:
            raise StoreError(f"stale_after_s must be > 0, got {stale_after_s!r}")
        self.stale_after_s = float(stale_after_s)
        if path is not None and str(path) == ":memory:":
            # Each call opens a new connection, so an in-memory database would vanish.
            raise StoreError("RunStore needs a file path, not ':memory:'")
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self._closed = False
        self._starting = True  # the file may not exist yet: _connect must not recreate it
        #: Set when the file found at start was unreadable and moved aside: the UI shows it.
        self.notice: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the folder for the run store {self.path}: {e}") from e
        try:
            self._init_schema()
        except StoreError as e:
            if not _is_corrupt(e) or not self.path.exists():
                raise
            self._set_aside(e)
            self._init_schema()
        self._starting = False

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # -- connections -----------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StoreError("the run store is closed")
        if not self._starting and not self.path.exists():
            # Deleted while the server ran: start a new file rather than fail every save.
            logger.warning("run store %s disappeared; starting a new one", self.path)
            self._starting = True
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._init_schema()
            except OSError as e:
                raise StoreError(f"the run store {self.path} is gone and cannot be started "
                                 f"again: {e}") from e
            finally:
                self._starting = False
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the run store {self.path}: {e}") from e
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, faster
            yield conn
        except sqlite3.Error as e:
            raise StoreError(f"run store {self.path}: {e}") from e
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; IMMEDIATE takes the write lock up front so concurrent
        writers wait in busy_timeout instead of failing on a lock upgrade."""
        with self._connect() as conn:
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
            raise StoreError(f"run store {self.path}: database disk image is malformed ({check})")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"run store {self.path} has schema version {version}; this CLR Studio "
                f"reads up to {SCHEMA_VERSION}. Upgrade CLR Studio or set {ENV_VAR}."
            )
        if version == SCHEMA_VERSION and not os.access(self.path, os.W_OK):
            logger.warning("run store %s is read-only: runs will not be saved", self.path)
            return
        with self._connect() as conn:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("run store %s: journal_mode is %s, not WAL", self.path, mode)
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")

    def _set_aside(self, error: StoreError) -> None:
        """Move an unreadable file (and its WAL files) aside untouched, so a new store can
        start and nothing in the old one is lost."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        why = error.__cause__ or error
        try:
            for suffix in ("", "-wal", "-shm"):
                src = Path(f"{self.path}{suffix}")
                if src.exists():
                    src.rename(Path(f"{aside}{suffix}"))
        except OSError as e:
            raise StoreError(f"the run store {self.path} cannot be read ({why}) and cannot be "
                             f"moved aside: {e}") from e
        self.notice = (f"The run store {self.path} could not be read ({why}). It was kept, "
                       f"untouched, as {aside}, and a new, empty store was started.")
        logger.warning(self.notice)

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
    ) -> int:
        """Save one run and return its id. ``result`` must hold the series the plots need;
        ``events`` is optional (the registry only passes it when it is small)."""
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
            _headline(result),
            error,
            _dumps(config, "config"),
            None if result is None else _dumps(result, "result"),
            None if events is None else _dumps(list(events), "events"),
        )
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO runs (kind, label, status, dataset, created_at, headline, error,"
                " config_json, result_json, events_json) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
        self._reap_quietly()
        where, args = [], []
        for column, value in (("kind", kind), ("dataset", dataset), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(int(limit), 0))
        with self._connect() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [RunSummary(*row) for row in rows]

    def load_run(self, run_id: int) -> Run:
        """The run in full; a live run's events are those appended so far."""
        self._reap_quietly()
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS}, config_json, result_json, events_json"
                " FROM runs WHERE id = ?",
                (int(run_id),),
            ).fetchone()
            batches = conn.execute(
                "SELECT events_json FROM run_events WHERE run_id = ? ORDER BY first",
                (int(run_id),),
            ).fetchall()
        if row is None:
            raise StoreError(f"no saved run with id {run_id}")
        *summary, config_json, result_json, events_json = row
        try:
            events = _loads(events_json)
            if batches:
                events = (events or []) + [e for (b,) in batches for e in json.loads(b)]
            return Run(*summary, _loads(config_json), _loads(result_json), events)
        except json.JSONDecodeError as e:
            raise StoreError(f"saved run {run_id} is corrupt: {e}") from e

    def rename_run(self, run_id: int, label: str | None) -> None:
        with self._write() as conn:
            cur = conn.execute("UPDATE runs SET label = ? WHERE id = ?", (label, int(run_id)))
            if cur.rowcount == 0:
                raise StoreError(f"no saved run with id {run_id}")

    def delete_run(self, run_id: int) -> None:
        self.delete_runs([run_id])

    def delete_runs(self, run_ids: Iterable[int]) -> int:
        """All or nothing: if one id is unknown, nothing is deleted (a stale selection
        in the UI should not half-apply)."""
        ids = sorted({int(i) for i in run_ids})
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        with self._write() as conn:
            found = {r[0] for r in conn.execute(f"SELECT id FROM runs WHERE id IN ({marks})", ids)}
            missing = [i for i in ids if i not in found]
            if missing:
                raise StoreError(f"no saved run with id {', '.join(map(str, missing))}")
            conn.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids)
            conn.execute(f"DELETE FROM run_events WHERE run_id IN ({marks})", ids)
        return len(ids)

    # -- live runs -------------------------------------------------------------------

    def start_run(
        self,
        kind: str,
        config: dict[str, Any],
        *,
        label: str | None = None,
        host: str | None = None,
        pid: int | None = None,
    ) -> int:
        """Create a "running" row at once, so every reader lists the run while it goes.

        ``host``/``pid`` name the process that will finish the row (default: this one);
        when it dies without finishing, readers mark the run "interrupted"."""
        run_id = self.save_run(kind, config, None, status=LIVE_STATUS, label=label)
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
        text = _dumps(batch, "events") if batch else None
        with self._write() as conn:
            self._beat(conn, run_id)
            return self._append(conn, run_id, batch, text)

    def heartbeat(self, run_id: int) -> None:
        """Show that the run's process is alive (``append_events`` does it too)."""
        with self._write() as conn:
            self._beat(conn, run_id)

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
                raise StoreError(f"saved run {run_id} has corrupt events: {e}") from e
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
        result_json = None if result is None else _dumps(result, "result")
        batch = [dict(e) for e in events]
        text = _dumps(batch, "events") if batch else None
        now = time.time()
        with self._write() as conn:
            self._append(conn, run_id, batch, text)
            cur = conn.execute(
                "UPDATE runs SET status = ?, result_json = ?, headline = ?, error = ?,"
                " heartbeat_at = ?, finished_at = ? WHERE id = ?",
                (status, result_json, _headline(result), error, now, now, int(run_id)),
            )
            if cur.rowcount == 0:
                raise StoreError(f"no saved run with id {run_id}")

    def mark_interrupted(self, run_ids: Iterable[int] | None = None) -> list[int]:
        """Mark live runs "interrupted" and return their ids: the given ones (a server
        that restarts owns its old jobs), or by default every live run whose process is
        gone (same host: its pid is dead; elsewhere: no heartbeat for ``stale_after_s``)."""
        now = time.time()
        with self._write() as conn:
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

    def _reap_quietly(self) -> None:
        # A reader that cannot write (read-only copy, locked file) still reads.
        try:
            self.mark_interrupted()
        except StoreError as e:
            logger.debug("could not mark interrupted runs in %s: %s", self.path, e)

    @staticmethod
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

    @staticmethod
    def _beat(conn: sqlite3.Connection, run_id: int) -> None:
        cur = conn.execute(
            "UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), int(run_id))
        )
        if cur.rowcount == 0:
            raise StoreError(f"no saved run with id {run_id}")


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
