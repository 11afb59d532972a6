"""The Ray executor: every job, and every member of a sweep, is a Ray task, so a lab's
cluster runs range tests and sweeps in parallel on as many GPUs as it has.

Chosen with ``CLR_STUDIO_EXECUTOR=ray``; it connects to ``RAY_ADDRESS`` (``host:port`` or
``ray://host:10001``, see ``ray_connect``) or starts a private local Ray when unset. A
task asks for one GPU when its config's device is CUDA; Ray, not the registry, queues
tasks for devices.

The server never imports Ray: the driver lives in a bridge process (``ray_bridge``; the task's side is ``ray_task``) that
this executor starts at the first job and talks to over a pipe, so nothing Ray does (its
driver ending its process when the cluster goes away, ``ray.init`` blocking on an
address nobody answers) can end the server. Before the first job the bridge checks the
cluster in seconds (nothing listening, a token refused, other versions: one line each,
as the job's error). A bridge that reports its cluster lost, dies, or stops sending its
heartbeat fails the jobs it ran with "the Ray cluster at ... stopped answering" (their
events stay; the registry saves them as failed); the next job starts a new bridge.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from clr_core.errors import JobError
from clr_core.jobs.executors import ray_connect as rc
from clr_core.jobs.executors.base import Channel, Outcome, Task, run_members
from clr_core.jobs.executors.process import describe_exit
from clr_core.jobs.executors.ray_task import local_runtime_env

__all__ = ["RayExecutor", "local_runtime_env"]

logger = logging.getLogger(__name__)

_POLL_S = 0.1


def _start_bridge(settings: dict[str, Any]) -> tuple[subprocess.Popen, Connection]:
    """A fresh interpreter for the bridge, not a multiprocessing child: started from a
    Streamlit script thread, a spawned child would import the page being run as its
    ``__main__``. It gets this process's import path, and one end of a socket pair."""
    ours, theirs = socket.socketpair()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from clr_core.jobs.executors.ray_bridge import main; main()",
             str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
    finally:
        theirs.close()
    conn = Connection(ours.detach())
    conn.send(settings)
    return proc, conn


class _BridgeHandle:
    """The server's side of one bridge process: a reader thread hands each job's
    messages to its queue, and turns a silent or dead bridge into "lost"."""

    def __init__(self, address: rc.RayAddress, settings: dict[str, Any], timeout_s: float,
                 stall_s: float, on_lost: Any) -> None:
        self.address = address
        self._proc, self._conn = _start_bridge(settings)
        self._send_lock = threading.Lock()
        self._queues: dict[str, queue.Queue] = {}
        self._lock = threading.Lock()
        self._stall_s = float(stall_s)
        self._on_lost = on_lost
        self._closing = False
        self.alive = False
        self.info = self._handshake(timeout_s)
        self.alive = True
        self._seen = time.monotonic()
        threading.Thread(target=self._read, name="clr-ray-reader", daemon=True).start()

    def _handshake(self, timeout_s: float) -> dict[str, Any]:
        try:
            if not self._conn.poll(timeout_s):
                self.kill()
                raise JobError(rc.connect_timed_out(self.address, timeout_s))
            message = self._conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise JobError(f"Could not connect to the Ray cluster at {self.address}: its "
                           f"driver process {describe_exit(self._proc.poll())}.") from None
        if message[0] != "ready":
            self.kill()
            raise JobError(str(message[1]))
        return message[1]

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(5)
        with contextlib.suppress(OSError):
            self._conn.close()

    def send(self, message: tuple) -> None:
        with self._send_lock:
            self._conn.send(message)

    def _read(self) -> None:
        reason = None
        while reason is None:
            try:
                if not self._conn.poll(0.5):
                    if time.monotonic() - self._seen > self._stall_s:
                        reason = f"its driver sent nothing for {self._stall_s:.0f} s"
                    continue
                message = self._conn.recv()
            except (EOFError, OSError):
                if self._closing:
                    return
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(2)
                reason = f"its driver process {describe_exit(self._proc.poll())}"
                break
            self._seen = time.monotonic()
            if message[0] == "lost":
                reason = message[1]
            elif message[0] in ("events", "done"):
                with self._lock:
                    q = self._queues.get(message[1])
                if q is not None:
                    q.put(message)
        self._lose(reason)

    def _lose(self, reason: str) -> None:
        with self._lock:
            self.alive = False
            tids = list(self._queues)
        self.kill()
        jobs = {tid.split("/")[0] for tid in tids}
        message = rc.cluster_lost(self.address, reason, len(jobs))
        logger.error("%s", message)
        self._on_lost(jobs, message)
        for tid in tids:
            self._queues[tid].put(("lost", tid, message))

    def run(self, task: Task, channel: Channel, gpus: int) -> Outcome:
        q: queue.Queue = queue.Queue()
        with self._lock:
            if not self.alive:
                return Outcome(error=rc.cluster_lost(self.address, "before this job", 1))
            self._queues[task.job_id] = q
        try:
            try:
                self.send(("job", task.job_id, task.kind, task.runner, task.config,
                           task.threads, gpus))
            except (BrokenPipeError, EOFError, OSError):
                pass  # the bridge is gone: its reader is about to say so on this job's queue
            except Exception as e:  # the runner or config does not pickle
                return Outcome(error=f"the job cannot be sent to Ray: {type(e).__name__}: {e}")
            stop_sent = False
            while True:
                try:
                    message = q.get(timeout=_POLL_S)
                except queue.Empty:
                    if not stop_sent and channel.stop_requested():
                        stop_sent = True
                        with contextlib.suppress(Exception):
                            self.send(("stop", task.job_id))
                    continue
                if message[0] == "events":
                    channel.publish(message[2], message[3])
                elif message[0] == "done":
                    _, _, result, error, forced, notes = message
                    return Outcome(result=result, error=error, forced=forced, notes=notes)
                else:
                    return Outcome(error=message[2])
        finally:
            with self._lock:
                self._queues.pop(task.job_id, None)

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(Exception):
            self.send(("exit",))
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(5)
        with self._lock:
            self.alive = False
        self.kill()


class RayExecutor:
    """Runs jobs as Ray tasks through a bridge process; see the module doc.

    ``address``: default ``$RAY_ADDRESS``. ``connect_timeout_s``: the most a connection
    check takes before it says so. ``retry_after_s``: a refused connection is said again,
    without a new attempt, to jobs that start this soon after it. ``stall_s``: a bridge
    silent this long is taken for lost. ``env``: variables for the bridge (e.g.
    ``RAY_AUTH_TOKEN``); ``init``: more ``ray.init`` options.
    """

    name = "ray"
    #: Ray places tasks on devices itself: the registry does not queue per device.
    schedules_devices = True

    def __init__(self, *, address: str | None = None, cancel_grace_s: float = 5.0,
                 batch_s: float = 0.2, connect_timeout_s: float = 30.0,
                 retry_after_s: float = 2.0, stall_s: float = 15.0,
                 env: dict[str, str] | None = None, init: dict[str, Any] | None = None) -> None:
        self._raw_address = address if address is not None else os.environ.get("RAY_ADDRESS")
        self._settings = {"address": self._raw_address or "", "cancel_grace_s": cancel_grace_s,
                          "batch_s": batch_s, "env": dict(env or {}), "init": dict(init or {})}
        self._connect_timeout_s = float(connect_timeout_s)
        self._retry_after_s = float(retry_after_s)
        self._stall_s = float(stall_s)
        self._lock = threading.Lock()
        self._bridge: _BridgeHandle | None = None
        self._refused: tuple[float, str] | None = None
        self._lost: dict[str, str] = {}  # job id -> the message, under its own lock: a
        self._lost_lock = threading.Lock()  # connection in progress holds the other for long
        self._closed = False

    @property
    def address(self) -> str:
        return self._raw_address or ""

    def check(self) -> dict[str, Any]:
        """Connect now (or reuse the connection) and say what the cluster has: nodes,
        CPUs, GPUs, Ray version. A ``JobError`` with a one-line message when it cannot."""
        return self._connected().info

    def _connected(self) -> _BridgeHandle:
        with self._lock:
            if self._closed:
                raise JobError("the Ray executor is shut down")
            if self._bridge is not None and self._bridge.alive:
                return self._bridge
            if self._refused and time.monotonic() - self._refused[0] < self._retry_after_s:
                raise JobError(self._refused[1])
            try:
                address = rc.parse_address(self._raw_address)
                problem = rc.probe(address)  # in the server: nothing listening is said at once
                if problem:
                    raise JobError(problem)
                self._bridge = _BridgeHandle(address, self._settings, self._connect_timeout_s,
                                             self._stall_s, self._note_lost)
            except JobError as e:
                self._refused = (time.monotonic(), str(e))
                raise
            self._refused = None
            logger.info("connected to Ray: %s", self._bridge.info)
            return self._bridge

    def _note_lost(self, jobs: set[str], message: str) -> None:
        with self._lost_lock:
            self._lost.update(dict.fromkeys(jobs, message))

    def run(self, task: Task, channel: Channel) -> Outcome:
        try:
            self._connected()  # a cluster that cannot be used is said once, not per member
        except JobError as e:
            return Outcome(error=str(e))
        if task.plan is not None:  # every member its own task, all at once
            slots = [task.device] * max(1, len(task.plan.members(task.config)))
            outcome = run_members(task, channel, self._run_one, slots)
        else:
            outcome = self._run_one(task, channel)
        with self._lost_lock:
            lost = self._lost.pop(task.job_id, None)
        if lost is not None and outcome.error is not None:
            outcome.error = lost  # a sweep's members: one message for the job, not per member
        return outcome

    def _run_one(self, task: Task, channel: Channel) -> Outcome:
        try:
            bridge = self._connected()
        except JobError as e:
            return Outcome(error=str(e))
        asked = str(task.config.get("device", "") or "")
        gpus = 1 if task.device.startswith("cuda") or asked.startswith("cuda") else 0
        return bridge.run(task, channel, gpus)

    def close(self) -> None:
        """End the bridge (its driver leaves the cluster; the cluster keeps running)."""
        with self._lock:
            self._closed = True
            bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.close()
