"""The Ray executor: every job, and every member of a sweep, is a Ray task, so a lab's
cluster runs range tests and sweeps in parallel on as many GPUs as it has.

Chosen with ``CLR_STUDIO_EXECUTOR=ray``; it connects to ``RAY_ADDRESS`` (``ray://host:10001``
or ``auto``) or starts a local Ray when unset. A task asks for one GPU when its config's
device is CUDA; Ray, not the registry, queues tasks for devices.

Events come back the way they do from a worker process: the task batches them into a
small mailbox actor every ``batch_s``, the job's supervising thread in the server takes
them out and publishes them. Cancel sets a flag in the mailbox that the task's
``should_stop`` sees at its next batch (the partial result comes back); after
``cancel_grace_s`` it becomes ``ray.cancel(force=True)``, keeping the events that arrived.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

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

__all__ = ["RayExecutor", "local_runtime_env"]

logger = logging.getLogger(__name__)

_POLL_S = 0.1


def local_runtime_env() -> dict[str, Any]:
    """Ray workers on this machine import what the server imports (this checkout's
    clr_core and anything else on its path)."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}}


def _cluster_runtime_env() -> dict[str, Any]:
    """A remote cluster gets this clr_core uploaded with the job (its nodes need torch and
    the other requirements installed)."""
    clr_core = Path(__file__).resolve().parents[2]  # clr_core/jobs/executors/ray.py
    return {"py_modules": [str(clr_core)]}


class _Mailbox:
    """Per-job actor between a task and the server: event batches in, a stop flag out."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.progress: float | None = None
        self.stop = False

    def put(self, events: list[dict[str, Any]], progress: float | None) -> bool:
        if events:
            self.batches.append(events)
        if progress is not None:
            self.progress = progress
        return self.stop

    def take(self) -> tuple[list[list[dict[str, Any]]], float | None]:
        batches, self.batches = self.batches, []
        return batches, self.progress

    def request_stop(self) -> None:
        self.stop = True

    def stopped(self) -> bool:
        return self.stop


class _MailboxSender:
    """Hands a batch to the job's mailbox and keeps the stop flag it answers with."""

    def __init__(self, mailbox: Any) -> None:
        self._mailbox = mailbox
        self.stop = False

    def __call__(self, batch: list[dict[str, Any]], progress: float | None) -> None:
        import ray  # optional: only a Ray task runs this

        self.stop = bool(ray.get(self._mailbox.put.remote(batch, progress))) or self.stop

    def should_stop(self) -> bool:
        return self.stop


def _run_in_ray(kind: str, runner: Any, config: dict, threads: int | None, mailbox: Any,
                batch_s: float) -> dict:
    """The body of a job's Ray task."""
    if threads:
        set_torch_threads(int(threads))
    sender = _MailboxSender(mailbox)
    emit = EventBatcher(sender, batch_s)
    emit(None, 0.0)  # a first batch soon: it also fetches the stop flag regularly
    try:
        out = runner(config, emit, sender.should_stop)
    finally:
        emit.close()
    return checked_result(kind, out)


class RayExecutor:
    """Runs jobs as Ray tasks; see the module doc."""

    name = "ray"
    #: Ray places tasks on devices itself: the registry does not queue per device.
    schedules_devices = True

    def __init__(self, *, address: str | None = None, cancel_grace_s: float = 5.0,
                 batch_s: float = 0.2, init: dict[str, Any] | None = None) -> None:
        import ray  # optional: installed only where CLR_STUDIO_EXECUTOR=ray is used

        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS") or None
            options = {"include_dashboard": False, "log_to_driver": False,
                       "runtime_env": _cluster_runtime_env() if address else local_runtime_env(),
                       **(init or {})}
            ray.init(address=address, ignore_reinit_error=True, **options)
        self._ray = ray
        self._cancel_grace_s = float(cancel_grace_s)
        self._batch_s = float(batch_s)
        self._mailbox_cls = ray.remote(num_cpus=0)(_Mailbox)
        self._task = ray.remote(max_retries=0)(_run_in_ray)

    def run(self, task: Task, channel: Channel) -> Outcome:
        if task.plan is not None:  # every member its own task, all at once
            slots = [task.device] * max(1, len(task.plan.members(task.config)))
            return run_members(task, channel, self._run_one, slots)
        return self._run_one(task, channel)

    def _run_one(self, task: Task, channel: Channel) -> Outcome:
        ray = self._ray
        mailbox = self._mailbox_cls.remote()
        asked = str(task.config.get("device", "") or "")
        gpus = 1 if task.device.startswith("cuda") or asked.startswith("cuda") else 0
        ref = self._task.options(num_gpus=gpus, num_cpus=1).remote(
            task.kind, task.runner, task.config, task.threads if not gpus else None, mailbox,
            self._batch_s)
        stop_asked: float | None = None
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=_POLL_S)
                self._drain(mailbox, channel)
                if ready:
                    try:
                        return Outcome(result=ray.get(ref))
                    except ray.exceptions.TaskCancelledError:
                        return Outcome(forced=True)
                    except ray.exceptions.RayTaskError as e:
                        cause = e.as_instanceof_cause()
                        inner = getattr(e, "cause", None) or cause
                        return Outcome(error=describe_error(inner), notes=[str(e)])
                    except ray.exceptions.RayError as e:  # the worker or node died
                        if stop_asked is not None:
                            return Outcome(forced=True)
                        return Outcome(error=f"The Ray worker running this job died "
                                             f"({type(e).__name__}: {e}); the events it sent "
                                             "before are kept.")
                if channel.stop_requested():
                    now = time.monotonic()
                    if stop_asked is None:
                        stop_asked = now
                        mailbox.request_stop.remote()
                    elif now - stop_asked > self._cancel_grace_s:
                        logger.warning("job %s did not stop within %.1f s of its cancel: "
                                       "ray.cancel", task.job_id, self._cancel_grace_s)
                        ray.cancel(ref, force=True)
                        with contextlib.suppress(ray.exceptions.RayError):
                            ray.get(ref, timeout=30)
                        self._drain(mailbox, channel)
                        return Outcome(forced=True)
        finally:
            with contextlib.suppress(Exception):
                ray.kill(mailbox)

    def _drain(self, mailbox: Any, channel: Channel) -> None:
        batches, progress = self._ray.get(mailbox.take.remote())
        if batches or progress is not None:
            channel.publish([e for b in batches for e in b], progress)

    def close(self) -> None:
        """Leaves Ray running: other jobs (or the app's next registry) may use it."""
