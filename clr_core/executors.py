"""Where a job's runner runs: the registry decides *when* (per-device FIFO queue), an
executor decides *where* — in the server's own thread, in a worker process, or on Ray.

Every executor has the same shape: ``run(task, channel)`` blocks in the job's supervising
thread (one per running job, inside the server) until the runner has ended, publishing
event batches through ``channel`` and asking it whether the user cancelled. So the page's
polling reads events the same way whichever executor ran the job.

Chosen by name (``CLR_STUDIO_EXECUTOR``): ``process`` (default: one worker process per
running job, so a job neither holds the server's interpreter lock nor takes it down when it
crashes), ``ray`` (every job and every sweep member a Ray task), ``thread`` (in the server
process: tests with closures, and callers that want no processes).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from clr_core.errors import JobError

__all__ = [
    "ENV_VAR",
    "EXECUTORS",
    "Channel",
    "Executor",
    "Outcome",
    "Task",
    "ThreadExecutor",
    "check_event",
    "cpu_threads",
    "describe_error",
    "make_executor",
]

ENV_VAR = "CLR_STUDIO_EXECUTOR"
EXECUTORS = ("process", "ray", "thread")

Runner = Callable[..., dict]


@dataclass(frozen=True)
class Task:
    """One job as an executor sees it. ``runner`` must pickle (a module-level function)
    for the process and Ray executors; ``threads`` is the torch thread count to use."""

    job_id: str
    kind: str
    runner: Runner
    config: dict[str, Any]
    device: str = "cpu"
    threads: int | None = None


@dataclass
class Outcome:
    """How a runner ended: its result, or an error message ("Type: message"); ``forced``
    when a cancel had to end the worker because the runner did not stop in time."""

    result: dict[str, Any] | None = None
    error: str | None = None
    forced: bool = False
    notes: list[str] = field(default_factory=list)


class Channel(Protocol):
    """The registry's side of a running job."""

    def publish(self, events: Sequence[Any], progress: float | None) -> None: ...

    def stop_requested(self) -> bool: ...


class Executor(Protocol):
    name: str

    def run(self, task: Task, channel: Channel) -> Outcome: ...

    def close(self) -> None: ...


def check_event(event: Any) -> None:
    """An event is a dict or a typed event (anything with ``to_dict``); both pickle."""
    if event is not None and not isinstance(event, dict) and not hasattr(event, "to_dict"):
        raise JobError(f"an event must be a dict, got {type(event).__name__}")


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def cpu_threads() -> int:
    """Torch threads for a CPU job: every core but one, which the server keeps."""
    return max(1, (os.cpu_count() or 2) - 1)


def checked_result(kind: str, out: Any) -> dict[str, Any]:
    if not isinstance(out, dict):
        raise TypeError(f"runner for {kind!r} returned {type(out).__name__}, not dict")
    return out


class ThreadExecutor:
    """The runner in the supervising thread itself (no process boundary): for tests whose
    runners are closures, and for callers that want no extra processes."""

    name = "thread"

    def run(self, task: Task, channel: Channel) -> Outcome:
        def emit(event: Any = None, progress: float | None = None) -> None:
            check_event(event)
            channel.publish([] if event is None else [event], progress)

        try:
            out = task.runner(task.config, emit, channel.stop_requested)
            return Outcome(result=checked_result(task.kind, out))
        except Exception as e:  # a runner's bug must not kill the app; the user sees it
            return Outcome(error=describe_error(e), notes=[traceback.format_exc()])

    def close(self) -> None:
        pass


def make_executor(name: str | None = None, **options: Any) -> Executor:
    """The executor called ``name`` (default: ``$CLR_STUDIO_EXECUTOR``, else "process")."""
    name = (name or os.environ.get(ENV_VAR, "") or "process").strip().lower()
    if name == "thread":
        return ThreadExecutor()
    if name == "process":
        from clr_core.worker import ProcessExecutor

        return ProcessExecutor(**options)
    if name == "ray":
        from clr_core.ray_executor import RayExecutor

        return RayExecutor(**options)
    raise JobError(f"unknown executor {name!r} (set {ENV_VAR} to one of {', '.join(EXECUTORS)})")
