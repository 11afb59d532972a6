"""Background jobs: the registry (``registry``: when a job starts, one supervising thread per
running job), a job's state and the pages' snapshot of it (``state``), saving to the run store
with release and retry (``saving``), and where jobs run (``executors``). The registry is handed
its runners; ``runners`` (config in, engine called, report out) and ``engine_jobs`` (a
registry wired with them) import torch, so they are imported by their module path and not
from here: a registry of plain functions needs no torch.

May import: ``clr_core.runs``, ``clr_core.setup``, ``clr_core.engine``, ``clr_core.suggest``,
``clr_core.schedules`` and the foundation. Not ``clr_core.present``.

``__all__`` is what a script running its own jobs calls: a `JobRegistry` (submit, wait,
cancel) and the `JobStatus` snapshots it answers with. The rest (the job record, the saver,
the channel, the types a runner is written against) is the app's plumbing.
"""

from __future__ import annotations

# Re-exports: __all__ names the public ones; the others stay importable from here (the
# app's pages, the CLI and earlier scripts import them so), but are private.
from clr_core.jobs.registry import JobRegistry
from clr_core.jobs.saving import JobSaver  # noqa: F401
from clr_core.jobs.state import (  # noqa: F401
    STATES,
    STORE_EVERY_S,
    TERMINAL_STATES,
    Emit,
    Job,
    JobChannel,
    JobStatus,
    Runner,
    ShouldStop,
    canonical_device,
)

__all__ = ["JobRegistry", "JobStatus"]
