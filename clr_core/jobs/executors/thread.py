"""The thread executor: the runner in the job's supervising thread itself, with no process
boundary, for tests whose runners are closures and for callers that want no processes."""

from __future__ import annotations

import traceback
from typing import Any

from clr_core.jobs.executors.base import (
    Channel,
    Outcome,
    Task,
    check_event,
    checked_result,
    describe_error,
)

__all__ = ["ThreadExecutor"]


class ThreadExecutor:
    """Runs each job in the server's own process; see the module doc."""

    name = "thread"

    def run(self, task: Task, channel: Channel) -> Outcome:
        def emit(event: dict[str, Any] | None = None, progress: float | None = None) -> None:
            check_event(event)
            channel.publish([] if event is None else [event], progress)

        try:
            out = task.runner(task.config, emit, channel.stop_requested)
            return Outcome(result=checked_result(task.kind, out))
        except Exception as e:  # a runner's bug must not kill the app; the user sees it
            return Outcome(error=describe_error(e), notes=[traceback.format_exc()])

    def close(self) -> None:
        pass
