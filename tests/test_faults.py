"""The fault matrix as tests: soak, dead workers, stuck jobs, concurrent sessions, a server
that stops mid-job, and a store that is locked, corrupt or gone. In every case: no
traceback, no silent wrong value, no lost run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import job_runners as jr
from apptest_helpers import APP, open_page, plain, run_until_done

from clr_core.errors import StoreError
from clr_core.jobs.executors.process import ProcessExecutor
from clr_core.jobs.registry import JobRegistry
from clr_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
T = 120.0


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_fifty_jobs_in_a_row_keep_threads_and_server_memory_flat(tmp_path):
    reg = JobRegistry({"big": jr.big}, store=RunStore(tmp_path / "runs.db"),
                      executor=ProcessExecutor(preload=()))
    try:
        def one() -> None:
            status = reg.wait(reg.submit("big", {}), timeout=T)
            assert status.state == "done" and not status.save_failed

        for _ in range(5):  # warm up: the worker, SQLite, the allocator
            one()
        threads, rss = threading.active_count(), rss_kb()
        for _ in range(50):
            one()
        assert threading.active_count() == threads
        assert rss_kb() <= rss * 1.10, (rss, rss_kb())
        assert len(reg.store.list_runs()) == 55
        assert reg.status(reg.list()[0].id).result["headline"] == "big"  # read back
    finally:
        assert reg.shutdown(timeout=T)


def test_a_worker_killed_from_outside_fails_only_its_job(tmp_path):
    executor = ProcessExecutor(preload=(), max_idle=2)
    reg = JobRegistry({"u": jr.until_stopped}, store=RunStore(tmp_path / "runs.db"),
                      executor=executor)
    try:
        victim = reg.submit("u", {}, device="cpu")
        other = reg.submit("u", {}, device="cuda:0")
        while min(reg.status(i).n_events for i in (victim, other)) < 10:
            time.sleep(0.05)
        pid = next(p for p in executor.worker_pids if p != os.getpid())
        busy = {p for p in executor.worker_pids}
        assert len(busy) == 2
        os.kill(pid, signal.SIGKILL)  # what the kernel's OOM killer does
        states = {}
        deadline = time.monotonic() + T
        while len(states) < 1 and time.monotonic() < deadline:
            for i in (victim, other):
                if reg.status(i).state == "failed":
                    states[i] = reg.status(i)
            time.sleep(0.05)
        (dead_id, dead), = states.items()
        alive_id = other if dead_id == victim else victim
        assert "SIGKILL" in dead.error and "memory" in dead.error and dead.n_events >= 10
        assert reg.store.load_run(dead.run_id).status == "failed"
        assert reg.status(alive_id).state == "running"
        reg.cancel(alive_id)
        assert reg.wait(alive_id, timeout=T).state == "cancelled"
    finally:
        assert reg.shutdown(timeout=T)


def test_cancel_of_a_job_stuck_in_long_tensor_operations(tmp_path):
    reg = JobRegistry({"t": jr.torch_forever}, store=RunStore(tmp_path / "runs.db"),
                      executor=ProcessExecutor(preload=(), cancel_grace_s=1.0))
    try:
        job = reg.submit("t", {})
        while reg.status(job).n_events < 1:
            time.sleep(0.05)
        time.sleep(0.5)
        reg.cancel(job)
        final = reg.wait(job, timeout=T)
        assert final.state == "cancelled" and final.n_events == 1
        assert reg.store.load_run(final.run_id).status == "cancelled"
    finally:
        assert reg.shutdown(timeout=T)


def test_two_tabs_starting_jobs_at_once_lose_neither():
    """Two tabs press Start at the same moment: both jobs run to the end, each with the
    settings its own tab asked for (one person's tabs then show their newest job; two
    people's, each their own: tests/app/test_app_ownership.py)."""
    from ui.jobs import registry

    before = {job.id for job in registry().list()}
    tabs = [open_page("pages/range_test.py") for _ in range(2)]
    for at, n in zip(tabs, (30, 40), strict=True):
        at.text_input(key="rt.num_iter").set_value(str(n)).run()
    errors: list[BaseException] = []

    def click(at) -> None:
        try:  # a run that fails in its thread would otherwise surface as a missing key
            at.button(key="btn.rt.start").click().run(timeout=T)
        except BaseException as e:
            errors.append(e)

    clicks = [threading.Thread(target=click, args=(at,)) for at in tabs]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join(2 * T)
    assert not errors, errors
    assert not any(t.is_alive() for t in clicks)
    started = [job for job in registry().list() if job.id not in before]
    said = [plain(m.value) for at in tabs for m in (*at.error, *at.warning, *at.info)]
    assert sorted(job.config["num_iter"] for job in started) == [30, 40], said
    for job in started:
        assert registry().wait(job.id, timeout=T).state == "done"
    for at in tabs:
        assert run_until_done(at, "rt.job") == "done"
        assert not at.exception and not at.error


START_AND_DIE = """
import os, sys, time
from clr_core.jobs.engine_jobs import engine_registry
from clr_core.runs.store import RunStore
reg = engine_registry(store=RunStore(sys.argv[1]))
job = reg.submit("range_test", {"num_iter": 100000, "end_lr": 0.05}, label="killed mid-job")
store = RunStore(sys.argv[1])
deadline = time.monotonic() + 120
while time.monotonic() < deadline:  # its events reach the store's running row (the writer flushes)
    runs = store.list_runs()
    if runs and len(store.read_events(runs[0].id)[0]) >= 50:
        break
    time.sleep(0.1)
print("running", flush=True)
time.sleep(600)
"""


def test_a_server_killed_mid_job_leaves_an_interrupted_run_the_runs_page_shows(tmp_path):
    db = tmp_path / "runs.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", START_AND_DIE, str(db)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert server.stdout.readline().strip() == "running"
        (run,) = RunStore(db).list_runs()
        assert run.status == "running"
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its worker, no cleanup
        server.wait(30)
    store = RunStore(db)
    JobRegistry({}, store=store, executor="thread")  # the next server start marks it
    (run,) = store.list_runs()
    full = store.load_run(run.id)
    assert run.status == "interrupted" and "stopped" in run.error
    assert len(full.events) >= 50  # the curve up to the stop is kept

    from ui.jobs import run_store

    run_store.clear()
    os.environ["CLR_STUDIO_DB"], old = str(db), os.environ["CLR_STUDIO_DB"]
    try:
        at = open_page("pages/runs.py")
        assert not at.exception
        table = at.dataframe[0].value
        assert list(table["status"]) == ["interrupted"]
        assert table["run"].item().startswith("killed mid-job — ")  # its name leads its label
    finally:
        os.environ["CLR_STUDIO_DB"] = old
        run_store.clear()


def test_a_corrupt_store_at_start_is_a_message_and_the_pages_work(tmp_path):
    from ui.jobs import run_store

    db = tmp_path / "runs.db"
    db.write_bytes(b"\x00garbage, not SQLite" * 500)
    run_store.clear()
    os.environ["CLR_STUDIO_DB"], old = str(db), os.environ["CLR_STUDIO_DB"]
    try:
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(APP, default_timeout=60).run()
        assert any("could not be read" in plain(w.value) and "corrupt-" in plain(w.value)
                   for w in at.warning)  # app.py draws it above every page
        # (not the job pages: the server's one registry must keep the suite's store)
        for page in ("pages/overview.py", "pages/runs.py", "pages/designer.py"):
            at = open_page(page)
            assert not at.exception, (page, at.exception)
        assert len([p for p in tmp_path.iterdir() if ".corrupt-" in p.name]) == 1
    finally:
        os.environ["CLR_STUDIO_DB"] = old
        run_store.clear()


def test_a_locked_store_never_loses_a_finished_run_and_the_page_says_so(monkeypatch):
    from ui.jobs import registry

    store = registry().store
    real_write = RunStore._write
    locked = {"on": True}

    def write(self):
        if self is store and locked["on"]:
            raise StoreError(f"run store {self.path}: database is locked")
        return real_write(self)

    monkeypatch.setattr(RunStore, "_write", write)
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.num_iter").set_value("30").run()
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job") == "done"
    assert not at.exception
    assert any("could not be saved" in w.value and "database is locked" in w.value
               for w in at.warning)
    texts = [p.proto.text for p in at.get("progress")] if at.get("progress") else []
    assert not texts or all("not saved" in t for t in texts if t.startswith("Done"))
    assert at.button(key="btn.rt.retry_save")  # and the result can be downloaded
    job = registry().status(at.session_state["rt.job"])
    assert job.save_failed and job.result["range_test"]["lrs"]  # still in memory
    locked["on"] = False
    at.button(key="btn.rt.retry_save").click().run()
    assert not at.exception
    job = registry().status(at.session_state["rt.job"])
    assert not job.save_failed and store.load_run(job.run_id).status == "done"
    assert not any("could not be saved" in w.value for w in at.warning)

