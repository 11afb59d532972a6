"""Exception types: one family so callers (the UI, the CLI) can catch ours and
show a message instead of a traceback, while ValueError/RuntimeError users still work."""

__all__ = ["ClrError", "ConfigError", "DatasetUnavailable", "JobError", "RangeTestError", "ScheduleError",
           "StoreError", "TrainingError"]


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
    """The run store cannot find or save a run."""
