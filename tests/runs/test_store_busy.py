"""No run lost to a busy store: the recorder keeps a run in memory while another process
holds the lock and writes it whole when the lock clears; reads never queue behind a
writer ("the run store is busy" within a second); a read-only store lists its runs."""

from __future__ import annotations

import sqlite3
import threading
import time
import warnings

import pytest

from clr_core.errors import StoreError
from clr_core.runs import store as store_mod
from clr_core.runs import writer as writer_mod
from clr_core.runs.recorder import RunRecorder
from clr_core.runs.store import BUSY_MESSAGE, RunStore, StoreBusy


@pytest.fixture
def fast_busy(monkeypatch):
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_MS", 100)


def hold_lock(path, seconds: float, *, exclusive: bool = False) -> threading.Thread:
    """Another connection holding the write lock for `seconds` (what a second process does)."""
    ready = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE" if exclusive else "BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    ready.wait(5)
    return t


def test_a_lock_held_mid_run_and_past_its_end_loses_nothing(tmp_path, fast_busy):
    store = RunStore(tmp_path / "runs.db")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = RunRecorder("range_test", {"dataset": "digits"}, label="busy", store=store,
                          flush_s=0.1)
        holder = hold_lock(store.path, 1.5)
        for i in range(200):
            rec({"kind": "step", "iteration": i})
        time.sleep(0.5)  # the flusher meets the lock at least once
        assert rec.retrying is not None and "locked" in rec.retrying
        rec.finish("done", {"headline": "kept"})  # the lock is still held: retried
        holder.join()
    run = store.load_run(rec.run_id)
    assert run.status == "done" and run.result == {"headline": "kept"}
    assert len(run.events) == 200 and run.error is None
    assert rec.save_error is None and rec.retrying is None
    assert any("kept in memory" in str(w.message) for w in caught)


def test_a_lock_held_when_the_run_starts_still_records_it(tmp_path, fast_busy):
    store = RunStore(tmp_path / "runs.db")
    holder = hold_lock(store.path, 0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = RunRecorder("train", {"dataset": "digits"}, label="late", store=store,
                          flush_s=0.1)
        assert rec.run_id is None  # not started yet, and the run goes on
        rec({"kind": "step", "iteration": 0})
        holder.join()
        rec.finish("done", {"headline": "late"})
    assert store.load_run(rec.run_id).events == [{"kind": "step", "iteration": 0}]


def test_a_store_that_stays_locked_is_given_up_with_the_true_reason(tmp_path, fast_busy,
                                                                   monkeypatch):
    monkeypatch.setattr(writer_mod, "RETRY_FOR_S", 0.5)
    store = RunStore(tmp_path / "runs.db")
    rec = RunRecorder("train", {}, label="x", store=store, flush_s=0.1)
    holder = hold_lock(store.path, 2.0)
    with pytest.warns(RuntimeWarning, match="stayed unwritable for 0 s after the run ended"):
        rec.finish("done", {})
    holder.join()
    assert "locked" in rec.save_error


def test_reads_never_wait_on_a_write_lock(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    store.save_run("range_test", {}, {"headline": "h"}, label="one")
    holder = hold_lock(store.path, 3.0, exclusive=True)
    t0 = time.monotonic()
    assert [r.label for r in store.list_runs()] == ["one"]  # WAL: readers beside the writer
    assert store.load_run(store.list_runs()[0].id).label == "one"
    assert time.monotonic() - t0 < 1.0
    holder.join()


def test_a_reader_blocked_anyway_says_the_store_is_busy_within_a_second(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    store.save_run("range_test", {}, None, label="one")
    raw = sqlite3.connect(store.path, isolation_level=None)
    raw.execute("PRAGMA journal_mode = DELETE")  # a file a reader must queue on
    raw.close()
    holder = hold_lock(store.path, 2.5, exclusive=True)
    t0 = time.monotonic()
    with pytest.raises(StoreBusy, match=BUSY_MESSAGE[:30]):
        store.list_runs()
    assert time.monotonic() - t0 < 1.0
    holder.join()


def test_a_read_only_store_lists_its_runs_read_only(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    RunStore(path).save_run("range_test", {}, {"headline": "h"}, label="kept")
    monkeypatch.setattr(store_mod, "is_read_only", lambda p: True)  # root ignores chmod
    ro = RunStore(path)
    assert ro.read_only and [r.label for r in ro.list_runs()] == ["kept"]
    assert ro.load_run(ro.list_runs()[0].id).result == {"headline": "h"}
    with pytest.raises(StoreError, match="read-only: runs are listed but not saved"):
        ro.save_run("range_test", {}, None)


def test_a_read_only_store_stops_the_record_at_once_not_the_run(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    RunStore(path)
    monkeypatch.setattr(store_mod, "is_read_only", lambda p: True)
    with pytest.warns(RuntimeWarning, match="is read-only"):
        rec = RunRecorder("train", {}, label="x", store=path, flush_s=0.1)
    rec({"kind": "step"})
    t0 = time.monotonic()
    rec.finish("done", {})
    assert time.monotonic() - t0 < 1.0 and "read-only" in rec.save_error


def test_a_script_started_while_the_store_is_locked_does_not_wait_to_start(tmp_path):
    store = RunStore(tmp_path / "runs.db")  # the real 30 s busy timeout
    holder = hold_lock(store.path, 1.5)
    t0 = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = RunRecorder("train", {}, label="prompt", store=store, flush_s=0.1)
        assert time.monotonic() - t0 < 1.0 and rec.run_id is None
        rec({"kind": "step"})
        holder.join()
        rec.finish("done", {"headline": "late start"})
    assert store.load_run(rec.run_id).result == {"headline": "late start"}
