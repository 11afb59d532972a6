"""Which executor runs the jobs, chosen by name (``CLR_STUDIO_EXECUTOR``): ``process``
(default: one worker process per running job, so a job neither holds the server's
interpreter lock nor takes it down when it crashes), ``ray`` (every job and every sweep
member a Ray task), ``thread`` (in the server process: tests with closures, and callers
that want no processes). The only module that knows all three."""

from __future__ import annotations

from typing import Any

from clr_core.errors import JobError
from clr_core.jobs.executors.base import Executor
from clr_core.jobs.executors.process import ProcessExecutor
from clr_core.jobs.executors.ray import RayExecutor
from clr_core.jobs.executors.thread import ThreadExecutor
from clr_core.settings import env_name, get_settings

__all__ = ["ENV_VAR", "EXECUTORS", "make_executor"]

ENV_VAR = env_name("executor")
EXECUTORS: dict[str, type] = {
    "process": ProcessExecutor,
    "ray": RayExecutor,
    "thread": ThreadExecutor,
}


def make_executor(name: str | None = None, **options: Any) -> Executor:
    """The executor called ``name`` (default: ``$CLR_STUDIO_EXECUTOR``, else "process");
    ``options`` go to its constructor. A bad ``$CLR_STUDIO_EXECUTOR`` is a
    ``SettingsError`` naming it."""
    name = (name or get_settings().executor).strip().lower()
    cls = EXECUTORS.get(name)
    if cls is None:
        raise JobError(f"unknown executor {name!r} (set {ENV_VAR} to one of "
                       f"{', '.join(EXECUTORS)})")
    return cls(**options)
