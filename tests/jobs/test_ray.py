"""The Ray executor against a local Ray started here (two CPUs, no dashboard): a job as a
Ray task, a sweep whose members run in parallel, cancel (polite and forced), failures."""

from __future__ import annotations

import job_runners as jr
import pytest
import ray

from clr_core.jobs.executors.ray import RayExecutor, local_runtime_env
from clr_core.jobs.registry import JobRegistry
from clr_core.jobs.runners import PARALLEL, RUNNERS
from clr_core.runs.store import RunStore

T = 120.0  # Ray workers start slowly on a loaded 2-core machine


@pytest.fixture(scope="module")
def executor():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env=local_runtime_env())
    try:
        yield RayExecutor(cancel_grace_s=2.0, batch_s=0.05)
    finally:
        ray.shutdown()


@pytest.fixture
def make(executor, tmp_path):
    made = []

    def registry(runners, **kw):
        reg = JobRegistry(runners, executor=executor, store=RunStore(tmp_path / "runs.db"), **kw)
        made.append(reg)
        return reg

    yield registry
    for reg in made:
        assert reg.shutdown(timeout=T)


def test_a_job_is_a_ray_task_streaming_its_events(make):
    reg = make({"q": jr.quick, "boom": jr.raises})
    final = reg.wait(reg.submit("q", {"n": 30}), timeout=T)
    assert final.state == "done" and final.result["n"] == 30
    events, _ = reg.events(final.id)
    assert [e["iteration"] for e in events] == list(range(30))
    assert reg.store.load_run(final.run_id).status == "done"
    boom = reg.wait(reg.submit("boom", {}), timeout=T)
    assert boom.state == "failed" and "loss is NaN at iteration 3" in boom.error
    assert "Traceback" not in boom.error


def test_a_sweeps_members_run_as_parallel_ray_tasks(make, tmp_path):
    # each member finishes only once the other has started: they must run at the same time
    reg = make({"p": jr.members_in_turn}, parallel={"p": jr.parallel_plan()})
    final = reg.wait(reg.submit("p", {"n": 2, "dir": str(tmp_path)}), timeout=T)
    assert final.state == "done", final.error
    assert len(set(final.result["pids"])) == 2 and final.result["cancelled"] is False


def test_the_engines_sweep_on_ray(make):
    reg = make(RUNNERS, parallel=PARALLEL)
    config = {"base": {"num_iter": 20, "device": "cpu"}, "param": "weight_decay",
              "values": [0.0, 1e-3]}
    final = reg.wait(reg.submit("sweep", config, label="ray sweep"), timeout=T)
    assert final.state == "done", final.error
    curves = final.result["curves"]
    assert [c["value"] for c in curves] == [0.0, 1e-3]
    assert all(len(c["range_test"]["lrs"]) == 20 for c in curves)
    events, _ = reg.events(final.id)
    assert {e["curve"] for e in events} == {"weight_decay=0", "weight_decay=0.001"}


def test_cancel_is_polite_then_ray_cancel(make):
    reg = make({"u": jr.until_stopped, "stuck": jr.stuck})
    job = reg.submit("u", {})
    while reg.status(job).n_events < 10:
        reg.wait(job, timeout=0.1)
    reg.cancel(job)
    final = reg.wait(job, timeout=T)
    assert final.state == "cancelled" and final.result["n"] >= 10  # the partial result
    stuck = reg.submit("stuck", {})
    while reg.status(stuck).n_events < 5:
        reg.wait(stuck, timeout=0.1)
    reg.cancel(stuck)
    final = reg.wait(stuck, timeout=T)
    assert final.state == "cancelled" and final.n_events == 5 and final.result is None
