"""The process executor: each running job in its own worker process (spawn start method).

Why: a job thread in the Streamlit server fights the page for one interpreter lock (typing
into a box took twice as long while a CPU job ran), a segfault or out-of-memory kill in a
job took down every user's session, and a runner stuck inside one long C call could not be
cancelled. A worker process fixes all three.

What crosses the boundary (pickled over a pipe):
  server -> worker: ``("job", kind, runner, config, threads)``; the runner goes by reference
  (module and name), so the worker imports it; a stop flag in shared memory.
  worker -> server: ``("events", batch, progress)`` every ``batch_s`` while events come,
  then ``("result", dict)`` or ``("error", message, traceback)``. Events are plain
  dicts (``base.check_event``).

Cancel is cooperative first (the flag: the runner returns its partial result within one
batch); after ``cancel_grace_s`` the worker is terminated, and the events that arrived
stay. A worker that dies (signal, ``os._exit``, OOM kill) ends its job "failed" with how it
died; the server and other jobs go on.

Workers are reused: one that finished a job waits for the next (torch and the data already
imported), up to ``max_idle`` of them for ``idle_timeout_s``; one is started ahead of the
first job (the app starts it with its first page: ``choose.EarlyExecutor``). Never more than
``max_workers`` exist at once.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
import types
from functools import partial
from multiprocessing.connection import Connection, wait
from typing import Any

from clr_core.errors import JobError
from clr_core.jobs.executors.base import (
    Channel,
    EventBatcher,
    Outcome,
    Task,
    checked_result,
    describe_error,
    run_members,
    set_torch_threads,
)
from clr_core.settings import ENV_PREFIX, get_settings

__all__ = ["DEFAULT_PRELOAD", "ProcessExecutor", "describe_exit"]

logger = logging.getLogger(__name__)

#: Imported by a worker as it starts, before its first job: torch and the engine, torch's
#: compiler front end (the first optimizer a job builds imports it: seconds, with sympy) and
#: scikit-learn's digits and its split: the first points of a range test then arrive in a
#: fraction of a second instead of after all the imports (bench: first event 0.14 s, not 2.5-10 s).
DEFAULT_PRELOAD = ("clr_core.jobs.runners", "torch._dynamo", "sklearn.datasets",
                   "sklearn.model_selection")
_POLL_S = 0.05


def describe_exit(exitcode: int | None) -> str:
    """How a worker process ended, in words a user can act on."""
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if -exitcode == signal.SIGKILL:
            return (f"was killed ({name}), most often by the system running out of memory; "
                    "try a smaller batch size or model")
        if -exitcode == signal.SIGSEGV:
            return f"crashed with a segmentation fault ({name})"
        return f"was killed by {name}"
    return f"exited unexpectedly with code {exitcode}"


# -- inside the worker ----------------------------------------------------------------


def _send_events(conn: Connection, batch: list[Any], progress: float | None) -> None:
    try:
        conn.send(("events", batch, progress))
    except (BrokenPipeError, EOFError, ConnectionError):
        os._exit(3)  # the server is gone: nobody to run for


def _run_below_the_server(nice: int, idle: bool) -> None:
    """A page's answer to a click preempts the training, which still gets every cycle
    nobody else wants: nice, and on Linux the SCHED_IDLE policy (a nice-19 worker alone
    still took enough of a 2-core machine to slow the page's answers; bench/ui_latency.py
    measures it). ``CLR_STUDIO_WORKER_IDLE=0`` keeps the normal policy, for a
    machine whose other load would starve an idle-class job. ``nice`` and ``idle`` are the
    server's settings (``CLR_STUDIO_WORKER_NICE``/``_IDLE``), read and checked there when the
    worker is started, so a bad value is the server's error message, not a dead worker.

    Called twice: the nice before the preload, the idle class after it. The preload is a
    few seconds of imports, once, that the next "Start" waits for: in the idle class any
    other busy process on the machine (one was enough on 2 cores) held it back until the
    first job, which then waited for all of it (issue 32)."""
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    if idle and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _stop_checker(flag: Any, parent: int):
    def should_stop() -> bool:
        return bool(flag.value) or os.getppid() != parent

    return should_stop


def _worker_main(conn: Connection, flag: Any, preload: tuple[str, ...], idle_timeout_s: float,
                 batch_s: float, nice: int, idle: bool) -> None:
    """A worker's life: import the engine, then run jobs one at a time until told to exit,
    idle too long, or the server goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    _run_below_the_server(nice, idle=False)
    parent = os.getppid()
    preload_error = None
    for module in preload:
        try:
            importlib.import_module(module)
        except Exception as e:  # reported with the first job rather than lost
            preload_error = describe_error(e)
    _run_below_the_server(0, idle)
    while True:
        try:
            if not conn.poll(idle_timeout_s):
                return
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] != "job":
            return
        _, kind, runner, config, threads = message
        if preload_error is not None:
            conn.send(("error", preload_error, ""))
            continue
        if threads:
            set_torch_threads(int(threads))
        emit = EventBatcher(partial(_send_events, conn), batch_s)
        try:
            out = runner(config, emit, _stop_checker(flag, parent))
            reply = ("result", checked_result(kind, out))
        except Exception as e:
            reply = ("error", describe_error(e), traceback.format_exc())
        emit.close()
        try:
            conn.send(reply)
        except (BrokenPipeError, EOFError, ConnectionError):
            return
        except Exception as e:  # a result that does not pickle
            conn.send(("error", f"the result could not be sent back: {describe_error(e)}", ""))


# -- in the server ----------------------------------------------------------------------


def _environment() -> tuple:
    """What a worker inherits at its start and would not see change later: the import
    path and CLR Studio's settings (plugins, data folder, store: the worker reads them from
    the environment it inherited, through ``clr_core.settings``)."""
    return (tuple(sys.path),
            tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(ENV_PREFIX))))


_START_LOCK = threading.Lock()


@contextlib.contextmanager
def _no_host_main():
    """Start a worker without re-running a host's page script in it.

    Why: spawn makes the child re-import the parent's ``__main__`` by its file (as
    ``__mp_main__``). In Streamlit ``__main__`` is the page module it made up for the run
    (``app.py``), so every worker re-ran the whole app bare before its first job (streamlit,
    ui and the pages imported, page code run: 0.6-0.9 s more to a range test's first point,
    bench/worker_start.py), and a page script that makes a registry, run as the main script,
    crashed the worker (a process started while importing main). A main module
    that Python did not load (no ``__loader__``: a host's stand-in, as Streamlit's and
    AppTest's are) is hidden from ``spawn`` while the child starts; a real script's
    (``python my_script.py``) is still imported, as multiprocessing documents, so runners
    defined in it keep working. Only a compare-and-restore swap: a page run starting
    meanwhile keeps the ``__main__`` it installed."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__loader__", None) is not None:
        yield
        return
    with _START_LOCK:
        stand_in = types.ModuleType("__main__")  # no __file__, no __spec__: spawn skips it
        sys.modules["__main__"] = stand_in
        try:
            yield
        finally:
            if sys.modules.get("__main__") is stand_in:
                sys.modules["__main__"] = main


class _Worker:
    def __init__(self, ctx: Any, preload: tuple[str, ...], idle_timeout_s: float,
                 batch_s: float) -> None:
        self.environment = _environment()
        settings = get_settings()  # a bad CLR_STUDIO_* value fails here, in the server
        self.conn, child = ctx.Pipe(duplex=True)
        self.flag = ctx.RawValue("b", 0)
        self.proc = ctx.Process(target=_worker_main, name="clr-worker",
                                args=(child, self.flag, preload, idle_timeout_s, batch_s,
                                      settings.worker_nice, settings.worker_idle),
                                daemon=True)
        with _no_host_main():
            self.proc.start()
        child.close()
        self.closed = False

    def alive(self) -> bool:
        return not self.closed and self.proc.is_alive()

    def kill(self, grace_s: float = 1.0) -> None:
        """Terminate, then kill if it does not go; reap it so no zombie stays."""
        if self.closed:
            return
        self.closed = True
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(grace_s)
            if self.proc.is_alive():
                self.proc.kill()
        self.proc.join(5)
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(ValueError, AttributeError):
            self.proc.close()

    def retire(self) -> None:
        if self.closed:
            return
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(("exit",))
        self.proc.join(2)
        self.kill()


class ProcessExecutor:
    """Runs each job in a worker process; see the module doc."""

    name = "process"

    def __init__(self, *, max_workers: int | None = None, max_idle: int = 1,
                 idle_timeout_s: float = 600.0, cancel_grace_s: float = 5.0,
                 batch_s: float = 0.1, preload: tuple[str, ...] = DEFAULT_PRELOAD,
                 warm: bool = True) -> None:
        if max_workers is not None and max_workers < 1:
            raise JobError(f"max_workers must be >= 1, got {max_workers}")
        self._ctx = mp.get_context("spawn")
        self._max_workers = max_workers or max(2, (os.cpu_count() or 2))
        self._max_idle = max(0, int(max_idle))
        self._idle_timeout_s = float(idle_timeout_s)
        self._cancel_grace_s = float(cancel_grace_s)
        self._batch_s = float(batch_s)
        self._preload = tuple(preload)
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False
        if warm and self._max_idle:
            with self._cond:
                self._idle.append(self._spawn())

    @property
    def worker_pids(self) -> list[int]:
        """Live workers' process ids, busy and idle (for tests and diagnostics)."""
        with self._cond:
            return [w.proc.pid for w in [*self._busy, *self._idle] if w.alive()]

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self._preload, self._idle_timeout_s, self._batch_s)

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise JobError("the process executor is shut down")
                environment = _environment()
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive() and worker.environment == environment:
                        self._busy.add(worker)
                        return worker
                    worker.kill()  # idled out, died while waiting, or started in another setup
                if len(self._busy) < self._max_workers:
                    worker = self._spawn()
                    self._busy.add(worker)
                    return worker
                self._cond.wait()

    def _release(self, worker: _Worker, reusable: bool) -> None:
        with self._cond:
            self._busy.discard(worker)
            keep = reusable and not self._closed and len(self._idle) < self._max_idle
            if keep:
                self._idle.append(worker)
            self._cond.notify_all()
        if not keep:
            worker.retire() if reusable else worker.kill()

    def run(self, task: Task, channel: Channel) -> Outcome:
        if task.plan is not None and len(task.devices) > 1:
            return run_members(task, channel, self._run_one, task.devices)
        return self._run_one(task, channel)

    def _run_one(self, task: Task, channel: Channel) -> Outcome:
        worker = self._acquire()
        reusable = False
        try:
            outcome, reusable = self._drive(worker, task, channel)
            return outcome
        finally:
            self._release(worker, reusable)

    def _drive(self, worker: _Worker, task: Task, channel: Channel) -> tuple[Outcome, bool]:
        worker.flag.value = 0
        config = {**task.config}
        try:
            worker.conn.send(("job", task.kind, task.runner, config, task.threads))
        except (BrokenPipeError, EOFError, OSError) as e:
            return Outcome(error=f"the worker process could not take the job: {e}"), False
        except Exception as e:  # the runner or config does not pickle
            return Outcome(error=f"the job cannot be sent to a worker process: "
                                 f"{describe_error(e)}"), True
        stop_asked: float | None = None
        while True:
            ready = wait([worker.conn, worker.proc.sentinel], timeout=_POLL_S)
            if worker.conn in ready or (ready and worker.conn.poll()):
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    return self._ended(worker, stop_asked), False
                if message[0] == "events":
                    channel.publish(message[1], message[2])
                    continue
                if message[0] == "result":
                    return Outcome(result=message[1]), True
                return Outcome(error=message[1], notes=[message[2]] if message[2] else []), True
            if ready:  # the process ended and nothing is left in the pipe
                return self._ended(worker, stop_asked), False
            if channel.stop_requested():
                now = time.monotonic()
                if stop_asked is None:
                    stop_asked = now
                    worker.flag.value = 1
                elif now - stop_asked > self._cancel_grace_s:
                    logger.warning("job %s did not stop within %.1f s of its cancel: ending "
                                   "its worker", task.job_id, self._cancel_grace_s)
                    worker.kill()
                    return Outcome(forced=True), False

    @staticmethod
    def _ended(worker: _Worker, stop_asked: float | None) -> Outcome:
        """The worker died mid-job: a cancel that ended it, or a crash to report."""
        worker.proc.join(5)
        if stop_asked is not None:
            return Outcome(forced=True)
        return Outcome(error=f"The worker process running this job "
                             f"{describe_exit(worker.proc.exitcode)}; the events it sent "
                             "before are kept.")

    def close(self) -> None:
        """Stop idle workers now and busy ones as their jobs end (the registry cancels
        them first)."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.retire()
