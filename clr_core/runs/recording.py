"""``record=``: where a recorded run goes. The run store (a `RunRecorder`, when ``record``
names a run) and any number of sinks beside it (`Sink`: a TensorBoard log dir or an MLflow
run, `clr_core.trackers`), fed the same event dicts by one `Recording`; and ``recorded``,
which gives the engine's ``run_range_test`` / ``run_training`` their ``record=`` and
``store=`` keywords. Sinks are duck-typed here, so the store's layer never imports a tracker.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, Protocol, runtime_checkable

from clr_core.engine import distributed
from clr_core.engine.events import Event
from clr_core.engine.spec import RangeTestSpec, TrainSpec
from clr_core.errors import StoreError
from clr_core.runs.recorder import (
    FinishesOnExit,
    RunRecorder,
    StoreLike,
    describe_call,
    status_of,
)
from clr_core.runs.reports import TrainCurve, range_test_report, train_report

__all__ = [
    "RecordLike",
    "Recording",
    "Sink",
    "group_settings",
    "recorded",
    "split_record",
]

logger = logging.getLogger(__name__)


@runtime_checkable
class Sink(Protocol):
    """Somewhere else a recorded run goes beside the run store: a tracker the team already
    reads (`clr_core.trackers.TensorBoardSink`, `clr_core.trackers.MLflowSink`). A run
    ``open`` s it once, calls it with every event dict as it streams (the same dicts the
    store gets) and ``close`` s it with the final status and the saved report (None when the
    run raised). ``groups``: each param group's (lr, momentum) at the start, so a sink can
    write every group's values (a range test's events carry the reference group's)."""

    def open(self, kind: str, config: Mapping[str, Any], label: str,
             groups: list[tuple[float, float]]) -> None: ...

    def __call__(self, event: Mapping[str, Any]) -> None: ...

    def close(self, status: str, report: Mapping[str, Any] | None,
              error: str | None = None) -> None: ...


RecordLike = str | Sink | list | tuple | None


def split_record(record: RecordLike) -> tuple[str | None, list[Sink]]:
    """``record=`` as (the store run's name or None, the sinks): a name, a sink, or a list
    of a name and sinks (``["my run", TensorBoardSink("runs/tb")]``). Anything else is a
    `StoreError` naming it."""
    if record is None:
        return None, []
    items = list(record) if isinstance(record, list | tuple) else [record]
    names = [x for x in items if isinstance(x, str)]
    sinks = [x for x in items if not isinstance(x, str)]
    bad = [x for x in sinks if not isinstance(x, Sink)]
    if bad or len(names) > 1:
        raise StoreError("record= takes a run name, a sink (TensorBoardSink, MLflowSink) or a "
                         f"list of one name and sinks, got {record!r}")
    return (names[0] if names else None), sinks


def group_settings(optimizer: Any) -> list[tuple[float, float]]:
    """Each param group's (lr, momentum) now (momentum: ``momentum`` or Adam's β1; NaN
    without one)."""
    out = []
    for group in getattr(optimizer, "param_groups", None) or []:
        betas = group.get("betas")
        momentum = group.get("momentum", betas[0] if betas else None)
        try:
            out.append((float(group["lr"]), math.nan if momentum is None else float(momentum)))
        except (TypeError, ValueError, KeyError):
            out.append((math.nan, math.nan))
    return out


class Recording(FinishesOnExit):
    """One recorded run fanned out: the store run (when ``record`` names one, a
    `RunRecorder`) and every `Sink`, fed the same event dicts. A sink that fails is
    dropped with a warning: like a busy store, a tracker never costs the run."""

    def __init__(self, kind: str, config: Mapping[str, Any], record: RecordLike, *,
                 store: StoreLike = None, groups: list[tuple[float, float]] | None = None,
                 label: str | None = None) -> None:
        name = label
        label, self.sinks = split_record(record)
        # what the sinks call a run without a name of its own: the store run's name, else
        # the first sink's, else ``label`` (a job's curve), else the kind
        self.label = label or (getattr(self.sinks[0], "run_name", None) if self.sinks
                               else None) or name or kind
        self.recorder = (RunRecorder(kind, config, label=label, store=store)
                         if label is not None else None)
        self.finished = False
        for sink in list(self.sinks):
            self._guard(sink, "open", kind, dict(config), self.label, list(groups or []))

    @property
    def run_id(self) -> int | None:
        return None if self.recorder is None else self.recorder.run_id

    def _guard(self, sink: Sink, what: str, *args: Any) -> None:
        try:
            getattr(sink, what)(*args) if what != "call" else sink(*args)
        except Exception as e:  # noqa: BLE001 - a tracker never costs the run
            if sink in self.sinks:
                self.sinks.remove(sink)
            message = f"{type(sink).__name__} stopped recording ({type(e).__name__}: {e}); the run goes on"
            logger.warning(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)

    def __call__(self, event: Mapping[str, Any] | None, progress: float | None = None) -> None:
        if event is None:
            return
        if self.recorder is not None:
            self.recorder(event)
        for sink in list(self.sinks):
            self._guard(sink, "call", event)

    def finish(self, status: str, result: dict[str, Any] | None, *,
               error: str | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        if self.recorder is not None:
            self.recorder.finish(status, result, error=error)
        for sink in list(self.sinks):
            self._guard(sink, "close", status, result, error)


def _iters_per_epoch(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _saved_form(kind: str, result: Any, config: dict[str, Any], label: str,
                loader: Any) -> dict[str, Any]:
    """The result as the app's "range_test" / "train" job reports it."""
    n = _iters_per_epoch(loader)
    if kind == "range_test":
        return range_test_report(result, config, iters_per_epoch=n,
                                 device=config["device"]).to_dict()
    run = TrainCurve(label=label, train=result, config=config, iters_per_epoch=n)
    return train_report([run], config, cancelled=result.stop_reason == "cancelled").to_dict()


#: The engines' deprecated name for ``emit``, still accepted (with their warning).
_OLD_EMIT = "callback"

_RECORD_DOC = """

    ``record=NAME`` saves the run under that name to the run store while it runs, for
    the app's Runs page (`clr_core.runs.recorder`); ``store`` is a ``RunStore``, a path,
    or None for ``$CLR_STUDIO_DB``. ``record`` also takes trackers beside or instead of
    the store: ``record=["my run", TensorBoardSink("runs/tb"), MLflowSink()]``
    (`clr_core.trackers`). Events still reach ``emit``; the result is returned as
    without ``record``.
"""


def recorded(kind: str, engine: Callable[..., Any], *, home: str,
             returns: Callable[[Any], Any] | None = None) -> Callable[..., Any]:
    """``engine`` (the engine's ``run_range_test`` or ``run_training``, ``kind``
    "range_test" or "train") with two more keywords, ``record`` and ``store``: given a
    name, the run is recorded live to the store, saved in the shape of the app's job of
    that kind; without one, the engine is simply called. ``home`` is the module users
    import it from, so that pickle and ``help()`` find the wrapper, not the engine.
    ``returns``: applied to what the engine returns before the caller gets it (the range
    test's result as one that shows itself, `clr_core.present.notebook.shown`)."""
    finish = returns or (lambda result: result)
    signature = inspect.signature(engine)
    params = list(signature.parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    added = [
        inspect.Parameter("record", inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation="str | Sink | list | None"),
        inspect.Parameter("store", inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation="RunStore | str | os.PathLike[str] | None"),
    ]

    @functools.wraps(engine)
    def run(*args: Any, record: RecordLike = None, store: StoreLike = None,
            **kwargs: Any) -> Any:
        if record is None or not distributed.is_main():  # under torchrun rank 0 records
            return finish(engine(*args, **kwargs))
        split_record(record)  # a bad record= is refused before the run
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return finish(_record(kind, engine, bound, record=record, store=store))

    run.__signature__ = signature.replace(parameters=[*params[:at], *added, *params[at:]])
    run.__doc__ = (engine.__doc__ or "").rstrip() + _RECORD_DOC
    run.__module__ = home
    return run


def _settings_of(kind: str, arguments: Mapping[str, Any], extra: Mapping[str, Any]) -> dict:
    """The call's arguments with its settings spelt out as a config names them: the spec's
    defaults, the spec given, the keywords on top (the engine's own order of precedence)."""
    spec = arguments.get("spec")
    spec_type = RangeTestSpec if kind == "range_test" else TrainSpec
    defaults = {f.name: f.default for f in fields(spec_type)}
    given = spec.to_dict() if spec is not None else {}
    return {**arguments, **defaults, **given, **extra}


def _record(kind: str, engine: Callable[..., Any], bound: inspect.BoundArguments, *,
            record: RecordLike, store: StoreLike) -> Any:
    """Run ``engine`` on ``bound`` recorded as ``record`` says (a store run's name and/or
    sinks); returns what it returns."""
    arguments = bound.arguments
    extra = next((arguments[p.name] for p in bound.signature.parameters.values()
                  if p.kind is p.VAR_KEYWORD), {})
    config = describe_call(_settings_of(kind, arguments, extra))
    loader = arguments.get("loader", arguments.get("train_loader"))
    # the user's emit, under its current name or the old one
    holder, key = (extra, _OLD_EMIT) if _OLD_EMIT in extra else (arguments, "emit")
    user = holder.get(key)
    groups = group_settings(arguments.get("optimizer"))
    # under torchrun a SIGTERM (a failed peer, a time limit) cancels, and the record ends
    with distributed.sigterm_deferred(), \
            Recording(kind, config, record, store=store, groups=groups) as rec:
        label = rec.label

        def emit(event: Event) -> None:
            # the one conversion of an engine Event, tagged with its curve like a job's
            rec((event.tagged(label) if kind == "train" else event).to_dict())
            if user is not None:
                user(event)

        holder[key] = emit
        result = engine(*bound.args, **bound.kwargs)
        saved = _saved_form(kind, result, config, label, loader)
        rec.finish(status_of(saved), saved)
    return result
