"""Which executor runs the jobs, chosen by name (``CLR_STUDIO_EXECUTOR``): ``process``
(default: one worker process per running job, so a job neither holds the server's
interpreter lock nor takes it down when it crashes), ``ray`` (every job and every sweep
member a Ray task), ``thread`` (in the server process: tests with closures, and callers
that want no processes). The only module that knows all three."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from clr_core.errors import JobError
from clr_core.jobs.executors.base import Executor
from clr_core.jobs.executors.process import ProcessExecutor
from clr_core.jobs.executors.ray import RayExecutor
from clr_core.jobs.executors.thread import ThreadExecutor
from clr_core.settings import env_name, get_settings

__all__ = ["ENV_VAR", "EXECUTORS", "EarlyExecutor", "make_executor"]

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


class EarlyExecutor:
    """The server's executor made before its registry, so that its warm worker imports
    torch and the engine while the first page is drawn, not after the first "Start".

    Why: the registry is made when a page first needs it (the range test's), and its warm
    worker then started only then: a person who opened the page and pressed Start waited
    for the whole preload (torch, its compiler front end, scikit-learn: 5.5 s to the first
    point on a fresh 2-core server, issue 32). The app calls ``start()`` on every page's
    run (once it has made the executor, a lock and a check); the registry made later
    ``take()``s it. Only the process executor starts anything ahead: a thread needs no
    warm-up, and Ray connects to its cluster on the first job.

    ``make(name)``: how the executor is made (``make_executor``; tests pass a lighter one).
    """

    def __init__(self, make: Callable[[str], Executor] = make_executor) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._executor: Executor | None = None
        self._done = False  # started (or found nothing to start), or taken

    @property
    def executor(self) -> Executor | None:
        """The executor started and not taken yet (None before ``start``, after ``take``)."""
        return self._executor

    def start(self) -> Executor | None:
        """Make the process executor (its warm worker starts with it) if the settings name
        it; once: later calls return what the first made."""
        with self._lock:
            if not self._done:
                self._done = True
                if get_settings().executor == "process":
                    self._executor = self._make("process")
            return self._executor

    def take(self) -> Executor | None:
        """The started executor, handed over once (its owner closes it from then on). None
        if none was started, it was taken already, or the settings now name another
        executor (then it is closed here: its worker would only idle)."""
        with self._lock:
            executor, self._executor, self._done = self._executor, None, True
        if executor is not None and executor.name != get_settings().executor:
            executor.close()
            return None
        return executor
