"""Exception types: one family so callers (the UI, the CLI) can catch ours and
show a message instead of a traceback, while ValueError/RuntimeError users still work."""

from typing import ClassVar

__all__ = ["ClrError", "ConfigError", "DatasetUnavailable", "JobError", "RangeTestError", "RunNotFound",
           "ScheduleError", "StoreBusy", "StoreCorrupt", "StoreError", "StoreFull", "StoreReadOnly",
           "StoreTimedOut", "StoreUnavailable", "TrainingError"]


class ClrError(Exception):
    """Base class of every error CLR Studio raises on purpose."""


class ScheduleError(ClrError, ValueError):
    """A schedule was asked for with a bad policy, parameter or iteration."""


class ConfigError(ClrError, ValueError):
    """A run configuration (data, model, optimizer, sweep) is invalid."""


class DatasetUnavailable(ClrError, RuntimeError):
    """A data set is neither on disk nor downloadable; the message says where we looked."""


class RangeTestError(ClrError, RuntimeError):
    """The range test could not produce a curve (e.g. the first loss is already NaN)."""


class TrainingError(ClrError, RuntimeError):
    """A training could not produce a curve (e.g. the loss is NaN from the first step)."""


class JobError(ClrError, RuntimeError):
    """A background job id is unknown or the job is in the wrong state."""


class StoreError(ClrError, RuntimeError):
    """The run store cannot find or save a run.

    The subclasses below say why, so a caller decides by type, never by reading the message
    (``clr_core.runs.connection.store_error`` turns SQLite's errors into them, in one place).
    ``transient``: whether waiting can fix it; the writers of runs (`clr_core.runs.writer`)
    retry exactly those, and give up at once on the rest."""

    transient: ClassVar[bool] = False


class StoreBusy(StoreError):
    """Another connection holds the store's lock (SQLite's BUSY or LOCKED): it lets go by
    itself, so a write is worth trying again."""

    transient = True


class StoreTimedOut(StoreError):
    """The store stayed busy for as long as the retry policy waits; the message names the
    last error. Not transient: the waiting was already done."""


class StoreUnavailable(StoreError):
    """The store's file cannot be opened or written (no permission, its folder gone, an I/O
    error): it stays so until someone acts."""


class StoreReadOnly(StoreUnavailable):
    """The store's file or folder is read-only for this process: runs are listed, none saved."""


class StoreFull(StoreError):
    """The disk that holds the store (or the database's own size limit) is full."""


class StoreCorrupt(StoreError):
    """The file is not a readable SQLite database, or a saved run's JSON is damaged."""


class RunNotFound(StoreError):
    """No saved run has this id (deleted from the Runs page, or a stale link)."""
