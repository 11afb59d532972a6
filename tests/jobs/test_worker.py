"""The process executor: jobs in worker processes, events batched back, cancel (polite,
then forced), and workers that die taking nothing else with them."""

from __future__ import annotations

import os
import sys
import threading
import types
from importlib.machinery import SourceFileLoader

import job_runners as jr
import pytest

from clr_core.jobs.executors.base import cpu_threads
from clr_core.jobs.executors.process import ProcessExecutor, describe_exit
from clr_core.jobs.registry import JobRegistry
from clr_core.runs.store import RunStore
from clr_core.settings import SettingsError

T = 60.0  # generous: a worker start on a loaded 2-core machine


@pytest.fixture
def registry(tmp_path):
    made = []

    def make(runners, **kw):
        executor = ProcessExecutor(preload=(), cancel_grace_s=kw.pop("grace", 2.0),
                                   max_idle=kw.pop("max_idle", 1))
        reg = JobRegistry(runners, executor=executor, store=RunStore(tmp_path / "runs.db"), **kw)
        made.append(reg)
        return reg

    yield make
    for reg in made:
        assert reg.shutdown(timeout=T)
        assert not reg.executor.worker_pids  # no worker left behind


def test_a_job_runs_in_a_reused_worker_process_and_streams_its_events(registry):
    reg = registry({"q": jr.quick, "typed": jr.typed})
    first = reg.wait(reg.submit("q", {"n": 50}), timeout=T)
    assert first.state == "done" and first.result["n"] == 50
    assert first.result["pid"] != os.getpid()
    events, offset = reg.events(first.id)
    assert [e["iteration"] for e in events] == list(range(50)) and offset == 50
    second = reg.wait(reg.submit("q", {"n": 2}), timeout=T)
    assert second.result["pid"] == first.result["pid"]  # warm: no new process per job
    typed = reg.wait(reg.submit("typed", {}), timeout=T)
    assert typed.state == "done"
    assert reg.store.load_run(typed.run_id).events == [
        {"kind": "point", "iteration": i} for i in range(3)]


def test_runner_errors_and_bad_results_fail_the_job_not_the_worker(registry):
    reg = registry({"boom": jr.raises, "bad": jr.not_a_dict, "q": jr.quick,
                    "obj": jr.emits_an_object})
    boom = reg.wait(reg.submit("boom", {}), timeout=T)
    assert boom.state == "failed" and boom.error == "ValueError: loss is NaN at iteration 3"
    assert boom.n_events == 1
    bad = reg.wait(reg.submit("bad", {}), timeout=T)
    assert bad.state == "failed" and "list" in bad.error
    obj = reg.wait(reg.submit("obj", {}), timeout=T)
    assert obj.state == "failed" and "must be a dict, got TypedEvent" in obj.error
    assert reg.wait(reg.submit("q", {}), timeout=T).state == "done"
    assert len(reg.executor.worker_pids) == 1  # the same worker served them all


def test_a_runner_that_cannot_cross_the_boundary_is_a_message(registry):
    gate = threading.Event()
    reg = registry({"closure": lambda c, e, s: {"gate": gate.is_set()}})
    final = reg.wait(reg.submit("closure", {}), timeout=T)
    assert final.state == "failed" and "cannot be sent to a worker process" in final.error


def test_cancel_is_cooperative_and_keeps_the_partial_result(registry):
    reg = registry({"u": jr.until_stopped})
    job = reg.submit("u", {})
    while reg.status(job).n_events < 20:
        reg.wait(job, timeout=0.05)
    reg.cancel(job)
    final = reg.wait(job, timeout=T)
    assert final.state == "cancelled" and final.result["n"] >= 20
    assert final.n_events == final.result["n"]  # every event of the partial run arrived
    assert reg.store.load_run(final.run_id).status == "cancelled"


def test_cancel_of_a_job_stuck_in_a_long_call_ends_its_worker(registry):
    reg = registry({"stuck": jr.stuck, "q": jr.quick}, grace=1.0)
    job = reg.submit("stuck", {})
    while reg.status(job).n_events < 5:
        reg.wait(job, timeout=0.05)
    pids = reg.executor.worker_pids
    reg.cancel(job)
    final = reg.wait(job, timeout=T)
    assert final.state == "cancelled" and final.n_events == 5  # events kept
    assert final.elapsed_s < 30
    assert not set(pids) & set(reg.executor.worker_pids)  # that worker is gone
    run = reg.store.load_run(final.run_id)
    assert run.status == "cancelled" and len(run.events) == 5
    assert reg.wait(reg.submit("q", {}), timeout=T).state == "done"  # a fresh worker


@pytest.mark.parametrize("how, words", [
    ("exit", "exited unexpectedly with code 7"),
    ("sigkill", "SIGKILL"),
    ("segfault", "segmentation fault"),
])
def test_a_worker_that_dies_fails_its_job_only(registry, how, words):
    reg = registry({"dies": jr.dies, "u": jr.until_stopped})
    other = reg.submit("u", {}, device="cuda:1")  # another job, running beside it
    final = reg.wait(reg.submit("dies", {"how": how}), timeout=T)
    assert final.state == "failed" and words in final.error and "kept" in final.error
    assert final.n_events == 5  # what arrived before the death stays
    run = reg.store.load_run(final.run_id)
    assert run.status == "failed" and words in run.error and len(run.events) == 5
    assert reg.status(other).state == "running"  # untouched
    reg.cancel(other)
    assert reg.wait(other, timeout=T).state == "cancelled"


def test_cpu_jobs_leave_a_core_to_the_server(registry):
    reg = registry({"t": jr.torch_threads})
    final = reg.wait(reg.submit("t", {}, device="cpu"), timeout=T)
    assert final.state == "done" and final.result["threads"] == cpu_threads()


def test_jobs_on_different_devices_run_in_parallel_workers(registry, tmp_path):
    reg = registry({"w": jr.wait_for_file}, max_idle=2)
    marks = [str(tmp_path / f"m{i}") for i in range(2)]
    ids = [reg.submit("w", {"mine": m, "all": marks}, device=d)
           for m, d in zip(marks, ("cpu", "cuda:0"), strict=True)]
    finals = [reg.wait(i, timeout=T) for i in ids]
    assert [f.state for f in finals] == ["done", "done"], [f.error for f in finals]
    assert finals[0].result["pid"] != finals[1].result["pid"]


def test_describe_exit():
    assert "memory" in describe_exit(-9)
    assert describe_exit(3) == "exited unexpectedly with code 3"
    assert "SIGTERM" in describe_exit(-15)


def test_a_parallel_job_runs_its_members_on_free_devices_at_once(registry, tmp_path):
    reg = registry({"p": jr.members_in_turn}, parallel={"p": jr.parallel_plan()},
                   devices=["cuda:0", "cuda:1", "cpu"], max_idle=2)
    final = reg.wait(reg.submit("p", {"n": 2, "dir": str(tmp_path)}, device="cuda:0"), timeout=T)
    assert final.state == "done", final.error
    assert final.result["devices"] == ["cuda:0", "cuda:1"]  # both GPUs, not the CPU
    assert len(set(final.result["pids"])) == 2 and final.progress == 1.0
    # on a single device the job runs whole, its members one after another
    alone = reg.wait(reg.submit("p", {"n": 2, "dir": str(tmp_path)}, device="cpu"), timeout=T)
    assert alone.result == {"whole": True, "n": 2}


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux-only")
def test_a_worker_runs_below_the_server_so_the_page_answers_first(registry, monkeypatch):
    for name in ("CLR_STUDIO_WORKER_NICE", "CLR_STUDIO_WORKER_IDLE"):  # the defaults
        monkeypatch.delenv(name)
    reg = registry({"sched": jr.scheduling})
    job = reg.wait(reg.submit("sched", {}), timeout=T)
    assert job.state == "done"
    assert job.result["policy"] == os.SCHED_IDLE
    assert job.result["nice"] > os.nice(0)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux-only")
def test_the_workers_priority_is_the_operators_setting(registry, monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_WORKER_NICE", "3")
    monkeypatch.setenv("CLR_STUDIO_WORKER_IDLE", "0")
    reg = registry({"sched": jr.scheduling})
    job = reg.wait(reg.submit("sched", {}), timeout=T)
    assert job.state == "done"
    assert job.result["policy"] == os.SCHED_OTHER
    assert job.result["nice"] == min(19, os.nice(0) + 3)


def test_a_bad_worker_setting_is_the_servers_error_before_any_worker_starts(monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_WORKER_NICE", "abc")
    with pytest.raises(SettingsError, match=r"CLR_STUDIO_WORKER_NICE='abc'.*from 0 to 19"):
        ProcessExecutor(preload=())


@pytest.mark.parametrize("made_by_python", [False, True])
def test_a_host_made_main_script_is_not_rerun_in_the_worker(registry, tmp_path, monkeypatch,
                                                             made_by_python):
    """Streamlit runs each page as a ``__main__`` module it made (no loader): spawn would
    re-run app.py in every worker. A script Python itself ran is still imported, as
    multiprocessing documents (runners defined in it keep working)."""
    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'a').write(__name__)\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    if made_by_python:
        main.__loader__ = SourceFileLoader("__main__", str(script))
    monkeypatch.setitem(sys.modules, "__main__", main)
    reg = registry({"q": jr.quick})
    assert reg.wait(reg.submit("q", {}), timeout=T).state == "done"
    assert sys.modules["__main__"] is main  # put back after the start
    assert marker.exists() == made_by_python
    if made_by_python:
        assert marker.read_text() == "__mp_main__"
