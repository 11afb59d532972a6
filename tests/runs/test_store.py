"""RunStore: round-trips (NaN included) across reopen, filters, edits, and concurrent
writers from threads and processes."""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import shutil
import sqlite3
import stat
import subprocess
import threading
import time

import numpy as np
import pytest

import clr_core.runs.live as live_module
from clr_core.errors import StoreError
from clr_core.runs.format import SCHEMA_VERSION, Run, RunSummary
from clr_core.runs.store import ENV_VAR, RunStore, default_db_path


@pytest.fixture
def db(tmp_path):
    return tmp_path / "runs.db"


def _result():
    return {
        "lrs": [1e-5, 1e-3, 1e-1, 1.0],
        "losses": [2.3, 1.9, float("nan"), float("inf")],
        "smoothed": [2.3, 2.0, -float("inf"), None],
        "suggestions": {"steepest": {"lr": 1e-3, "note": "ok"}},
        "headline": "max_lr 0.01",
    }


def _same(a, b):
    """Deep equality where NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_round_trip_across_reopen_keeps_nan_and_inf(db):
    config = {"dataset": "mnist", "model": "mlp", "start_lr": 1e-7, "nested": {"a": [1, 2]}}
    events = [{"kind": "point", "iteration": 0, "lr": 1e-5, "loss": float("nan")}]
    store = RunStore(db)
    run_id = store.save_run(
        "range_test", config, _result(), label="first", events=events
    )
    store.close()

    again = RunStore(db)
    run = again.load_run(run_id)
    assert isinstance(run, Run)
    assert (run.id, run.kind, run.label, run.status) == (run_id, "range_test", "first", "done")
    assert run.dataset == "mnist"
    assert run.config == config
    assert _same(run.result, _result())
    assert math.isnan(run.result["losses"][2]) and run.result["losses"][3] == math.inf
    assert _same(run.events, events)
    assert run.headline == "max_lr 0.01"
    assert run.error is None


def test_numpy_values_are_saved_as_plain_json(db):
    store = RunStore(db)
    result = {"lrs": np.array([0.1, np.nan]), "best": np.float32(0.5), "n": np.int64(3)}
    run = store.load_run(store.save_run("train", {}, result))
    assert run.result["lrs"][0] == 0.1 and math.isnan(run.result["lrs"][1])
    assert run.result["best"] == 0.5 and run.result["n"] == 3
    assert run.dataset is None and run.events is None


def test_unserialisable_result_is_a_store_error(db):
    store = RunStore(db)
    with pytest.raises(StoreError, match="result"):
        store.save_run("train", {}, {"x": object()})
    assert store.list_runs() == []


def test_failed_run_without_result(db):
    store = RunStore(db)
    rid = store.save_run("train", {"dataset": "cifar10"}, None, status="failed", error="ValueError: x")
    run = store.load_run(rid)
    assert run.result is None and run.status == "failed" and run.error == "ValueError: x"
    assert store.list_runs(status="failed")[0].error == "ValueError: x"


def test_list_runs_newest_first_with_filters(db):
    store = RunStore(db)
    a = store.save_run("range_test", {"dataset": "mnist"}, {"headline": 0.0123456})
    b = store.save_run("train", {"dataset": "mnist"}, {}, status="cancelled")
    c = store.save_run("range_test", {"dataset": "cifar10"}, {"headline": "acc 91%"})
    runs = store.list_runs()
    assert [r.id for r in runs] == [c, b, a]
    assert all(isinstance(r, RunSummary) and not isinstance(r, Run) for r in runs)
    assert runs[2].headline == "0.01235" and runs[0].headline == "acc 91%"
    assert runs[1].headline is None
    assert [r.id for r in store.list_runs(kind="range_test")] == [c, a]
    assert [r.id for r in store.list_runs(dataset="mnist")] == [b, a]
    assert [r.id for r in store.list_runs(kind="range_test", dataset="mnist")] == [a]
    assert [r.id for r in store.list_runs(status="cancelled")] == [b]
    assert [r.id for r in store.list_runs(limit=2)] == [c, b]
    assert store.list_runs(kind="nope") == []


def test_rename_and_delete(db):
    store = RunStore(db)
    ids = [store.save_run("train", {}, {"i": i}) for i in range(4)]
    store.rename_run(ids[0], "renamed")
    assert store.load_run(ids[0]).label == "renamed"
    store.rename_run(ids[0], None)
    assert store.load_run(ids[0]).label is None

    store.delete_run(ids[1])
    with pytest.raises(StoreError, match=str(ids[1])):
        store.load_run(ids[1])
    # All or nothing: one stale id in the selection deletes nothing.
    with pytest.raises(StoreError):
        store.delete_runs([ids[2], ids[1]])
    assert {r.id for r in store.list_runs()} == {ids[0], ids[2], ids[3]}
    assert store.delete_runs([ids[2], ids[3]]) == 2
    assert store.delete_runs([]) == 0
    assert [r.id for r in store.list_runs()] == [ids[0]]


@pytest.mark.parametrize("call", ["load", "rename", "delete"])
def test_unknown_id_is_a_store_error(db, call):
    store = RunStore(db)
    with pytest.raises(StoreError, match="999"):
        {"load": lambda: store.load_run(999), "rename": lambda: store.rename_run(999, "x"),
         "delete": lambda: store.delete_run(999)}[call]()


def test_wal_mode_and_schema_version(db):
    store = RunStore(db)
    assert store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="schema version"):
        RunStore(db)


def test_closed_store_and_memory_path_refused(db):
    store = RunStore(db)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_runs()
    with pytest.raises(StoreError, match="memory"):
        RunStore(":memory:")


def test_env_var_and_xdg_default(tmp_path, monkeypatch):
    target = tmp_path / "env" / "deep" / "studio.db"
    monkeypatch.setenv(ENV_VAR, str(target))
    store = RunStore()
    assert store.path == target and target.exists()  # parent folders created
    store.save_run("train", {}, {})
    assert len(RunStore(target).list_runs()) == 1

    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "clr_studio" / "runs.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / ".local" / "share" / "clr_studio" / "runs.db"


def _process_writer(path: str, tag: str, n: int) -> None:
    store = RunStore(path)
    for i in range(n):
        store.save_run("train", {"dataset": tag, "i": i}, {"loss": [float("nan"), i]})


def test_concurrent_writers_threads_and_processes(db):
    RunStore(db)  # create the schema first, as the app does on start
    n = 25
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(str(db), f"proc{k}", n)) for k in range(2)]
    for p in procs:
        p.start()

    shared = RunStore(db)  # one object used by every thread, as the registry does
    errors: list[BaseException] = []

    def thread_writer(tag: str) -> None:
        try:
            for i in range(n):
                shared.save_run("train", {"dataset": tag, "i": i}, {"loss": [i]})
                shared.list_runs(limit=5)  # readers beside writers
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=thread_writer, args=(f"thr{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for p in procs:
        p.join(60)
    assert not errors
    assert [p.exitcode for p in procs] == [0, 0]

    runs = shared.list_runs()
    assert len(runs) == 6 * n
    assert len({r.id for r in runs}) == 6 * n
    for tag in [f"thr{k}" for k in range(4)] + ["proc0", "proc1"]:
        mine = shared.list_runs(dataset=tag)
        assert sorted(shared.load_run(r.id).config["i"] for r in mine) == list(range(n))


def test_stored_json_is_plain_text(db):
    """Other tools (sqlite3 CLI, pandas) can read the rows: JSON text, NaN as NaN."""
    store = RunStore(db)
    rid = store.save_run("range_test", {"dataset": "mnist"}, {"loss": [float("nan")]})
    with sqlite3.connect(db) as conn:
        text = conn.execute("SELECT result_json FROM runs WHERE id = ?", (rid,)).fetchone()[0]
    assert text == '{"loss":[NaN]}'
    assert math.isnan(json.loads(text)["loss"][0])


def test_a_restart_that_reuses_the_pid_still_marks_the_old_rows(db, monkeypatch):
    """In a container the server is PID 1 every time: a running row with this pid from
    before this process started is from an earlier life."""
    store = RunStore(db)
    rid = store.start_run("train", {})
    assert store.mark_interrupted() == []  # this life's own run
    monkeypatch.setattr(live_module, "_PROCESS_STARTED", time.time() + 1)
    assert store.mark_interrupted() == [rid]


def test_a_corrupt_file_is_kept_aside_and_a_new_store_started(db):
    RunStore(db).save_run("train", {}, {})
    junk = b"this is not a database" * 100
    db.write_bytes(junk)
    for suffix in ("-wal", "-shm"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            p.unlink()
    store = RunStore(db)
    assert store.list_runs() == []
    aside = [p for p in db.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == junk  # untouched
    assert str(aside[0]) in store.notice and "could not be read" in store.notice
    store.save_run("train", {}, {})
    assert len(RunStore(db).list_runs()) == 1 and RunStore(db).notice is None


@contextlib.contextmanager
def read_only(path):
    """Make a file read-only for this process: chmod, or as root (which chmod does not
    stop) the immutable attribute; skip where neither works."""
    path.chmod(stat.S_IRUSR)
    immutable = False
    if os.access(path, os.W_OK) and shutil.which("chattr"):
        immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
    try:
        with open(path, "r+b"):
            pass
    except OSError:
        try:
            yield
        finally:
            if immutable:
                subprocess.run(["chattr", "-i", str(path)], check=True)
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        return
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    pytest.skip("cannot make a file read-only here")


def test_a_read_only_store_lists_runs_and_refuses_saves_with_a_message(db):
    store = RunStore(db)
    rid = store.save_run("train", {}, {"headline": "kept"})
    with sqlite3.connect(db) as conn:  # leave WAL so a reader needs no -shm writes
        conn.execute("PRAGMA journal_mode = DELETE")
    with read_only(db):
        ro = RunStore(db)
        assert [r.id for r in ro.list_runs()] == [rid]
        with pytest.raises(StoreError, match="readonly|read-only"):
            ro.save_run("train", {}, {})


def test_a_store_file_deleted_while_running_is_started_again(db):
    store = RunStore(db)
    store.save_run("train", {}, {})
    db.unlink()
    for suffix in ("-wal", "-shm"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            p.unlink()
    rid = store.save_run("train", {}, {"headline": "after"})
    assert [r.headline for r in store.list_runs()] == ["after"] and db.exists()
    assert store.load_run(rid).result == {"headline": "after"}


def test_a_long_headline_is_kept_whole_or_cut_at_a_word():
    """Issue 32, item 17: the runs list cut "No reliable recommendation: …" at 200
    characters, mid-word and before its advice."""
    from clr_core.runs.format import headline_of

    advice = ("No reliable recommendation: The smoothed loss falls only 0.0165 (0.7 %) before "
              "its lowest point, no more than the batch-to-batch noise (σ 0.0527) can give. "
              "Sweep from a lower start LR or over more iterations, or run the seed sweep to "
              "see whether any fall is real.")
    assert headline_of({"headline": advice}) == advice
    runaway = headline_of({"headline": "word " * 1000})
    assert len(runaway) <= 1000 and runaway.endswith("word…")
    assert headline_of({"headline": 0.97531}) == "0.9753"
