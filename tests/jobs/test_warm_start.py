"""Issue 32, the first range test after a server start: the job worker starts with the
first page (``EarlyExecutor``, ``ui.jobs.warm_up``) and the registry made later takes it,
and a worker imports its preload in the normal scheduling class, its jobs in the idle one."""

from __future__ import annotations

import os
import subprocess
import sys

import job_runners as jr
import pytest
from apptest_helpers import APP
from streamlit.testing.v1 import AppTest

from clr_core.jobs.executors.choose import EarlyExecutor
from clr_core.jobs.executors.process import ProcessExecutor
from clr_core.jobs.registry import JobRegistry

T = 60.0


def _light(name: str) -> ProcessExecutor:
    assert name == "process"
    return ProcessExecutor(preload=())


def test_the_early_executor_starts_one_worker_once_and_is_handed_over_once(monkeypatch):
    monkeypatch.delenv("CLR_STUDIO_EXECUTOR", raising=False)
    early = EarlyExecutor(_light)
    assert early.executor is None  # nothing before start
    made = early.start()
    assert made is not None and len(made.worker_pids) == 1  # the warm worker, started now
    assert early.start() is made and len(made.worker_pids) == 1  # every page's run: no new one
    reg = JobRegistry({"q": jr.quick}, executor=early.take())
    try:
        assert reg.executor is made and early.take() is None and early.start() is None
        warm = made.worker_pids
        job = reg.wait(reg.submit("q", {}), timeout=T)
        assert job.state == "done" and [job.result["pid"]] == warm  # ran on the early worker
    finally:
        assert reg.shutdown(timeout=T)
    assert not made.worker_pids


def test_only_the_process_executor_is_started_ahead(monkeypatch):
    made = []
    monkeypatch.setenv("CLR_STUDIO_EXECUTOR", "thread")
    early = EarlyExecutor(lambda name: made.append(name))
    assert early.start() is None and early.take() is None and made == []


def test_an_early_worker_the_settings_no_longer_name_is_closed_not_handed_over(monkeypatch):
    monkeypatch.delenv("CLR_STUDIO_EXECUTOR", raising=False)
    early = EarlyExecutor(_light)
    made = early.start()
    assert made.worker_pids
    monkeypatch.setenv("CLR_STUDIO_EXECUTOR", "thread")
    assert early.take() is None
    assert not made.worker_pids  # its worker is gone, not idling for nothing


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux-only")
def test_a_worker_preloads_in_the_normal_class_and_runs_jobs_in_the_idle_one(monkeypatch):
    """The preload is what the first Start waits for: in the idle class one busy process
    on the machine held it back (issue 32); the job itself still yields to everyone."""
    for name in ("CLR_STUDIO_WORKER_NICE", "CLR_STUDIO_WORKER_IDLE"):  # the defaults
        monkeypatch.delenv(name)
    reg = JobRegistry({"sched": jr.scheduling},
                      executor=ProcessExecutor(preload=("job_runners",)))
    try:
        job = reg.wait(reg.submit("sched", {}), timeout=T)
    finally:
        assert reg.shutdown(timeout=T)
    assert job.state == "done"
    assert job.result["import_policy"] == os.SCHED_OTHER
    assert job.result["policy"] == os.SCHED_IDLE
    assert job.result["nice"] > os.nice(0)


def test_the_first_page_starts_the_job_worker():
    """app.py starts the worker on the first page (the designer, which runs no job): the
    registry made when a job page opens takes it (the test above), so the first range
    test does not wait for a worker to import torch."""
    from ui import jobs

    jobs._early_executor.clear()  # a fresh server process: nothing started yet
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    early = jobs._early_executor().executor
    try:
        assert early is not None and early.name == "process" and len(early.worker_pids) == 1
        pids = early.worker_pids
        at.run()  # every later run: the same worker, no second
        assert jobs._early_executor().executor is early and early.worker_pids == pids
    finally:
        taken = jobs._early_executor().take()
        if taken is not None:
            taken.close()
        jobs._early_executor.clear()


SPAWN_AFTER_APPTEST = """
import multiprocessing as mp, sys, time
from streamlit.testing.v1 import AppTest
if __name__ == "__main__":
    AppTest.from_file(sys.argv[1], default_timeout=60).run()
    assert sys.modules["__main__"].__file__ == sys.argv[1]  # AppTest left app.py as __main__
    child = mp.get_context("spawn").Process(target=time.sleep, args=(0,))
    child.start()
    child.join(60)
    sys.exit(child.exitcode)
"""


def test_a_spawn_child_of_a_process_that_ran_app_py_starts(tmp_path):
    """A ``spawn`` child re-runs the parent's ``__main__`` file as ``__mp_main__``: after an
    AppTest (or in the server) that is app.py, and its warm-up must not start a worker
    while the child bootstraps (multiprocessing ends such a child with exit code 1)."""
    script = tmp_path / "spawn_after_apptest.py"
    script.write_text(SPAWN_AFTER_APPTEST)
    env = {**os.environ, "CLR_STUDIO_DB": str(tmp_path / "runs.db"),
           "PYTHONPATH": os.pathsep.join([os.path.dirname(APP), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(script), APP], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
