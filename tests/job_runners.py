"""Runners for the worker-process tests. They must live in an importable module (not a
test's closure): a worker process imports its runner by name."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from dataclasses import asdict, dataclass

from clr_core.jobs.executors.base import ParallelPlan

#: The scheduling class this module was imported in: a worker that preloads it, its preload's.
IMPORT_POLICY = os.sched_getscheduler(0) if hasattr(os, "sched_getscheduler") else None


@dataclass(frozen=True)
class TypedEvent:
    """An event as a dataclass, as the engine's typed events are: it crosses as its dict."""

    kind: str
    iteration: int

    def to_dict(self) -> dict:
        return asdict(self)


def quick(config, emit, should_stop):
    n = config.get("n", 3)
    for i in range(n):
        emit({"kind": "train", "iteration": i}, (i + 1) / n)
    return {"n": n, "pid": os.getpid()}


def typed(config, emit, should_stop):
    """Converted once, on the runner's side, as the engine's runners do."""
    for i in range(3):
        emit(TypedEvent("point", i).to_dict())
    return {"n": 3}


def emits_an_object(config, emit, should_stop):
    """A typed event emitted as it is: refused, since only dicts cross."""
    emit(TypedEvent("point", 0))
    return {"n": 1}


def until_stopped(config, emit, should_stop):
    """Cooperative: one event per 'batch' until asked to stop, then the partial result."""
    n = 0
    while not should_stop():
        emit({"kind": "point", "iteration": n}, min(n / 1e6, 1.0))
        n += 1
        time.sleep(0.002)
    return {"n": n, "losses": [0.0] * n}


def stuck(config, emit, should_stop):
    """A runner inside one long call that never looks at should_stop."""
    for i in range(5):
        emit({"kind": "point", "iteration": i})
    time.sleep(600)
    return {}


def dies(config, emit, should_stop):
    """Sends some events, waits until they are out, then dies as asked."""
    for i in range(5):
        emit({"kind": "point", "iteration": i})
    time.sleep(0.5)  # more than one batch interval: the events reach the server
    how = config["how"]
    if how == "exit":
        os._exit(7)
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "segfault":
        ctypes.string_at(0)
    raise AssertionError(how)


def raises(config, emit, should_stop):
    emit({"kind": "log", "message": "about to fail"})
    raise ValueError("loss is NaN at iteration 3")


def not_a_dict(config, emit, should_stop):
    return [1, 2]


def torch_threads(config, emit, should_stop):
    import torch

    return {"threads": torch.get_num_threads(), "pid": os.getpid()}


def wait_for_file(config, emit, should_stop):
    """Writes its own marker, then waits until every marker in ``config['all']`` exists:
    only jobs that run at the same time can all finish."""
    open(config["mine"], "w").close()
    deadline = time.monotonic() + config.get("timeout", 60)
    while not all(os.path.exists(p) for p in config["all"]):
        if time.monotonic() > deadline or should_stop():
            raise TimeoutError("the other jobs never ran beside this one")
        time.sleep(0.05)
    emit({"kind": "log", "message": "met"})
    return {"met": True, "pid": os.getpid()}


def meet_members(config):
    """Members of a 'parallel' job that only finish when they all run at once."""
    marks = [os.path.join(config["dir"], f"m{i}") for i in range(config["n"])]
    return [{"label": f"m{i}", "mine": m, "all": marks} for i, m in enumerate(marks)]


def combine_met(config, results, *, cancelled):
    return {"pids": sorted(r["pid"] for r in results), "devices": sorted(r["device"]
                                                                       for r in results),
            "cancelled": cancelled}


def place_member(member, device):
    return {**member, "device": device}


def met_on_device(config, emit, should_stop):
    out = wait_for_file(config, emit, should_stop)
    return {**out, "device": config["device"]}


def members_in_turn(config, emit, should_stop):
    """The same job run whole: members one after another (they never meet)."""
    return {"whole": True, "n": config["n"]}


def parallel_plan():
    return ParallelPlan(members=meet_members, run_member=met_on_device, combine=combine_met,
                        place=place_member)


def big(config, emit, should_stop):
    """A finished job the size of a long run's result (a 20,000-iteration curve)."""
    n = config.get("n", 20_000)
    for i in range(0, n, 1000):
        emit({"kind": "step", "iteration": i, "loss": 1.0})
    return {"losses": [float(i) for i in range(n)], "lrs": [1e-3] * n, "headline": "big"}


def torch_forever(config, emit, should_stop):
    """Stuck in tensor operations that never look at should_stop."""
    import torch

    emit({"kind": "step", "iteration": 0, "loss": 1.0})
    a = torch.rand(600, 600)
    while True:
        a = torch.tanh(a @ a)


def scheduling(config, emit, should_stop):
    """The worker's niceness and scheduling class, as the job sees them."""
    return {"nice": os.nice(0), "policy": os.sched_getscheduler(0), "import_policy": IMPORT_POLICY}


def on_node(config, emit, should_stop):
    """A member that meets the others (so they run at once) and says which Ray node ran it."""
    import ray  # only ever run as a Ray task

    out = wait_for_file(config, emit, should_stop)
    return {**out, "device": config["device"], "node": ray.get_runtime_context().get_node_id()}


def combine_nodes(config, results, *, cancelled):
    return {"nodes": sorted(r["node"] for r in results), "cancelled": cancelled}


def node_plan():
    return ParallelPlan(members=meet_members, run_member=on_node, combine=combine_nodes,
                        place=place_member)


def endless_members(config):
    return [{"label": f"e{i}"} for i in range(config.get("n", 1))]


def combine_all(config, results, *, cancelled):
    return {"results": results, "cancelled": cancelled}


def endless_plan():
    """A sweep whose members run until they are stopped."""
    return ParallelPlan(members=endless_members, run_member=until_stopped, combine=combine_all,
                        place=place_member)
