"""The app's jobs meet a real failing store through the one writer of live runs: a lock
another connection holds past the job's end is waited out in the background and the job is
saved by itself; a read-only store keeps the result in memory, says why, and is not retried
by itself (no waiting fixes it; the page's retry button or the next job's end tries again)."""

from __future__ import annotations

import sqlite3
import time

from clr_core.jobs.registry import JobRegistry
from clr_core.runs import store as store_mod
from clr_core.runs import writer as writer_mod
from clr_core.runs.store import RunStore

T = 20.0  # generous upper bound on any wait; the tests finish far sooner


def quick(config, emit, should_stop):
    for i in range(3):
        emit({"kind": "step", "iteration": i}, (i + 1) / 3)
    return {"n": 3, "headline": "quick"}


def test_a_lock_held_past_the_jobs_end_is_waited_out_and_the_job_saved(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(writer_mod, "RETRY_FIRST_S", 0.05)
    monkeypatch.setattr(writer_mod, "RETRY_MAX_S", 0.2)
    store = RunStore(tmp_path / "runs.db")
    conn = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")  # another process, to SQLite, holding the write lock
    reg = JobRegistry({"q": quick}, store=store, executor="thread")
    try:
        final = reg.wait(reg.submit("q", {}), timeout=T)
        assert final.state == "done" and final.result == {"n": 3, "headline": "quick"}
        assert final.save_failed and "StoreBusy" in final.save_error
        conn.execute("COMMIT")
        deadline = time.monotonic() + T
        while reg.status(final.id).save_failed and time.monotonic() < deadline:
            time.sleep(0.05)
        saved = reg.status(final.id)
        assert not saved.save_failed
        run = store.load_run(saved.run_id)
        assert run.status == "done" and run.result == {"n": 3, "headline": "quick"}
        assert [e["iteration"] for e in run.events] == [0, 1, 2]
    finally:
        conn.close()
        assert reg.shutdown(timeout=T)


def test_a_read_only_store_keeps_the_result_and_says_why(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    RunStore(path)
    monkeypatch.setattr(store_mod, "is_read_only", lambda p: True)  # root ignores chmod
    store = RunStore(path)
    reg = JobRegistry({"q": quick}, store=store, executor="thread")
    try:
        final = reg.wait(reg.submit("q", {}), timeout=T)
        assert final.state == "done" and final.result == {"n": 3, "headline": "quick"}
        assert final.save_failed and "StoreReadOnly" in final.save_error
        assert "runs are listed but not saved" in final.save_error
        assert str(path) not in final.save_error  # named by role for every visitor
        writer = reg._saver._writers[final.id]  # white box: nothing retries it by itself
        assert writer._retrier is None and writer.retrying is None
        assert reg.retry_save(final.id) is False  # the button still tries, and says so
        assert reg.status(final.id).result == {"n": 3, "headline": "quick"}
    finally:
        assert reg.shutdown(timeout=T)
