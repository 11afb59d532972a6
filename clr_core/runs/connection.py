"""Opening the run store's SQLite file: a busy file said in words ("the run store is
busy"), and a read-only file or folder opened read-only so its runs still list."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from clr_core.errors import StoreError
from clr_core.settings import env_name, get_settings

__all__ = ["BUSY_MESSAGE", "ENV_VAR", "READ_BUSY_MS", "StoreBusy", "connect_read_only",
           "default_db_path", "is_read_only", "set_aside", "store_error"]

ENV_VAR = env_name("db")

#: A read gives up after this long and says "the run store is busy" (WAL readers never
#: wait on a writer; this bounds the rare cases that do: a checkpoint, a non-WAL file).
READ_BUSY_MS = 700
BUSY_MESSAGE = ("the run store is busy: another process holds its write lock; the runs "
                "are shown again as soon as it lets go")


@contextlib.contextmanager
def connect_read_only(path: Path, busy_ms: int, env_var: str) -> Iterator[sqlite3.Connection]:
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
        raise StoreError(f"cannot open the read-only run store {path}: {last}")
    try:
        yield conn
    except sqlite3.Error as e:
        if "readonly" in str(e) or "read-only" in str(e):
            raise StoreError(f"the run store {path} is read-only: runs are listed but "
                             "not saved (make the file and its folder writable, or set "
                             f"{env_var} to another file)") from e
        raise store_error(path, e) from e
    finally:
        conn.close()


class StoreBusy(StoreError):
    """Another process holds the store's lock longer than a reader waits."""


def store_error(path: Path, e: sqlite3.Error) -> StoreError:
    text = str(e).lower()
    if "locked" in text or "busy" in text:
        return StoreBusy(f"{BUSY_MESSAGE} ({path}: {e})")
    return StoreError(f"run store {path}: {e}")


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
        raise StoreError(f"the run store {path} cannot be read ({why}) and cannot be "
                         f"moved aside: {e}") from e
    return (f"The run store {path} could not be read ({why}). It was kept, untouched, as "
            f"{aside}, and a new, empty store was started.")
