"""Where a job's runner runs. The registry decides *when* (per-device FIFO); an executor decides
*where*: ``process`` (a worker process per running job, the default), ``thread`` (in the
server process) or ``ray`` (Ray tasks, for users who outgrow one machine; Ray's driver runs
in a bridge process, ``ray_bridge``, after the checks in ``ray_connect``; ``ray_task`` is
what runs on the cluster). ``base`` is the
protocol every executor follows and knows none of them; ``choose`` picks one by name
(``CLR_STUDIO_EXECUTOR``).

May import: ``errors`` only; runners arrive by reference in each task.
"""

from __future__ import annotations

from clr_core.jobs.executors.base import (
    Channel,
    EventBatcher,
    Executor,
    Outcome,
    ParallelPlan,
    Task,
    check_event,
    checked_result,
    cpu_threads,
    describe_error,
    run_members,
    set_torch_threads,
)
from clr_core.jobs.executors.choose import ENV_VAR, EXECUTORS, EarlyExecutor, make_executor
from clr_core.jobs.executors.process import DEFAULT_PRELOAD, ProcessExecutor, describe_exit
from clr_core.jobs.executors.ray import RayExecutor, local_runtime_env
from clr_core.jobs.executors.thread import ThreadExecutor

__all__ = [
    "Channel",
    "DEFAULT_PRELOAD",
    "ENV_VAR",
    "EXECUTORS",
    "EarlyExecutor",
    "EventBatcher",
    "Executor",
    "Outcome",
    "ParallelPlan",
    "ProcessExecutor",
    "RayExecutor",
    "Task",
    "ThreadExecutor",
    "check_event",
    "checked_result",
    "cpu_threads",
    "describe_error",
    "describe_exit",
    "local_runtime_env",
    "make_executor",
    "run_members",
    "set_torch_threads",
]
