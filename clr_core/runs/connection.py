"""Opening the run store's SQLite file: a busy file said in words ("the run store is
busy"), and a read-only file or folder opened read-only so its runs still list.

``store_error`` is the one place where what SQLite (or the OS) says becomes a typed
`StoreError` (`StoreBusy`, `StoreReadOnly`, `StoreFull`, `StoreCorrupt`, `StoreUnavailable`):
by SQLite's result code, and by its message only when an error carries no code (one raised
by hand, or an SQLite build that does not give it). Nothing above reads a message."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from clr_core.errors import (
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
)
from clr_core.settings import env_name, get_settings

__all__ = ["BUSY_MESSAGE", "ENV_VAR", "READ_BUSY_MS", "StoreBusy", "connect_read_only",
           "default_db_path", "is_read_only", "os_error", "read_only_error", "set_aside",
           "store_error"]

ENV_VAR = env_name("db")

#: A read gives up after this long and says "the run store is busy" (WAL readers never
#: wait on a writer; this bounds the rare cases that do: a checkpoint, a non-WAL file).
READ_BUSY_MS = 700
BUSY_MESSAGE = ("the run store is busy: another process holds its write lock; the runs "
                "are shown again as soon as it lets go")


@contextlib.contextmanager
def connect_read_only(path: Path, busy_ms: int) -> Iterator[sqlite3.Connection]:
    """A read-only file (or folder): opened with mode=ro, and immutable when SQLite
    cannot even make the WAL's shared-memory file beside it."""
    conn = None
    for query in ("mode=ro", "mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True,
                                   timeout=busy_ms / 1000, isolation_level=None)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            break
        except sqlite3.Error as e:
            if conn is not None:
                conn.close()
            conn = None
            last = e
    if conn is None:
        raise store_error(path, last, doing="open") from last
    try:
        yield conn
    except sqlite3.Error as e:
        raise store_error(path, e) from e
    finally:
        conn.close()


def read_only_error(path: Path, why: object = None) -> StoreReadOnly:
    """What saving to a read-only store says, and what to do about it."""
    return StoreReadOnly(f"the run store {path} is read-only{f' ({why})' if why else ''}: "
                         "runs are listed but not saved (make the file and its folder "
                         f"writable, or set {ENV_VAR} to another file)")


#: SQLite's primary result codes (an extended code's low byte) and the type each means.
_BY_CODE: dict[int, type[StoreError]] = {
    sqlite3.SQLITE_BUSY: StoreBusy, sqlite3.SQLITE_LOCKED: StoreBusy,
    sqlite3.SQLITE_READONLY: StoreReadOnly,
    sqlite3.SQLITE_FULL: StoreFull,
    sqlite3.SQLITE_CORRUPT: StoreCorrupt, sqlite3.SQLITE_NOTADB: StoreCorrupt,
    sqlite3.SQLITE_CANTOPEN: StoreUnavailable, sqlite3.SQLITE_IOERR: StoreUnavailable,
    sqlite3.SQLITE_PERM: StoreUnavailable, sqlite3.SQLITE_AUTH: StoreUnavailable,
}
#: Only for an error without a code: SQLite's own wording of the same conditions.
_BY_TEXT: tuple[tuple[str, type[StoreError]], ...] = (
    ("locked", StoreBusy), ("busy", StoreBusy),
    ("readonly", StoreReadOnly), ("read-only", StoreReadOnly),
    ("full", StoreFull),
    ("malformed", StoreCorrupt), ("not a database", StoreCorrupt),
    ("file is encrypted", StoreCorrupt),
    ("unable to open", StoreUnavailable), ("disk i/o", StoreUnavailable),
)


def _kind_of(e: sqlite3.Error) -> type[StoreError]:
    code = getattr(e, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _BY_CODE:
        return _BY_CODE[code & 0xFF]
    if code is None:
        text = str(e).lower()
        return next((kind for words, kind in _BY_TEXT if words in text), StoreError)
    return StoreError


def store_error(path: Path, e: sqlite3.Error, *, doing: str | None = None) -> StoreError:
    """SQLite's error as the typed `StoreError` that says what happened to the store at
    ``path``, with SQLite's own words kept in the message (``doing``: what was tried)."""
    kind = _kind_of(e)
    if kind is StoreBusy:
        return StoreBusy(f"{BUSY_MESSAGE} ({path}: {e})")
    if kind is StoreReadOnly:
        return read_only_error(path, e)
    if kind is StoreFull:
        return StoreFull(f"the disk that holds the run store {path} is full ({e}): free some "
                         "space on it and save again")
    if kind is StoreCorrupt:
        return StoreCorrupt(f"run store {path} is not a readable database: {e}")
    if kind is StoreUnavailable:
        return StoreUnavailable(f"cannot {doing or 'open or write'} the run store {path}: {e}")
    return StoreError(f"run store {path}: {e}" if doing is None
                      else f"cannot {doing} the run store {path}: {e}")


def os_error(e: OSError, message: str) -> StoreError:
    """The OS's error on the store's file or folder, typed by its errno (``message`` says
    what could not be done; the OS's words follow it)."""
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        kind: type[StoreError] = StoreFull
    elif e.errno == errno.EROFS:
        kind = StoreReadOnly
    else:
        kind = StoreUnavailable
    return kind(f"{message}: {e}")


def is_read_only(path: Path) -> bool:
    """A file this process cannot write, or a missing file in a folder it cannot write."""
    if path.exists():
        return not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK)
    return path.parent.exists() and not os.access(path.parent, os.W_OK)


def default_db_path() -> Path:
    """``$CLR_STUDIO_DB``, else ``runs.db`` in the platform's user data folder (Linux: the
    XDG data dir), so the CLI and the app share one file."""
    return get_settings().db_path


def set_aside(path: Path, error: StoreError) -> str:
    """Move an unreadable store (and its WAL files) aside untouched, so a new store can
    start and nothing in the old one is lost; returns the notice that says where it went."""
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    why = error.__cause__ or error
    try:
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{path}{suffix}")
            if src.exists():
                src.rename(Path(f"{aside}{suffix}"))
    except OSError as e:
        raise os_error(e, f"the run store {path} cannot be read ({why}) and cannot be "
                          "moved aside") from e
    return (f"The run store {path} could not be read ({why}). It was kept, untouched, as "
            f"{aside}, and a new, empty store was started.")
