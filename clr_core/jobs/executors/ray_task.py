"""What runs on the cluster's side of the Ray executor: a job's Ray task (its runner, with
events batched into a per-job mailbox actor that also carries the stop flag) and the
runtime environment that lets the cluster's workers import this clr_core. Imported by the
bridge (``ray_bridge``) and, by reference, by Ray's workers; never imports Ray at the top.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from clr_core.jobs.executors.base import EventBatcher, checked_result, set_torch_threads

__all__ = ["Mailbox", "MailboxSender", "cluster_runtime_env", "local_runtime_env", "run_in_ray"]


def local_runtime_env() -> dict[str, Any]:
    """Ray workers on this machine import what the server imports (this checkout's
    clr_core and anything else on its path)."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}}


def cluster_runtime_env() -> dict[str, Any]:
    """A remote cluster gets this clr_core uploaded with the job (its nodes need torch and
    the other requirements installed)."""
    clr_core = Path(__file__).resolve().parents[2]  # clr_core/jobs/executors/ray_task.py
    return {"py_modules": [str(clr_core)]}


class Mailbox:
    """Per-job actor between a task and the bridge: event batches in, a stop flag out."""

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


class MailboxSender:
    """Hands a batch to the job's mailbox and keeps the stop flag it answers with."""

    def __init__(self, mailbox: Any) -> None:
        self._mailbox = mailbox
        self.stop = False

    def __call__(self, batch: list[dict[str, Any]], progress: float | None) -> None:
        import ray  # optional: only a Ray task runs this

        self.stop = bool(ray.get(self._mailbox.put.remote(batch, progress))) or self.stop

    def should_stop(self) -> bool:
        return self.stop


def run_in_ray(kind: str, runner: Any, config: dict, threads: int | None, mailbox: Any,
                batch_s: float) -> dict:
    """The body of a job's Ray task."""
    if threads:
        set_torch_threads(int(threads))
    sender = MailboxSender(mailbox)
    emit = EventBatcher(sender, batch_s)
    emit(None, 0.0)  # a first batch soon: it also fetches the stop flag regularly
    try:
        out = runner(config, emit, sender.should_stop)
    finally:
        emit.close()
    return checked_result(kind, out)
