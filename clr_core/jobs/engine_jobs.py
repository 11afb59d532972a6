"""The registry the app and the CLI run: the engine's runners (range test, training,
sweep), a sweep's members in parallel, on every device this machine has. Kept apart from
``registry`` so the registry itself stays free of torch and takes any runners."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clr_core.engine.device import available_devices
from clr_core.jobs import runners
from clr_core.jobs.executors.base import ParallelPlan
from clr_core.jobs.registry import JobRegistry

__all__ = ["engine_registry"]


def engine_registry(*, parallel: Mapping[str, ParallelPlan] | None = None,
                    devices: Sequence[str] = (), **options: Any) -> JobRegistry:
    """A ``JobRegistry`` of the engine's jobs; ``options`` go to ``JobRegistry`` (store,
    executor, limits). ``parallel`` and ``devices`` default to the sweep's plan and every
    device here; a job's size for the server's limits is ``runners.job_iterations``."""
    options.setdefault("sizer", runners.job_iterations)
    return JobRegistry(runners.RUNNERS,
                       parallel=runners.PARALLEL if parallel is None else parallel,
                       devices=devices or available_devices(), **options)
