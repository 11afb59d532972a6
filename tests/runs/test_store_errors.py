"""Each way a run store fails, made for real, comes out as its own `StoreError` type (the
store's boundary reads SQLite's result code, so nothing above reads a message), and the one
writer of live runs acts on the type: a lock another connection holds is waited for, a
read-only, full or corrupt store ends the record at once with a clear message."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from clr_core.errors import (
    RunNotFound,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
)
from clr_core.runs import store as store_mod
from clr_core.runs.connection import store_error
from clr_core.runs.store import RunStore
from clr_core.runs.writer import RetryPolicy, RunWriter


def hold_lock(path, release: threading.Event) -> threading.Thread:
    """Another connection (what a second process is to SQLite) holding the write lock until
    ``release`` is set."""
    ready = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        release.wait(30)
        conn.execute("COMMIT")
        conn.close()

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    assert ready.wait(5)
    return t


def corrupt(path) -> None:
    """Overwrite the file (and drop its WAL) with bytes that are no SQLite database."""
    for suffix in ("-wal", "-shm"):
        (path.parent / f"{path.name}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database, " * 200)


@pytest.fixture
def fast_busy(monkeypatch):
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_MS", 100)


# --- the boundary: each real condition, its type ------------------------------------------

def test_a_lock_held_by_another_connection_is_store_busy(tmp_path, fast_busy):
    store = RunStore(tmp_path / "runs.db")
    release = threading.Event()
    holder = hold_lock(store.path, release)
    try:
        with pytest.raises(StoreBusy, match="busy") as caught:
            store.save_run("train", {}, None)
        assert caught.value.transient
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    finally:
        release.set()
        holder.join()
    assert store.save_run("train", {}, None) >= 1  # and it clears by itself


def test_a_write_on_a_read_only_connection_is_store_read_only(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    RunStore(path).save_run("train", {}, None, label="kept")
    # root ignores chmod: the store opens the file read-only (mode=ro) as for a real one
    monkeypatch.setattr(store_mod, "is_read_only", lambda p: True)
    ro = RunStore(path)
    with pytest.raises(StoreReadOnly, match="read-only") as caught, ro._connect() as conn:
        conn.execute("UPDATE runs SET label = 'x'")  # SQLite itself refuses: SQLITE_READONLY
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert "readonly database" in str(caught.value) and not caught.value.transient
    with pytest.raises(StoreReadOnly, match="runs are listed but not saved"):
        ro.save_run("train", {}, None)
    assert isinstance(StoreReadOnly("x"), StoreUnavailable)


def test_a_corrupt_file_is_store_corrupt(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    corrupt(store.path)
    with pytest.raises(StoreCorrupt, match="not a database") as caught:
        store.list_runs()
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    assert not caught.value.transient


def test_a_full_database_is_store_full(tmp_path):
    conn = sqlite3.connect(tmp_path / "small.db", isolation_level=None)
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("PRAGMA max_page_count = 3")  # SQLite's own size limit: SQLITE_FULL
    with pytest.raises(sqlite3.OperationalError) as raised:
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    conn.close()
    error = store_error(tmp_path / "small.db", raised.value)
    assert type(error) is StoreFull and "full" in str(error) and not error.transient


def test_a_file_that_cannot_be_opened_is_store_unavailable(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(sqlite3.OperationalError) as raised:
        sqlite3.connect(tmp_path / "a-file" / "runs.db")
    assert type(store_error(tmp_path / "a-file" / "runs.db", raised.value)) is StoreUnavailable
    with pytest.raises(StoreUnavailable, match="cannot create the folder"):
        RunStore(tmp_path / "a-file" / "runs.db")


def test_a_run_that_is_not_there_is_run_not_found(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    for call in (lambda: store.load_run(7), lambda: store.rename_run(7, "x"),
                 lambda: store.append_events(7, []), lambda: store.finish_run(7, "done", None)):
        with pytest.raises(RunNotFound, match="no saved run with id 7"):
            call()


def test_a_code_beats_the_words_and_words_count_only_without_a_code(tmp_path):
    """SQLite's code decides; a hand-made error with no code is read by its words."""
    coded = sqlite3.OperationalError("the words say locked")
    coded.sqlite_errorcode = sqlite3.SQLITE_FULL
    assert type(store_error(tmp_path, coded)) is StoreFull
    extended = sqlite3.OperationalError("x")
    extended.sqlite_errorcode = sqlite3.SQLITE_BUSY | (2 << 8)  # SQLITE_BUSY_SNAPSHOT
    assert type(store_error(tmp_path, extended)) is StoreBusy
    assert type(store_error(tmp_path, sqlite3.OperationalError("database is locked"))) is StoreBusy
    assert type(store_error(tmp_path, sqlite3.OperationalError("no such table: x"))) is StoreError


# --- the writer acts on the type ------------------------------------------------------------

class CountingPolicy(RetryPolicy):
    """The default policy, counting the times a writer hands it a refused end to retry."""

    retries = 0

    def call(self, attempt, **kwargs):
        type(self).retries += 1
        return super().call(attempt, **kwargs)


def test_the_writer_waits_out_a_real_lock_and_loses_nothing(tmp_path, fast_busy):
    store = RunStore(tmp_path / "runs.db")
    CountingPolicy.retries = 0
    writer = RunWriter(store, "train", {}, label="held", flush_s=0.05,
                       policy=CountingPolicy(0.05, 0.2, 30.0))
    writer.add([{"kind": "step", "iteration": i} for i in range(50)])
    release = threading.Event()
    holder = hold_lock(store.path, release)
    threading.Timer(0.5, release.set).start()
    assert writer.finish("done", {"headline": "h"}, wait=True)
    holder.join()
    run = store.load_run(writer.run_id)
    assert run.status == "done" and len(run.events) == 50 and writer.save_error is None
    assert CountingPolicy.retries == 1  # the refused end was handed to the policy, once


@pytest.mark.parametrize("spoil, kind", [
    ("read-only", StoreReadOnly), ("corrupt", StoreCorrupt),
])
def test_the_writer_gives_up_at_once_on_a_store_no_wait_fixes(tmp_path, monkeypatch, spoil,
                                                               kind):
    path = tmp_path / "runs.db"
    store = RunStore(path)
    if spoil == "read-only":
        monkeypatch.setattr(store_mod, "is_read_only", lambda p: True)
        store = RunStore(path)
    else:
        corrupt(path)
    CountingPolicy.retries = 0
    writer = RunWriter(store, "train", {}, label="x", start_wait=None,  # saved whole at its end
                       policy=CountingPolicy())
    writer.add([{"kind": "step"}])
    assert writer.finish("done", {}, wait=True) is False
    assert CountingPolicy.retries == 0  # the policy's waiting never began: given up on its type
    assert writer.save_error.startswith(kind.__name__) and writer.retrying is None
    assert writer._pending == [{"kind": "step"}]  # kept: a later finish may still save it
