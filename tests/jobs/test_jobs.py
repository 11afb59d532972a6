"""JobRegistry: per-device queueing, concurrent event readers, cancel, failures, ETA,
thread lifetime, and saving to the run store. Runners are plain functions (no torch);
they synchronise with the test through threading primitives captured in closures."""

from __future__ import annotations

import logging
import queue
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clr_core.errors import JobError, StoreError
from clr_core.jobs.registry import JobRegistry
from clr_core.jobs.saving import JobSaver
from clr_core.jobs.state import Job, JobStatus
from clr_core.runs.store import RunStore

T = 10.0  # generous upper bound on any wait; tests finish far sooner


def job_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("clr-job-")]


def quick(config, emit, should_stop):
    for i in range(config.get("n", 3)):
        emit({"kind": "train", "iteration": i}, (i + 1) / config.get("n", 3))
    return {"n": config.get("n", 3), "headline": "quick"}


def gated(gate: threading.Event, started: threading.Event | None = None, log=None):
    """A runner that blocks until ``gate`` is set (a job that is 'busy')."""

    def run(config, emit, should_stop):
        if log is not None:
            log.append(("start", config["name"]))
        if started is not None:
            started.set()
        assert gate.wait(T), "gate never opened"
        if log is not None:
            log.append(("end", config["name"]))
        return {"name": config["name"]}

    return run


@pytest.fixture
def make_registry():
    made: list[JobRegistry] = []

    def make(runners, **kw) -> JobRegistry:
        reg = JobRegistry(runners, **{"executor": "thread", **kw})
        made.append(reg)
        return reg

    yield make
    for reg in made:
        assert reg.shutdown(timeout=T)


def test_same_device_jobs_queue_in_order(make_registry):
    gate, started, log = threading.Event(), threading.Event(), []
    reg = make_registry({"g": gated(gate, started, log)})
    ids = [reg.submit("g", {"name": n}) for n in ("a", "b", "c")]
    assert started.wait(T)
    assert [reg.status(i).state for i in ids] == ["running", "queued", "queued"]
    gate.set()
    finals = [reg.wait(i, timeout=T) for i in ids]
    assert [s.state for s in finals] == ["done"] * 3
    assert log == [("start", "a"), ("end", "a"), ("start", "b"), ("end", "b"),
                   ("start", "c"), ("end", "c")]
    assert finals[1].started >= finals[0].finished and finals[2].started >= finals[1].finished
    assert [s.result for s in finals] == [{"name": n} for n in "abc"]


def test_different_devices_run_concurrently(make_registry):
    barrier = threading.Barrier(2, timeout=T)

    def meet(config, emit, should_stop):
        barrier.wait()  # raises BrokenBarrierError unless both run at the same time
        return {}

    reg = make_registry({"m": meet})
    a = reg.submit("m", {}, device="cpu")
    b = reg.submit("m", {}, device="cuda:0")
    assert [reg.wait(i, timeout=T).state for i in (a, b)] == ["done", "done"]


def test_cuda_and_cuda_0_are_one_device(make_registry):
    gate, started, log = threading.Event(), threading.Event(), []
    reg = make_registry({"g": gated(gate, started, log)})
    a = reg.submit("g", {"name": "a"}, device="cuda")
    b = reg.submit("g", {"name": "b"}, device="cuda:0")
    assert started.wait(T)
    assert [reg.status(i).state for i in (a, b)] == ["running", "queued"]
    gate.set()
    assert [reg.wait(i, timeout=T).state for i in (a, b)] == ["done", "done"]


def test_max_running_per_device(make_registry):
    barrier = threading.Barrier(2, timeout=T)
    reg = make_registry({"m": lambda c, e, s: {"i": barrier.wait()}}, max_running_per_device=2)
    ids = [reg.submit("m", {}) for _ in range(2)]
    assert [reg.wait(i, timeout=T).state for i in ids] == ["done", "done"]
    with pytest.raises(JobError):
        JobRegistry({}, executor="thread", max_running_per_device=0)


def test_concurrent_readers_see_every_event_once_in_order(make_registry):
    n_events, go = 5000, threading.Event()

    def writer(config, emit, should_stop):
        go.wait(T)
        for i in range(n_events):
            emit({"kind": "point", "iteration": i}, (i + 1) / n_events)
        return {"n": n_events}

    reg = make_registry({"w": writer})
    job = reg.submit("w", {})
    seen: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def reader(k: int) -> None:
        got, offset = [], 0
        try:
            while True:
                finished = reg.status(job).is_terminal
                events, offset = reg.events(job, offset)
                got.extend(e["iteration"] for e in events)
                if finished and offset == reg.status(job).n_events:
                    break
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        seen[k] = got

    readers = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    for t in readers:
        t.start()
    go.set()
    for t in readers:
        t.join(T)
    assert not errors
    assert reg.wait(job, timeout=T).n_events == n_events
    for got in seen.values():
        assert got == list(range(n_events))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["emit", "read"]), st.integers(0, 7)), max_size=30))
def test_event_offsets_never_lose_or_repeat(make_registry, script):
    """Interleave batches of emits (in the worker) with reads (here): the reads' union is
    exactly what was emitted, offsets never go back, and each offset equals a count."""
    commands: queue.Queue = queue.Queue()

    def scripted(config, emit, should_stop):
        i = 0
        while (k := commands.get(timeout=T)) is not None:
            for _ in range(k):
                emit({"i": i})
                i += 1
        return {"n": i}

    reg = make_registry({"s": scripted})
    job = reg.submit("s", {})
    got, offset, emitted = [], 0, 0
    for op, k in script:
        if op == "emit":
            commands.put(k)
            emitted += k
        else:
            events, new = reg.events(job, offset)
            assert new >= offset and new - offset == len(events) and new <= emitted
            got.extend(e["i"] for e in events)
            offset = new
    commands.put(None)
    final = reg.wait(job, timeout=T)
    events, offset = reg.events(job, offset)
    got.extend(e["i"] for e in events)
    assert got == list(range(emitted)) and offset == emitted == final.n_events
    assert reg.events(job, offset) == ([], offset)
    with pytest.raises(JobError):
        reg.events(job, offset + 1)
    with pytest.raises(JobError):
        reg.events(job, -1)


def test_cancel_running_job_stops_within_one_batch(make_registry):
    permits, done_batches = threading.Semaphore(0), threading.Semaphore(0)

    def trainer(config, emit, should_stop):
        batches = 0
        while not should_stop():
            if not permits.acquire(timeout=T):
                raise TimeoutError("no permit")
            if should_stop():
                break
            batches += 1
            emit({"kind": "train", "iteration": batches}, batches / 100)
            done_batches.release()
        return {"batches": batches, "losses": [0.0] * batches}

    reg = make_registry({"t": trainer})
    job = reg.submit("t", {})
    for _ in range(3):
        permits.release()
        assert done_batches.acquire(timeout=T)
    assert reg.cancel(job) is True
    assert reg.cancel(job) is False  # already asked
    permits.release()  # the runner may start one more batch; it must notice the stop
    final = reg.wait(job, timeout=T)
    assert final.state == "cancelled"
    assert final.result == {"batches": 3, "losses": [0.0] * 3}  # partial result kept
    assert final.n_events == 3 and final.progress == pytest.approx(0.03)
    assert final.error is None and final.finished is not None
    assert reg.cancel(job) is False and reg.status(job).state == "cancelled"


def test_cancel_queued_job_never_runs(make_registry, tmp_path):
    gate, started, log = threading.Event(), threading.Event(), []
    store = RunStore(tmp_path / "runs.db")
    reg = make_registry({"g": gated(gate, started, log)}, store=store)
    a = reg.submit("g", {"name": "a"})
    b = reg.submit("g", {"name": "b"})
    assert started.wait(T)
    assert reg.cancel(b) is True
    s = reg.status(b)
    assert (s.state, s.started, s.result) == ("cancelled", None, None)
    assert s.finished is not None
    assert reg.wait(b, timeout=0).state == "cancelled"
    gate.set()
    assert reg.wait(a, timeout=T).state == "done"
    assert ("start", "b") not in log
    assert [r.label for r in store.list_runs()] == [None]  # only a, which ran, is saved
    assert reg.cancel(a) is False  # finished: no-op
    assert reg.status(a).state == "done"


def test_failing_runner(make_registry, caplog):
    def boom(config, emit, should_stop):
        emit({"kind": "log", "message": "about to fail"})
        raise ValueError("loss is NaN at iteration 3")

    reg = make_registry({"boom": boom, "bad": lambda c, e, s: [1, 2]})
    with caplog.at_level(logging.ERROR, logger="clr_core.jobs.registry"):
        final = reg.wait(reg.submit("boom", {}), timeout=T)
    assert final.state == "failed"
    assert final.error == "ValueError: loss is NaN at iteration 3"
    assert "Traceback" not in final.error and final.result is None and final.n_events == 1
    # the server log keeps the traceback the page leaves out
    assert any("failed" in r.getMessage() and "Traceback" in r.getMessage()
               and "loss is NaN" in r.getMessage() for r in caplog.records)

    bad = reg.wait(reg.submit("bad", {}), timeout=T)
    assert bad.state == "failed" and bad.error.startswith("TypeError:") and "list" in bad.error


def test_progress_and_eta(make_registry):
    at_half, gate, release = threading.Event(), threading.Event(), threading.Event()

    def half(config, emit, should_stop):
        assert release.wait(T)
        emit({"kind": "log", "message": "half"}, 0.5)
        at_half.set()
        assert gate.wait(T)
        return {}

    reg = make_registry({"h": half})
    job = reg.submit("h", {})
    s = reg.status(job)
    assert s.progress == 0.0 and s.eta_s is None  # not measurable yet
    release.set()
    assert at_half.wait(T)
    s = reg.status(job)
    assert s.state == "running" and s.progress == 0.5
    # progress 1/2 after `elapsed` seconds -> about `elapsed` seconds left.
    assert s.eta_s is not None and 0.0 <= s.eta_s <= s.elapsed_s + 0.5
    gate.set()
    final = reg.wait(job, timeout=T)
    assert final.progress == 1.0 and final.eta_s is None and final.elapsed_s >= 0


def test_progress_is_clamped_and_nan_ignored(make_registry):
    seen = []

    def odd(config, emit, should_stop):
        for p in (2.0, float("nan"), -1):
            emit(None, p)  # a progress-only update adds no event
            seen.append(reg.list()[0].progress)
        emit("not a dict")  # JobError inside the runner -> failed
        return {}

    reg = make_registry({"o": odd})
    final = reg.wait(reg.submit("o", {}), timeout=T)
    assert seen == [1.0, 1.0, 0.0] and final.n_events == 0
    assert final.state == "failed" and final.error.startswith("JobError:")


def test_no_thread_outlives_its_job(make_registry):
    before = {t.ident for t in job_threads()}
    # another test's save retry may still be backing off (tests run in a random order)
    earlier = {t.ident for t in threading.enumerate() if t.name.startswith("clr-")}
    gate = threading.Event()
    reg = make_registry({"q": quick, "g": gated(gate)})
    ids = [reg.submit("q", {"n": 5}, device=d) for d in ("cpu", "cpu", "cuda:0")]
    ids.append(reg.submit("g", {"name": "x"}, device="mps"))
    gate.set()
    for i in ids:
        assert reg.wait(i, timeout=T).state == "done"
    assert {t.ident for t in job_threads()} <= before
    # Idle registry: no dispatcher or poller thread left behind either.
    assert not [t for t in threading.enumerate()
                if t.name.startswith("clr-") and t.ident not in earlier]


def test_runner_gets_its_own_copy_of_config(make_registry):
    def mutate(config, emit, should_stop):
        config["lr"] = 999
        return {}

    reg = make_registry({"m": mutate})
    config = {"lr": 0.1, "sweep": [1, 2]}
    job = reg.submit("m", config)
    config["sweep"].append(3)  # the caller's later edits don't leak in either
    final = reg.wait(job, timeout=T)
    assert final.config == {"lr": 0.1, "sweep": [1, 2]}


def test_unknown_kind_and_ids(make_registry):
    reg = make_registry({"q": quick})
    with pytest.raises(JobError, match="unknown job kind 'nope'"):
        reg.submit("nope", {})
    for call in (reg.status, reg.events, reg.cancel, reg.wait, reg.forget):
        with pytest.raises(JobError, match="unknown job id"):
            call("missing")


def test_list_newest_first_owner_filter_and_forget(make_registry):
    gate = threading.Event()
    reg = make_registry({"q": quick, "g": gated(gate)})
    a = reg.submit("q", {}, owner="alice", label="A")
    b = reg.submit("q", {}, owner="bob")
    c = reg.submit("g", {"name": "c"}, owner="alice", device="cuda")
    assert [s.id for s in reg.list()] == [c, b, a]
    assert [s.id for s in reg.list(owner="alice")] == [c, a]
    assert all(isinstance(s, JobStatus) for s in reg.list())
    assert reg.status(a).label == "A" and reg.status(c).device == "cuda:0"  # one name per GPU
    with pytest.raises(JobError, match="cancel it"):
        reg.forget(c)
    gate.set()
    reg.wait(a, timeout=T)
    reg.forget(a)
    with pytest.raises(JobError):
        reg.status(a)
    assert reg.wait(c, timeout=T).state == "done"


def test_wait_timeout_returns_current_status(make_registry):
    gate = threading.Event()
    reg = make_registry({"g": gated(gate)})
    job = reg.submit("g", {"name": "x"})
    s = reg.wait(job, timeout=0.01)
    assert not s.is_terminal and s.state in ("queued", "running")
    gate.set()
    assert reg.wait(job, timeout=T).is_terminal


def test_shutdown_cancels_everything_and_joins(make_registry):
    def until_stopped(config, emit, should_stop):
        n = 0
        while not should_stop():
            n += 1
            emit({"i": n})
            time.sleep(0.001)
        return {"n": n}

    reg = make_registry({"u": until_stopped})
    running = reg.submit("u", {})
    queued = reg.submit("u", {})
    assert reg.shutdown(timeout=T) is True
    assert reg.status(running).state == "cancelled" and reg.status(running).result is not None
    assert reg.status(queued).state == "cancelled" and reg.status(queued).started is None
    assert not job_threads()
    with pytest.raises(JobError, match="shut down"):
        reg.submit("u", {})


def test_registry_saves_finished_cancelled_and_failed_jobs(make_registry, tmp_path):
    store = RunStore(tmp_path / "runs.db")
    stop_seen = threading.Event()

    def stoppable(config, emit, should_stop):
        emit({"kind": "point", "iteration": 0, "loss": float("nan")})
        while not should_stop():
            stop_seen.wait(0.005)
        return {"lrs": [0.1], "losses": [float("nan")]}

    def fail(config, emit, should_stop):
        raise RuntimeError("CUDA out of memory")

    reg = make_registry({"q": quick, "s": stoppable, "f": fail}, store=store,
                        save_events_limit=3)
    done = reg.wait(reg.submit("q", {"n": 3, "dataset": "mnist"}, label="quick one"), timeout=T)
    big = reg.wait(reg.submit("q", {"n": 4}), timeout=T)
    s_id = reg.submit("s", {"dataset": "cifar10"})
    reg.cancel(s_id)
    cancelled = reg.wait(s_id, timeout=T)
    failed = reg.wait(reg.submit("f", {}), timeout=T)

    run = store.load_run(done.run_id)
    assert (run.kind, run.status, run.label, run.dataset) == ("q", "done", "quick one", "mnist")
    assert run.result == done.result == {"n": 3, "headline": "quick"}
    assert run.headline == "quick"
    assert [e["iteration"] for e in run.events] == [0, 1, 2]
    assert store.load_run(big.run_id).events is None  # over save_events_limit: result only

    run = store.load_run(cancelled.run_id)
    assert run.status == "cancelled" and run.result["lrs"] == [0.1]
    assert run.events[0]["kind"] == "point"

    run = store.load_run(failed.run_id)
    assert run.status == "failed" and run.result is None
    assert run.error == "RuntimeError: CUDA out of memory"
    assert len(store.list_runs()) == 4
    assert all(not s.save_failed for s in (done, big, cancelled, failed))


class LockedStore(RunStore):
    """A real store whose writes fail while ``locked`` (another process holding the
    write lock past the busy timeout, a full or read-only disk)."""

    locked = False

    def _write(self):
        if self.locked:
            raise StoreError(f"run store {self.path}: database is locked")
        return super()._write()


def test_a_failed_save_keeps_the_result_says_why_and_is_retried(make_registry, tmp_path, caplog):
    store = LockedStore(tmp_path / "runs.db")
    store.locked = True
    reg = make_registry({"q": quick}, store=store)
    with caplog.at_level(logging.ERROR, logger="clr_core.jobs.registry"):
        final = reg.wait(reg.submit("q", {}), timeout=T)
    assert final.state == "done" and final.result["n"] == 3  # kept for the page
    assert final.run_id is None and final.save_failed and "database is locked" in final.save_error
    assert reg.retry_save(final.id) is False  # still locked
    store.locked = False
    assert reg.retry_save(final.id) is True
    saved = reg.status(final.id)
    assert not saved.save_failed and store.load_run(saved.run_id).result == {"n": 3,
                                                                            "headline": "quick"}
    assert saved.result == {"n": 3, "headline": "quick"}  # now read back from the store
    assert not job_threads()


def test_a_failed_save_is_retried_when_the_next_job_ends(make_registry, tmp_path):
    store = LockedStore(tmp_path / "runs.db")
    store.locked = True
    reg = make_registry({"q": quick}, store=store)
    first = reg.wait(reg.submit("q", {"n": 2}), timeout=T)
    assert first.save_failed
    store.locked = False
    second = reg.wait(reg.submit("q", {"n": 5}), timeout=T)
    assert not second.save_failed and not reg.status(first.id).save_failed
    assert sorted(store.load_run(r.id).result["n"] for r in store.list_runs()) == [2, 5]


def test_saved_jobs_leave_memory_and_are_read_back(make_registry, tmp_path):
    store = RunStore(tmp_path / "runs.db")
    reg = make_registry({"q": quick}, store=store, results_cached=1)
    a = reg.wait(reg.submit("q", {"n": 4}), timeout=T)
    b = reg.wait(reg.submit("q", {"n": 6}), timeout=T)
    jobs = reg._jobs  # white box: what the server holds
    assert all(j.result is None and j.events == [] for j in jobs.values())
    assert reg.status(a.id).result["n"] == 4 and reg.status(b.id).result["n"] == 6
    assert len(reg._saver._results) == 1  # a bounded cache, not every result
    events, offset = reg.events(a.id, 1)  # a reader that missed some reads them back
    assert [e["iteration"] for e in events] == [1, 2, 3] and offset == 4
    assert reg.events(a.id, 4) == ([], 4)
    store.delete_run(a.run_id)  # deleted on the Runs page: no result, no crash
    assert reg.status(a.id).result is None


def test_an_event_that_is_not_a_dict_fails_the_job_by_its_type(make_registry):
    class Typed:
        def to_dict(self):
            return {"kind": "point"}

    reg = make_registry({"typed": lambda c, emit, s: emit(Typed()) or {}})
    final = reg.wait(reg.submit("typed", {}), timeout=T)
    assert final.state == "failed" and "must be a dict, got Typed" in final.error


def a_job(lock, job_id: str, n: int) -> Job:
    """A finished job as the registry holds it, with ``n`` events and a result."""
    return Job(id=job_id, seq=0, kind="q", label=job_id, owner=None, device="cpu",
               config={"n": n}, runner=quick, cond=threading.Condition(lock), state="done",
               result={"n": n}, events=[{"kind": "point", "iteration": i} for i in range(n)],
               n_events=n)


def test_the_saver_alone_saves_releases_reads_back_and_retries(tmp_path):
    store = LockedStore(tmp_path / "runs.db")
    lock, jobs = threading.RLock(), {}
    saver = JobSaver(store, lock, jobs.values, events_limit=3, results_cached=1)
    small, big = a_job(lock, "small", 3), a_job(lock, "big", 5)
    jobs.update(small=small, big=big)

    saver.start(small)  # a running row, its events appended as they come
    saver.append_new_events(small)
    assert small.run_id is not None and small.n_stored == 3
    assert saver.save(small, "done") is True
    assert small.released and small.result is None and small.events == []  # memory freed
    assert small.loader() == {"n": 3} and saver.read_events(small.run_id, 1) == [
        {"kind": "point", "iteration": 1}, {"kind": "point", "iteration": 2}]

    store.locked = True  # a failed save keeps the result, says why, and is retried
    assert saver.save(big, "done") is False
    assert big.result == {"n": 5} and "database is locked" in big.save_error
    assert saver.retry(big) is False
    store.locked = False
    saver.retry_failed()
    assert big.save_error is None and big.released
    assert store.load_run(big.run_id).events is None  # over events_limit: the result only
    assert big.loader() == {"n": 5} and small.loader() == {"n": 3}  # one cached, one read
    assert saver.retry(big) is True  # already saved

    assert JobSaver(None, lock, jobs.values, events_limit=3, results_cached=1).save(
        a_job(lock, "unsaved", 1), "done") is False  # no store: nothing saved


def test_a_failed_jobs_message_names_the_data_root_not_its_path(make_registry, tmp_path,
                                                                 monkeypatch, caplog):
    """Issue 29: a failed job's message is stored and shown to every visitor; the server's
    folders in it are named by role there, and said in full only in the server's log."""
    data = tmp_path / "data"
    monkeypatch.setenv("CLR_STUDIO_DATA", str(data))
    store = RunStore(tmp_path / "store" / "runs.db")

    def missing(config, emit, should_stop):
        raise FileNotFoundError(f"Dataset not found at {data}/MNIST/raw; store {store.path}")

    reg = make_registry({"m": missing}, store=store)
    with caplog.at_level(logging.ERROR, logger="clr_core.jobs.registry"):
        failed = reg.wait(reg.submit("m", {"dataset": "mnist"}), timeout=T)
    want = "FileNotFoundError: Dataset not found at <data root>/MNIST/raw; store <run store>"
    assert failed.error == want
    assert store.load_run(failed.run_id).error == want
    assert any(f"{data}/MNIST/raw" in r.getMessage() for r in caplog.records)
