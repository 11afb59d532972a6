"""Record a run to the run store while it runs, so the app can watch a script's range test
or training live, as TensorBoard and Weights & Biases made habitual.

A ``RunRecorder`` is an ``emit`` sink: it queues events in memory (an append, nothing
more, so the training loop does not wait on the disk) and a background thread writes
them to the store every ``flush_s`` seconds, beating the run's heart as it goes. The run
appears at once as "running" and ends "done", "cancelled" or "failed" with the full
result, in the same shape the app's own jobs save, so the Runs page can reopen, overlay,
rename and download it. A store that fails mid-run costs the record, never the run.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from clr_core.errors import StoreError
from clr_core.runs.store import RunStore

__all__ = [
    "FLUSH_S",
    "RunRecorder",
    "describe_call",
    "open_store",
    "record_call",
    "record_job",
    "status_of",
]

logger = logging.getLogger(__name__)

FLUSH_S = 0.5  # well under the one second a live view may lag


def open_store(store: RunStore | str | os.PathLike[str] | None) -> RunStore:
    """A store from a ``RunStore``, a path, or None for ``$CLR_STUDIO_DB`` (the app's)."""
    return store if isinstance(store, RunStore) else RunStore(store)


def _plain(event: Any) -> dict[str, Any]:
    to_dict = getattr(event, "to_dict", None)
    return dict(to_dict() if callable(to_dict) else event)


class RunRecorder:
    """One live run in the store; use it as the run's ``emit`` and end it with ``finish``.

    As a context manager, a run left unfinished by an exception ends "failed" (or
    "cancelled" on Ctrl-C) and the exception goes on."""

    def __init__(
        self,
        kind: str,
        config: Mapping[str, Any],
        *,
        label: str | None = None,
        store: RunStore | str | os.PathLike[str] | None = None,
        flush_s: float = FLUSH_S,
    ) -> None:
        if not (isinstance(flush_s, int | float) and 0 < flush_s <= 1):
            raise StoreError(f"flush_s must be in (0, 1] seconds, got {flush_s!r}")
        self.store = open_store(store)
        self.kind = kind
        self.run_id = self.store.start_run(kind, dict(config), label=label)
        self.finished = False
        self.save_error: str | None = None
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_loop, args=(float(flush_s),),
            name=f"clr-record-{self.run_id}", daemon=True,
        )
        self._flusher.start()

    def __repr__(self) -> str:
        return f"RunRecorder(run {self.run_id} in {self.store.path})"

    # -- the sink -------------------------------------------------------------------

    def __call__(self, event: Any, progress: float | None = None) -> None:
        """Queue one event (a dict or an object with ``to_dict``); ``progress`` is
        accepted so a recorder can stand in for a job's emit."""
        if event is not None and self.save_error is None:
            plain = _plain(event)
            with self._lock:
                self._pending.append(plain)

    def forwarding(self, emit: Callable[..., None] | None) -> Callable[..., None]:
        """An emit that records each event and passes it on to ``emit`` (if any)."""
        if emit is None:
            return self

        def both(event: Any, *args: Any, **kwargs: Any) -> None:
            self(event)
            emit(event, *args, **kwargs)

        return both

    # -- writing --------------------------------------------------------------------

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            batch, self._pending = self._pending, []
        return batch

    def _flush_loop(self, every: float) -> None:
        while not self._stop.wait(every):
            if self.save_error is not None:
                return
            try:
                self.store.append_events(self.run_id, self._take())
            except Exception as e:  # a full disk or a deleted run: keep training
                self._give_up(e)
                return

    def _give_up(self, exc: BaseException) -> None:
        self.save_error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._pending.clear()
        message = (f"recording run {self.run_id} to {self.store.path} stopped "
                   f"({self.save_error}); the run itself goes on")
        logger.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)

    def finish(self, status: str, result: dict[str, Any] | None, *,
               error: str | None = None) -> None:
        """End the run with its status and full result; the last events go with it."""
        if self.finished:
            return
        self.finished = True
        self._stop.set()
        if self._flusher is not threading.current_thread():
            self._flusher.join()
        if self.save_error is not None:
            return
        try:
            self.store.finish_run(self.run_id, status, result, error=error, events=self._take())
        except Exception as e:
            self._give_up(e)

    def __enter__(self) -> RunRecorder:
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


def status_of(result: Any) -> str:
    """"cancelled" for a run its caller stopped, else "done" (diverging is a result)."""
    stop = result.get("stop_reason") if isinstance(result, dict) else getattr(
        result, "stop_reason", None)
    cancelled = result.get("cancelled") if isinstance(result, dict) else None
    return "cancelled" if stop == "cancelled" or cancelled else "done"


def record_job(runner: Callable[..., dict[str, Any]], kind: str, config: dict[str, Any], *,
               label: str | None, store: RunStore | str | os.PathLike[str] | None = None,
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
              "accumulation_steps", "eval_every", "amp", "seed")


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
    if schedule is not None:
        config["schedule"] = schedule.to_dict() if hasattr(schedule, "to_dict") else schedule
    return config


def _saved_form(kind: str, result: Any, config: dict[str, Any], label: str,
                loader: Any) -> dict[str, Any]:
    """The result as the app's "range_test" / "train" job reports it."""
    from clr_core.jobs.runners import range_test_report, train_report
    from clr_core.runs.reports import TrainRun

    n = _iters_per_epoch(loader)
    if kind == "range_test":
        return range_test_report(result, config, iters_per_epoch=n,
                                 device=config["device"]).to_dict()
    run = TrainRun(label=label, train=result, config=config, iters_per_epoch=n)
    return train_report([run], config, cancelled=result.stop_reason == "cancelled").to_dict()


def _iters_per_epoch(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def record_call(kind: str, engine: Callable[..., Any], arguments: Mapping[str, Any]) -> Any:
    """Run ``engine`` (``run_range_test`` or ``run_training``) on ``arguments`` (its
    ``locals()`` will do: only its parameters are kept) recorded under
    ``arguments["record"]`` in ``arguments["store"]``; returns what the engine returns.

    The saved result has the shape of the app's "range_test" and "train" jobs."""
    params = inspect.signature(engine).parameters
    arguments = {k: v for k, v in arguments.items()
                 if k in params and params[k].kind is not inspect.Parameter.VAR_KEYWORD}
    label = str(arguments.pop("record"))
    store = arguments.pop("store", None)
    config = describe_call(arguments)
    loader = arguments.get("loader", arguments.get("train_loader"))
    curve = {"curve": label} if kind == "train" else {}
    with RunRecorder(kind, config, label=label, store=store) as rec:
        user = arguments.get("emit")

        def emit(event: Any) -> None:
            rec({**_plain(event), **curve})
            if user is not None:
                user(event)

        arguments["emit"] = emit
        result = engine(**arguments)
        rec.finish(status_of(result), _saved_form(kind, result, config, label, loader))
    return result
