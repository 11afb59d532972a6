"""RunStore's live runs: a row that is "running" while its process appends events, read by
other processes as it grows, ended with a status and result, and marked "interrupted"
when its process dies; and the migration of a version-1 file."""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clr_core.errors import StoreError
from clr_core.runs.format import _SCHEMA_V1, FINAL_STATUSES, MIGRATIONS, SCHEMA_VERSION
from clr_core.runs.live import LiveRuns
from clr_core.runs.store import RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.db")


def _points(lo, hi):
    return [{"kind": "point", "iteration": i, "lr": 10.0 ** (i - 5), "loss": 1.0 / (i + 1)}
            for i in range(lo, hi)]


def test_live_run_lifecycle(store):
    rid = store.start_run("range_test", {"dataset": "mine"}, label="live")
    (summary,) = store.list_runs()
    assert (summary.id, summary.status, summary.label, summary.dataset) == (
        rid, "running", "live", "mine")
    assert store.read_events(rid) == ([], 0)

    assert store.append_events(rid, _points(0, 3)) == 3
    assert store.append_events(rid, []) == 3  # a heartbeat only
    assert store.append_events(rid, _points(3, 7)) == 7
    events, offset = store.read_events(rid)
    assert events == _points(0, 7) and offset == 7
    # from the middle of a batch, and from the end
    assert store.read_events(rid, 5) == (_points(5, 7), 7)
    assert store.read_events(rid, 7) == ([], 7)
    assert store.load_run(rid).events == _points(0, 7)
    assert store.load_run(rid).result is None

    result = {"range_test": {"lrs": [1e-5, 1e-4], "losses": [1.0, math.nan]}, "headline": "max"}
    store.finish_run(rid, "done", result, events=_points(7, 9))
    run = store.load_run(rid)
    assert run.status == "done" and run.headline == "max" and run.error is None
    assert run.events == _points(0, 9)
    assert run.result["range_test"]["lrs"] == [1e-5, 1e-4]
    assert math.isnan(run.result["range_test"]["losses"][1])


def test_finish_refuses_unknown_status_and_id(store):
    rid = store.start_run("train", {})
    with pytest.raises(StoreError, match="finished|done"):
        store.finish_run(rid, "finished!", {})
    with pytest.raises(StoreError, match="999"):
        store.finish_run(999, "done", {}, events=_points(0, 2))
    assert store.read_events(999) == ([], 0)  # the refused batch was rolled back
    with pytest.raises(StoreError, match="999"):
        store.append_events(999, _points(0, 1))
    with pytest.raises(StoreError, match="999"):
        store.heartbeat(999)
    store.finish_run(rid, "failed", None, error="RuntimeError: boom")
    run = store.load_run(rid)
    assert (run.status, run.error, run.result) == ("failed", "RuntimeError: boom", None)
    assert "interrupted" in FINAL_STATUSES


def test_delete_removes_a_runs_events(store):
    rid = store.start_run("train", {})
    store.append_events(rid, _points(0, 4))
    store.delete_run(rid)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM run_events").fetchone()[0] == 0


_WRITER = textwrap.dedent("""
    import sys, time
    from clr_core.runs.store import RunStore
    store = RunStore(sys.argv[1])
    rid = store.start_run("range_test", {"dataset": "mine"}, label="from a script")
    print(rid, flush=True)
    for i in range(3):
        store.append_events(rid, [{"kind": "point", "iteration": i}])
        print("appended", flush=True)
        sys.stdin.readline()  # the test says when to go on
    if sys.argv[2] == "die":
        import os
        os._exit(1)  # dies without finishing the run
    store.finish_run(rid, "done", {"headline": "ok"})
""")


def _writer(tmp_path, how):
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / "runs.db"), how],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=os.getcwd())


@pytest.mark.parametrize("how", ["finish", "die"])
def test_another_process_reads_a_run_as_it_grows(tmp_path, how):
    proc = _writer(tmp_path, how)
    try:
        rid = int(proc.stdout.readline())
        reader = RunStore(tmp_path / "runs.db")
        offset = 0
        for i in range(3):
            assert proc.stdout.readline().strip() == "appended"
            events, offset = reader.read_events(rid, offset)
            assert events == [{"kind": "point", "iteration": i}]
            assert reader.list_runs()[0].status == "running"  # its process is alive
            proc.stdin.write("\n")
            proc.stdin.flush()
        assert proc.wait(timeout=60) == (0 if how == "finish" else 1)
    finally:
        proc.kill()
    run = reader.load_run(rid)
    if how == "finish":
        assert (run.status, run.headline, run.error) == ("done", "ok", None)
    else:
        assert run.status == "interrupted" and "stopped" in run.error
        assert run.events == [{"kind": "point", "iteration": i} for i in range(3)]


def test_a_run_from_another_host_is_interrupted_when_its_heartbeat_stops(tmp_path):
    store = RunStore(tmp_path / "runs.db", stale_after_s=0.5)
    rid = store.start_run("train", {}, host="gpu-box-that-is-not-" + socket.gethostname(), pid=1)
    store.append_events(rid, _points(0, 1))
    assert store.list_runs()[0].status == "running"
    deadline = time.monotonic() + 10
    while store.list_runs()[0].status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.list_runs()[0].status == "interrupted"
    # the process was only paused: its real ending still lands
    store.finish_run(rid, "done", {"headline": "late"})
    assert store.load_run(rid).status == "done"


def test_mark_interrupted_by_id_leaves_other_runs(store):
    mine, other = store.start_run("train", {}), store.start_run("train", {})
    finished = store.save_run("train", {}, {})
    assert store.mark_interrupted([mine, finished]) == [mine]
    assert {r.id: r.status for r in store.list_runs()} == {
        mine: "interrupted", other: "running", finished: "done"}
    assert store.mark_interrupted() == []  # this process is alive


def test_the_live_writer_works_on_its_own_given_a_database(tmp_path):
    """``LiveRuns`` needs only connections to a file with the schema and a way to save a
    row, not a ``RunStore``: here a bare sqlite3 file and a counting writer."""
    path = tmp_path / "bare.db"
    with sqlite3.connect(path) as conn:
        for version in sorted(MIGRATIONS):
            conn.executescript(MIGRATIONS[version])
    writes = []

    @contextlib.contextmanager
    def connect():
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def write():
        writes.append(1)
        with connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def save_run(kind, config, result, *, status, label):
        with write() as conn:
            return conn.execute(
                "INSERT INTO runs (kind, label, status, created_at, config_json)"
                " VALUES (?,?,?,?,?)", (kind, label, status, time.time(), json.dumps(config))
            ).lastrowid

    live = LiveRuns(connect=connect, write=write, save_run=save_run, path=path,
                    stale_after_s=0.5)
    rid = live.start_run("train", {"dataset": "mine"}, label="bare",
                         host="not-" + socket.gethostname(), pid=1)
    assert live.append_events(rid, _points(0, 3)) == 3
    assert live.read_events(rid, 1) == (_points(1, 3), 3)
    with pytest.raises(StoreError, match="999"):
        live.append_events(999, _points(0, 1))
    assert live.read_events(999) == ([], 0)  # the refused batch was rolled back
    assert live.mark_interrupted() == []  # its heartbeat is fresh
    time.sleep(0.6)
    assert live.mark_interrupted() == [rid]  # another host's run whose heartbeat stopped
    live.finish_run(rid, "done", {"headline": "late"}, events=_points(3, 4))
    with connect() as conn:
        row = conn.execute("SELECT status, headline FROM runs WHERE id = ?", (rid,)).fetchone()
    assert row == ("done", "late") and live.read_events(rid)[1] == 4
    assert len(writes) >= 6  # every write went through the given transaction


def test_stale_after_must_be_positive(tmp_path):
    with pytest.raises(StoreError, match="stale_after_s"):
        RunStore(tmp_path / "x.db", stale_after_s=0)


def test_version_1_file_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(_SCHEMA_V1)
        conn.execute(
            "INSERT INTO runs (kind, label, status, dataset, created_at, config_json,"
            " result_json, events_json) VALUES ('range_test', 'old', 'done', 'digits', 1.0,"
            " '{}', '{\"headline\": 1}', ?)", (json.dumps(_points(0, 2)),))
        conn.execute("PRAGMA user_version = 1")
    store = RunStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    (old,) = store.list_runs()
    assert (old.label, old.status) == ("old", "done")
    assert store.load_run(old.id).events == _points(0, 2)
    rid = store.start_run("train", {})
    store.append_events(rid, _points(0, 1))
    assert RunStore(path).read_events(rid) == (_points(0, 1), 1)


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 6), max_size=6), since=st.integers(0, 40))
def test_read_events_from_any_offset_is_the_tail_of_all_appended(tmp_path_factory, sizes, since):
    store = RunStore(tmp_path_factory.mktemp("h") / "runs.db")
    rid = store.start_run("train", {})
    n = 0
    for size in sizes:
        n = store.append_events(rid, _points(n, n + size))
    events, offset = store.read_events(rid, since)
    assert events == _points(0, n)[since:]
    assert offset == max(n, since)
