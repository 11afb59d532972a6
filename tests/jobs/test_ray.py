"""The Ray executor against a real cluster this module starts on 127.0.0.1 with `ray start`
(a head and a second node, one CPU each, token authentication on): jobs and sweeps run on
it, a sweep's members on both nodes, cancel, a wrong token and a dead address said in one
line, and the head killed mid-job: the registry lives on, the jobs fail with the
message and are failed in the store, the next job says why it cannot run, and once the
head is back the next one runs (then the cluster is made whole again for the others)."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import job_runners as jr
import pytest
from ray_cluster import LocalCluster, free_block

from clr_core.errors import JobError
from clr_core.jobs.executors import ray_connect as rc
from clr_core.jobs.executors.ray import RayExecutor
from clr_core.jobs.registry import JobRegistry
from clr_core.jobs.runners import PARALLEL, RUNNERS
from clr_core.runs.store import RunStore

# one worker runs this file (pytest-xdist --dist loadgroup): its module fixtures start once
pytestmark = pytest.mark.xdist_group("ray")

T = 120.0  # Ray workers start slowly on a loaded 2-core machine


@contextlib.contextmanager
def two_node_cluster() -> Iterator[LocalCluster]:
    """A head and a second node on 127.0.0.1, stopped after."""
    c = LocalCluster()
    try:
        c.start_head().wait_started()
        c.add_node().wait_started()
        yield c
    finally:
        c.stop()


@contextlib.contextmanager
def executor_of(cluster: LocalCluster) -> Iterator[RayExecutor]:
    # RAY_AUTH_MODE is unset here: the bridge turns token mode on because a token is set.
    ex = RayExecutor(address=cluster.address, cancel_grace_s=2.0, batch_s=0.05,
                     env={"RAY_AUTH_TOKEN": cluster.token})
    try:
        yield ex
    finally:
        ex.close()


@pytest.fixture(scope="module")
def cluster():
    with two_node_cluster() as c:
        yield c


@pytest.fixture(scope="module")
def executor(cluster):
    with executor_of(cluster) as ex:
        yield ex


@pytest.fixture
def make(request, tmp_path):
    made = []

    def registry(runners, executor=None, **kw):
        executor = executor or request.getfixturevalue("executor")  # the cluster, if asked
        reg = JobRegistry(runners, executor=executor, store=RunStore(tmp_path / "runs.db"), **kw)
        made.append(reg)
        return reg

    yield registry
    for reg in made:
        for job in reg.list():
            reg.cancel(job.id)
        for job in reg.list():
            assert reg.wait(job.id, timeout=T).is_terminal


def test_the_connection_check_sees_both_nodes(executor):
    info = executor.check()
    assert info["nodes"] == 2 and info["cpus"] == 2.0 and info["ray_version"]


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


def test_a_worker_that_dies_fails_its_job_alone(make):
    reg = make({"dies": jr.dies, "q": jr.quick})
    died = reg.wait(reg.submit("dies", {"how": "exit"}), timeout=T)
    # (whether its events got out before it died depends on how soon its mailbox actor
    # started; the head-stopped test below holds that streamed events are kept)
    assert died.state == "failed" and died.run_id is not None
    assert died.error.startswith("The Ray worker running this job died (WorkerCrashedError")
    assert "\n" not in died.error
    assert reg.wait(reg.submit("q", {}), timeout=T).state == "done"  # the cluster goes on


def test_a_sweeps_members_run_at_once_on_both_nodes(make, tmp_path):
    # each member finishes only once the other has started, and each node has one CPU
    reg = make({"p": jr.members_in_turn}, parallel={"p": jr.node_plan()})
    final = reg.wait(reg.submit("p", {"n": 2, "dir": str(tmp_path)}), timeout=T)
    assert final.state == "done", final.error
    assert len(set(final.result["nodes"])) == 2 and final.result["cancelled"] is False


def test_the_engines_sweep_on_the_cluster(make):
    reg = make(RUNNERS, parallel=PARALLEL)
    config = {"base": {"num_iter": 12, "device": "cpu"}, "param": "weight_decay",
              "values": [0.0, 1e-3]}
    final = reg.wait(reg.submit("sweep", config, label="ray sweep"), timeout=T)
    assert final.state == "done", final.error
    curves = final.result["curves"]
    assert [c["value"] for c in curves] == [0.0, 1e-3]
    assert all(len(c["range_test"]["lrs"]) == 12 for c in curves)
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


def test_a_wrong_token_is_one_line(cluster):
    ex = RayExecutor(address=cluster.address, env={"RAY_AUTH_TOKEN": "0" * 32})
    with pytest.raises(JobError) as e:
        ex.check()
    assert f"The Ray cluster at {cluster.address} refused our token" in str(e.value)
    assert "RAY_AUTH_TOKEN" in str(e.value) and "\n" not in str(e.value)
    ex.close()


def _client_executor(cluster) -> RayExecutor:
    return RayExecutor(address=cluster.client_address, batch_s=0.05, connect_timeout_s=120,
                       env={"RAY_AUTH_TOKEN": cluster.token, "RAY_AUTH_MODE": "token"})


def test_the_ray_client_form(cluster, make):
    # The client server starts a Python process per connection; on a 2-core machine whose
    # other core runs another test worker, that process now and then never answers the
    # first connection (its message says so, in one line). A second connection, as a user
    # would make it, must work.
    ex = _client_executor(cluster)
    try:
        try:
            info = ex.check()
        except JobError as first:
            assert "did not finish connecting" in str(first), first
            ex.close()
            ex = _client_executor(cluster)
            info = ex.check()
        assert info["nodes"] == 2
        reg = make({"q": jr.quick}, executor=ex)
        final = reg.wait(reg.submit("q", {"n": 10}), timeout=T)
        assert final.state == "done", final.error
        assert [e["iteration"] for e in reg.events(final.id)[0]] == list(range(10))
    finally:
        ex.close()


def test_a_dead_address_fails_the_job_in_one_line_and_is_not_retried_at_once(make):
    dead = f"127.0.0.1:{free_block(1)}"
    reg = make({"q": jr.quick}, executor=RayExecutor(address=dead, retry_after_s=60))
    first = reg.wait(reg.submit("q", {}), timeout=30)
    assert first.state == "failed"
    assert first.error.startswith(f"Nothing answers at {dead} (connection refused)")
    assert reg.store.load_run(first.run_id).status == "failed"
    again = reg.wait(reg.submit("q", {}), timeout=30)
    assert again.error == first.error
    sweep = make({"e": jr.members_in_turn}, executor=RayExecutor(address=dead),
                 parallel={"e": jr.endless_plan()})
    failed = sweep.wait(sweep.submit("e", {"n": 2}), timeout=30)
    assert failed.error == first.error  # said once for the job, not once per member


def test_an_address_that_accepts_but_never_answers_is_said_in_time():
    with socket.socket() as silent:  # listens, never speaks: a wrong port, a stuck head
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(JobError, match=f"The Ray cluster at {address} did not finish "
                                           "connecting within 3 s"):
            RayExecutor(address=address, connect_timeout_s=3).check()


@pytest.mark.parametrize(("raw", "said"), [
    ("no-such-host.invalid:6379", "unknown host 'no-such-host.invalid'"),
    ("127.0.0.1", "has no port"),
    ("http://127.0.0.1:8265", "not an address Ray takes"),
])
def test_addresses_that_cannot_work_are_one_line(raw, said):
    with pytest.raises(JobError, match=said):
        RayExecutor(address=raw).check()


def test_address_forms_and_messages():
    assert rc.parse_address("ray://head:10001") == rc.RayAddress("ray://head:10001", "head",
                                                                 10001, True)
    assert rc.parse_address("ray://head").port == rc.CLIENT_PORT
    assert rc.parse_address("10.0.0.5:6379") == rc.RayAddress("10.0.0.5:6379", "10.0.0.5", 6379)
    assert rc.parse_address(None).local and rc.parse_address("auto").auto
    assert rc.version_problem({"ray_version": "2.60.0", "python_version": "3.11.7"},
                              "2.60.0", "3.11.7") is None
    said = rc.version_problem({"ray_version": "2.50.0", "python_version": "3.12.1"},
                              "2.60.0", "3.11.7")
    assert "Ray 2.50.0 on Python 3.12.1" in said and "Ray 2.60.0 on Python 3.11.7" in said
    assert rc.version_problem({"ray_version": "2.60.0", "python_version": "3.11.9"},
                              "2.60.0", "3.11.7", "minor") is None
    one = rc.cluster_lost(rc.parse_address("h:1"), "no answer for 4 s", 1)
    assert "stopped answering (no answer for 4 s); 1 job failed, its curve is kept" in one
    assert "3 jobs failed, their curves are kept" in rc.cluster_lost(
        rc.parse_address("h:1"), "x", 3)


@pytest.fixture
def listening():
    """Something that accepts TCP connections, so the bridge's probe passes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield f"ray://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("failures, connects", [(1, True), (2, False)])
def test_a_client_connection_the_head_aborts_is_tried_once_more(listening, monkeypatch,
                                                                failures, connects):
    import ray

    from clr_core.jobs.executors import ray_bridge

    tries = []

    def init(**kw):
        tries.append(kw["address"])
        if len(tries) <= failures:
            raise ConnectionAbortedError("Initialization failure from server:\nTraceback (most "
                                         "recent call last):\nRuntimeError: Proxy failed")

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})
    monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True}])
    bridge = ray_bridge._Bridge(None, {"address": listening})
    if connects:
        assert bridge.connect()["cpus"] == 2.0
    else:
        with pytest.raises(ray_bridge._Refused, match="RuntimeError: Proxy failed"):
            bridge.connect()
    assert tries == [listening] * 2


def test_a_failure_carrying_the_servers_traceback_says_its_reason():
    # the Ray client's own wording: an empty first line's remainder, then the head's traceback
    error = ConnectionAbortedError(
        "Initialization failure from server:\nTraceback (most recent call last):\n"
        '  File "proxier.py", line 780, in Datapath\n    raise RuntimeError(\n'
        "RuntimeError: Proxy failed to Connect to backend! Check `ray_client_server.err`\n")
    said = rc.connect_failed(rc.parse_address("ray://h:10001"), error)
    assert said == ("Could not connect to the Ray cluster at ray://h:10001: "
                    "ConnectionAbortedError: Initialization failure from server: "
                    "RuntimeError: Proxy failed to Connect to backend! Check "
                    "`ray_client_server.err`")
    plain = rc.connect_failed(rc.parse_address("h:1"), OSError("no route\nmore detail"))
    assert plain == "Could not connect to the Ray cluster at h:1: OSError: no route"


def test_the_cli_checks_the_cluster(cluster, monkeypatch, capsys):
    from clr_core.cli import main

    monkeypatch.setenv("RAY_AUTH_TOKEN", cluster.token)
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    assert main(["ray-check"]) == 0
    assert f"Ray cluster at {cluster.address}: 2 node(s), 2 CPUs" in capsys.readouterr().out
    dead = f"127.0.0.1:{free_block(1)}"
    assert main(["ray-check", "--address", dead]) == 1  # a failed check, not bad usage
    err = capsys.readouterr().err
    assert err.startswith(f"error: Nothing answers at {dead}") and err.count("\n") == 1


@pytest.fixture
def doomed(cluster, executor):
    """The module's cluster and executor, for the test that kills the head and makes the
    cluster whole again (a second cluster and executor for this test alone cost two nodes
    and a bridge started and stopped). Whatever order the tests run in (pytest-randomly
    shuffles them), the others find two nodes; if the test stopped halfway, they are put
    back here."""
    yield cluster, executor
    if cluster.nodes[0].proc.poll() is not None:  # stopped between the kill and its restore
        cluster.restore()


def test_the_head_stopped_mid_job(doomed, make):
    """The head of the cluster is killed mid-job."""
    cluster, executor = doomed
    reg = make({"u": jr.until_stopped, "e": jr.members_in_turn},
               parallel={"e": jr.endless_plan()}, executor=executor)
    plain = reg.submit("u", {})
    sweep = reg.submit("e", {"n": 1})
    for job in (plain, sweep):
        while reg.status(job).n_events < 10:
            reg.wait(job, timeout=0.1)
    seen = {job: reg.status(job).n_events for job in (plain, sweep)}
    cluster.nodes[0].kill()  # the head: GCS, raylet and its workers
    for job in (plain, sweep):
        final = reg.wait(job, timeout=60)
        assert final.state == "failed"
        assert final.error.startswith(f"The Ray cluster at {cluster.address} stopped answering")
        assert "2 jobs failed, their curves are kept" in final.error
        assert final.n_events >= seen[job]  # what streamed before stays
        row = reg.store.load_run(final.run_id)
        assert row.status == "failed" and row.error == final.error
        events, _ = reg.events(job)
        assert len(events) == final.n_events
    # the registry and this process go on; the next job says why it cannot run, at once
    started = time.monotonic()
    nxt = reg.wait(reg.submit("u", {}), timeout=30)
    assert nxt.state == "failed" and "connection refused" in nxt.error, nxt.error
    print(json.dumps({"next job refused after s": round(time.monotonic() - started, 2)}))
    with pytest.raises(JobError):
        executor.check()
    # and once the head is back (a new second node beside it: the old one stays the old
    # head's), the executor connects again and the next job runs
    cluster.restore()
    assert executor.check()["nodes"] == 2
    back = reg.submit("u", {})
    while reg.status(back).n_events < 3:  # its events stream from the new head
        assert not reg.wait(back, timeout=0.1).is_terminal, reg.status(back).error
    reg.cancel(back)
    assert reg.wait(back, timeout=T).state == "cancelled"
