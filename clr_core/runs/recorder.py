"""Record a run to the run store while it runs, so the app can watch a script's range test
or training live, as TensorBoard and Weights & Biases made habitual.

A ``RunRecorder`` is an ``emit`` sink of event dicts, written by the one writer of live runs
(`clr_core.runs.writer.RunWriter`, which the app's jobs use too): events are queued in
memory, so the training loop does not wait on the disk, and a background thread writes
them every ``flush_s`` seconds, beating the run's heart as it goes. The run appears at once
as "running" and ends "done", "cancelled" or "failed" with the full result, in the same
shape the app's own jobs save, so the Runs page can reopen, overlay, rename and download it.
A busy or failing store never costs the run. A busy one (`StoreBusy`: another process
holds the write lock) only delays the record: events stay in memory and the writes are
retried with back-off while the run goes and, by the writer's one `RetryPolicy`, for up to
``RETRY_FOR_S`` after it ends, so the record lands whole when the lock clears. A store that
cannot be written at all (read-only, its file or folder gone unwritable, a full disk, a
deleted run) stops the record at once with the store's own reason in ``save_error`` and a
warning: no retry can fix it, and waiting minutes after the run ended would only hide the
message. ``clr_core.runs.recording.recorded`` wraps an engine function so that
``record=NAME`` records its run (and hands its events to TensorBoard or MLflow sinks as well).
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from clr_core.errors import StoreError
from clr_core.runs.identity import script_owner
from clr_core.runs.store import RunStore
from clr_core.runs.writer import FLUSH_S, RunWriter
from clr_core.schedules.base import Schedule

__all__ = [
    "FLUSH_S",
    "FinishesOnExit",
    "RunRecorder",
    "describe_call",
    "open_store",
    "record_job",
    "status_of",
]

logger = logging.getLogger(__name__)

StoreLike = RunStore | str | os.PathLike[str] | None


def open_store(store: StoreLike) -> RunStore:
    """A store from a ``RunStore``, a path, or None for ``$CLR_STUDIO_DB`` (the app's)."""
    return store if isinstance(store, RunStore) else RunStore(store)


class FinishesOnExit:
    """What the store's recorder and the trackers' recording share: called with each
    event, it can stand in front of another emit (`forwarding`), and it ends the run it
    records when its ``with`` block ends: "done", "cancelled" on Ctrl-C, or "failed" with
    the exception, unless ``finish`` was already called."""

    finished: bool

    def __call__(self, event: Any, progress: float | None = None) -> None:
        raise NotImplementedError

    def forwarding(self, emit: Callable[..., None] | None) -> Callable[..., None]:
        """An emit that records each event and passes it on to ``emit`` (if any)."""
        if emit is None:
            return self

        def both(event: Any, *args: Any, **kwargs: Any) -> None:
            self(event)
            emit(event, *args, **kwargs)

        return both

    def finish(self, status: str, result: dict[str, Any] | None, *,
               error: str | None = None) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if self.finished:
            return
        if exc is None:
            self.finish("done", None)
        elif isinstance(exc, KeyboardInterrupt):
            self.finish("cancelled", None, error="interrupted from the keyboard")
        else:
            self.finish("failed", None, error=f"{type(exc).__name__}: {exc}")


class RunRecorder(FinishesOnExit):
    """One live run in the store; use it as the run's ``emit`` and end it with ``finish``.

    As a context manager, a run left unfinished by an exception ends "failed" (or
    "cancelled" on Ctrl-C) and the exception goes on. What a script sees of a refused
    write is a ``RuntimeWarning`` (the first busy refusal, and giving up) and the fields
    ``retrying`` / ``save_error``; the writing itself is the `RunWriter`'s."""

    def __init__(
        self,
        kind: str,
        config: Mapping[str, Any],
        *,
        label: str | None = None,
        store: StoreLike = None,
        flush_s: float = FLUSH_S,
    ) -> None:
        if not (isinstance(flush_s, int | float) and 0 < flush_s <= 1):
            raise StoreError(f"flush_s must be in (0, 1] seconds, got {flush_s!r}")
        self.store = open_store(store)
        self.kind = kind
        self.finished = False
        self._warned = False
        # a locked store must not hold up the script's start: the flusher starts it later
        self._writer = RunWriter(self.store, kind, config, label=label, owner=script_owner(),
                                 flush_s=float(flush_s), start_wait=False,
                                 on_failure=self._refused, name="clr-record")

    def __repr__(self) -> str:
        return f"RunRecorder(run {self.run_id} in {self.store.path})"

    @property
    def run_id(self) -> int | None:
        return self._writer.run_id

    @property
    def save_error(self) -> str | None:
        """Why the record stopped (the run itself went on), or None."""
        return self._writer.save_error

    @property
    def retrying(self) -> str | None:
        """The last write that failed and is being retried (None once writes go through)."""
        return self._writer.retrying

    def __call__(self, event: Mapping[str, Any] | None, progress: float | None = None) -> None:
        """Queue one event dict (an engine `Event` is converted by its emitter, once);
        ``progress`` is accepted so a recorder can stand in for a job's emit."""
        if event is not None and self.save_error is None:
            self._writer.add([event])

    def _refused(self, writer: RunWriter, exc: BaseException, given_up: bool) -> None:
        if given_up:
            message = (f"recording run {writer.run_id} to {self.store.path} stopped "
                       f"({writer.save_error}); the run itself goes on")
        elif not self._warned:
            self._warned = True
            message = (f"the run store {self.store.path} refused a write ({writer.retrying}); "
                       "the run goes on, its record is kept in memory and written when the "
                       "store takes it again")
        else:
            return
        logger.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    def finish(self, status: str, result: dict[str, Any] | None, *,
               error: str | None = None) -> None:
        """End the run with its status and full result; the last events go with it. A
        busy store is waited for (the writer's policy); a record already given up is not
        tried again."""
        if self.finished:
            return
        self.finished = True
        if self.save_error is not None:
            self._writer.close()
            return
        self._writer.finish(status, result, error=error, wait=True)


def status_of(report: Mapping[str, Any]) -> str:
    """"cancelled" for a run its caller stopped, else "done" (diverging is a result),
    read from a result dict: a job's report (``cancelled``) or a ``stop_reason``."""
    cancelled = report.get("stop_reason") == "cancelled" or report.get("cancelled")
    return "cancelled" if cancelled else "done"


def record_job(runner: Callable[..., dict[str, Any]], kind: str, config: dict[str, Any], *,
               label: str | None, store: StoreLike = None,
               emit: Callable[..., None] | None = None,
               should_stop: Callable[[], bool] = lambda: False
               ) -> tuple[dict[str, Any], RunRecorder]:
    """Run a job runner (``runner(config, emit, should_stop) -> dict``, the app's
    protocol) outside the app, recorded exactly as the app records its jobs; returns
    its result and the recorder (``run_id``, ``store``)."""
    with RunRecorder(kind, config, label=label, store=store) as rec:
        out = runner(config, rec.forwarding(emit), should_stop)
        rec.finish(status_of(out), out)
    return out, rec


# -- run_range_test(record=...) and run_training(record=...) -----------------------

def _number(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return value if math.isfinite(value) else str(value)


def _optimizer_settings(optimizer: Any) -> dict[str, Any]:
    group = (getattr(optimizer, "param_groups", None) or [{}])[0]
    betas = group.get("betas")
    return {
        "optimizer": type(optimizer).__name__,
        "momentum": _number(group.get("momentum", betas[0] if betas else None)),
        "weight_decay": _number(group.get("weight_decay")),
    }


def _loader_name(loader: Any) -> str:
    dataset = getattr(loader, "dataset", None)
    return type(dataset if dataset is not None else loader).__name__


_DESCRIBED = ("start_lr", "end_lr", "num_iter", "mode", "smooth_beta", "diverge_threshold",
              "accumulation_steps", "eval_every", "amp", "seed", "grad_clip_norm",
              "grad_clip_value")


def describe_call(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe config for a direct call on the caller's own objects: class names
    stand for the model, data and optimizer; numbers are kept as given."""
    loader = arguments.get("loader", arguments.get("train_loader"))
    config: dict[str, Any] = {
        "dataset": _loader_name(loader),
        "model": type(arguments.get("model")).__name__,
        "batch_size": _number(getattr(loader, "batch_size", None)),
        **_optimizer_settings(arguments.get("optimizer")),
        "device": None if arguments.get("device") is None else str(arguments["device"]),
    }
    config.update({k: _number(arguments[k]) for k in _DESCRIBED if k in arguments})
    schedule = arguments.get("schedule")
    if isinstance(schedule, Mapping):
        config["schedule"] = dict(schedule)
    elif isinstance(schedule, Schedule):
        config["schedule"] = schedule.to_dict()
    elif schedule is not None:  # the caller's own schedule object, as the model is
        config["schedule"] = type(schedule).__name__
    return config
