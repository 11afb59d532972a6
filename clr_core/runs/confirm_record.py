"""``record=`` for a confirmation: `clr_core.range_test.confirm_peak` and the integrations'
``confirm`` stored as the app's "confirm" job stores one (`clr_core.jobs.confirm_job`), so
the Runs page opens a script's confirmation exactly as it opens the app's.

One layout for both: a "trial" event per finished trial as it ends (`trial_event`, an
`Event`-shaped dict with the trial's `TrialCurve` fields beside), and the `ConfirmReport` at
the end. The job builds its curves and events here too. The recording itself is the range
test's (`clr_core.runs.recording.Recording`: the store and any trackers beside it, a busy
store or a failing tracker never costing the run; rank 0 alone records under torchrun).
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

from clr_core.engine import distributed
from clr_core.engine.confirm import losses_of, planned_pick
from clr_core.engine.events import Event
from clr_core.engine.results import RangeTestResult, TrainResult
from clr_core.errors import ConfigError
from clr_core.present.confirm import metric_of
from clr_core.runs.recorder import StoreLike, describe_call, status_of
from clr_core.runs.recording import Recording, RecordLike, split_record
from clr_core.runs.reports import ConfirmReport, TrialCurve
from clr_core.suggest.confirm import ConfirmResult, Trial
from clr_core.validation import check_callable

__all__ = ["TRIAL", "confirm_settings", "measured_curve", "record_confirmation",
           "recorded_confirm", "report_metric", "trial_curve", "trial_event"]

#: The event kind of one finished trial.
TRIAL = "trial"

#: Heard once per finished trial, in the order they ran.
Heard = Callable[[TrialCurve], None]


def trial_curve(trial: Trial, run: TrainResult | None) -> TrialCurve:
    """A trial the engine trained (``run``: its training, None when it was not kept)."""
    last = run.evals[-1] if run is not None and run.evals else None
    return TrialCurve(peak=float(trial.peak), fraction=float(trial.fraction), seed=int(trial.seed),
                      score=float(trial.score),
                      steps=len(run.losses) if run is not None else 0,
                      losses=tuple(losses_of(run)) if run is not None else (),
                      val_loss=last.val_loss if last is not None else math.nan,
                      val_accuracy=last.val_accuracy if last is not None else math.nan,
                      stop_reason=run.stop_reason if run is not None else "completed")


def measured_curve(trial: Trial, *, steps: int, val_loss: float | None,
                   val_accuracy: float | None) -> TrialCurve:
    """A trial another loop trained (a Lightning Trainer's, a transformers Trainer's): what
    it validated; no loss curve, since only the trainer saw its batches."""
    def num(v: float | None) -> float:
        return math.nan if v is None else float(v)

    score = float(trial.score)
    return TrialCurve(peak=float(trial.peak), fraction=float(trial.fraction), seed=int(trial.seed),
                      score=score, steps=int(steps), val_loss=num(val_loss),
                      val_accuracy=num(val_accuracy),
                      stop_reason="completed" if math.isfinite(score) else "diverged")


def trial_event(index: int, curve: TrialCurve) -> dict:
    """A finished trial as the job streams it: an `Event`-shaped dict (kind "trial", the
    peak as its lr) with the trial's own fields beside."""
    base = Event(TRIAL, index, lr=curve.peak, loss=curve.score, val_loss=curve.val_loss,
                 val_accuracy=curve.val_accuracy, curve=f"trial {index}").to_dict()
    return {**curve.to_dict(), **base}


def report_metric(metric: str, curves: list[TrialCurve]) -> str:
    """What the scores are: ``metric`` as asked, or for "auto" accuracy where a trial
    measured one, else loss."""
    return metric if metric != "auto" else metric_of(curves)


def confirm_settings(result: RangeTestResult, *, budget: int, schedule: Any,
                     trainings: float, metric: str, seed: int,
                     described: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A recorded confirmation's config, in the keys the app's job config has (the sweep's
    curve, its pick, the planned policy and budget, the cost), with ``described`` (what
    the call ran on, `describe_call`) beside."""
    if not isinstance(result, RangeTestResult):
        raise ConfigError(f"result must be the range test's RangeTestResult, got "
                          f"{type(result).__name__}")
    policy = schedule if isinstance(schedule, str) else \
        str(schedule.get("policy", "custom")) if isinstance(schedule, Mapping) else "custom"
    config = {**(described or {}),
              "lrs": [float(v) for v in result.lrs],
              "losses": [float(v) if math.isfinite(v) else None for v in result.smoothed],
              "sweep_pick": planned_pick(result, schedule, int(budget)),
              "policy": policy, "budget": int(budget), "trainings": float(trainings),
              "metric": metric, "seed": int(seed)}
    if isinstance(schedule, Mapping):
        config["schedule"] = dict(schedule)
    return config


def _main_process() -> bool:
    """Rank 0 (or the only process). Inside a process group, its rank; before one exists
    (a Lightning "ddp" Trainer joins its group in the first trial's fit), the rank the
    launcher gave the process: torchrun's ``RANK``, Lightning's children ``LOCAL_RANK`` /
    ``NODE_RANK``."""
    if distributed.active():
        return distributed.is_main()
    for key in ("RANK", "LOCAL_RANK", "NODE_RANK"):
        try:
            if int(os.environ.get(key, "0")) > 0:
                return False
        except ValueError:
            continue
    return True


def record_confirmation(run: Callable[[Heard], ConfirmResult], config: Mapping[str, Any], *,
                        record: RecordLike, store: StoreLike, metric: str = "auto",
                        cancelled: Callable[[], bool] | None = None) -> ConfirmResult:
    """``run(heard)`` (a confirmation calling ``heard(curve)`` as each trial ends) recorded
    as ``record`` says (a run name, a sink, or a list of one name and sinks), stored as a
    "confirm" run with ``config``; None simply runs it. A bad ``record`` is a `StoreError`
    before anything trains, on every rank; under torchrun rank 0 alone records.
    ``cancelled()``: whether the caller stopped it (the run then ends "cancelled")."""
    split_record(record)  # a bad record= is refused before the trials
    if record is None or not _main_process():
        return run(lambda curve: None)
    curves: list[TrialCurve] = []
    with distributed.sigterm_deferred(), Recording("confirm", config, record, store=store) as rec:
        def heard(curve: TrialCurve) -> None:
            curves.append(curve)
            rec(trial_event(len(curves) - 1, curve))

        result = run(heard)
        report = ConfirmReport(result=result, trials=curves, metric=report_metric(metric, curves),
                               budget=int(config["budget"]),
                               policy=str(config["policy"]), config=dict(config),
                               cancelled=bool(cancelled is not None and cancelled()))
        report.headline = report.line()
        saved = report.to_dict()
        rec.finish(status_of(saved), saved)
    return result


_RECORD_DOC = """

    ``record=NAME`` stores the confirmation under that name in the run store as a
    "confirm" run, the app's Confirm layout (one "trial" event per finished trial), which
    the Runs page opens; ``store`` is a ``RunStore``, a path, or None for
    ``$CLR_STUDIO_DB``. ``record`` also takes trackers beside or instead of the store:
    ``record=["my run", TensorBoardSink("runs/tb")]``. The result is returned as without it.
"""


def recorded_confirm(engine: Callable[..., ConfirmResult], *, home: str) -> Callable[..., ConfirmResult]:
    """The engine's ``confirm_peak`` with two more keywords, ``record`` and ``store`` (as
    `clr_core.runs.recording.recorded` gives ``run_range_test``): each trial the engine hands
    ``on_trial`` is stored as it ends, then the report. ``home``: the module users import it
    from, for pickle and ``help()``."""
    signature = inspect.signature(engine)
    params = list(signature.parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    added = [inspect.Parameter("record", inspect.Parameter.KEYWORD_ONLY, default=None,
                               annotation="str | Sink | list | None"),
             inspect.Parameter("store", inspect.Parameter.KEYWORD_ONLY, default=None,
                               annotation="RunStore | str | os.PathLike[str] | None")]

    @functools.wraps(engine)
    def confirm_peak(*args: Any, record: RecordLike = None, store: StoreLike = None,
                     **kwargs: Any) -> ConfirmResult:
        if record is None:
            return engine(*args, **kwargs)
        split_record(record)  # a bad record= is refused first
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        user = check_callable("on_trial", a.get("on_trial"))
        training = a.get("training") or {}
        described = describe_call({"train_loader": a.get("train_loader"), "device": a.get("device"),
                                   **training})
        described.update(model=None,  # setup() makes it per trial: not known before
                         optimizer=getattr(a["result"], "optimizer_class", "") or None)
        config = confirm_settings(a["result"], budget=a["budget"], schedule=a["schedule"],
                                  trainings=a["trainings"], metric=a["metric"], seed=a["seed"],
                                  described=described)

        def run(heard: Heard) -> ConfirmResult:
            def on_trial(trial: Trial, training_run: TrainResult) -> None:
                heard(trial_curve(trial, training_run))
                if user is not None:
                    user(trial, training_run)

            a["on_trial"] = on_trial
            return engine(*bound.args, **bound.kwargs)

        stop = a.get("should_stop")
        return record_confirmation(run, config, record=record, store=store, metric=a["metric"],
                                   cancelled=stop)

    confirm_peak.__signature__ = signature.replace(parameters=[*params[:at], *added, *params[at:]])
    confirm_peak.__doc__ = (engine.__doc__ or "").rstrip() + _RECORD_DOC
    confirm_peak.__module__ = home
    return confirm_peak
