"""What the Lightning and Hugging Face integrations share: a training recorded live from a
trainer's hooks, a range test recorded like ``run_range_test(record=...)``, and a range
test's recommendation sized into a designed schedule.

The recording goes through `clr_core.runs.recording.Recording` (the same store path and
row shape as ``record=``, and the same trackers beside it), so the Runs page draws a
Lightning fit or a ``Trainer.train`` exactly as it draws a script's ``run_training``: a
"train" run with one curve.
"""

from __future__ import annotations

import atexit
import math
import sys
import time
import weakref
from collections.abc import Mapping
from typing import Any

from clr_core.engine import distributed
from clr_core.engine.events import EVAL, STEP, Event
from clr_core.engine.param_groups import get_momentum
from clr_core.engine.results import RangeTestResult, TrainResult
from clr_core.errors import ConfigError
from clr_core.present.notebook import shown
from clr_core.runs.recorder import StoreLike, status_of
from clr_core.runs.recording import Recording, RecordLike, group_settings, split_record
from clr_core.runs.reports import TrainCurve, range_test_report, train_report
from clr_core.schedules import make_schedule
from clr_core.schedules.registry import POLICIES
from clr_core.schedules.rules import decay_steps_for, warmup_steps_for
from clr_core.suggest.schedule_fit import FITTED_POLICIES, for_schedule
from clr_core.suggest.types import Suggestion

__all__ = [
    "LiveTraining",
    "group_values",
    "record_range_test",
    "recommendation",
    "schedule_for",
]


def group_values(optimizer: Any) -> tuple[list[float], list[float]]:
    """The LR and momentum (betas[0] for Adam-family; NaN without one) of every param
    group, in the optimizer's order."""
    lrs, momenta = [], []
    for group in getattr(optimizer, "param_groups", None) or []:
        lrs.append(float(group["lr"]))
        m = get_momentum(group)
        momenta.append(math.nan if m is None else m)
    return lrs, momenta


def _finite(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


_OPEN: weakref.WeakSet[LiveTraining] = weakref.WeakSet()


@atexit.register
def _finish_open_runs() -> None:
    """A script that dies of an uncaught exception still ends its runs, as "failed" (or
    "cancelled" for Ctrl-C) with everything recorded so far; a trainer that reports its
    own exceptions (Lightning) ends them before this."""
    exc = getattr(sys, "last_value", None)
    for live in list(_OPEN):
        live.end_by(exc if exc is not None else RuntimeError(
            "the process exited before the training ended"))


class LiveTraining:
    """One training recorded live from a trainer's hooks: ``start`` it, feed it each
    optimizer update (``step``) and each validation (``evaluated``), then ``finish`` it;
    ``end_by(exception)`` marks a run an exception stopped, keeping what it recorded.
    Each event carries the reference group's lr and momentum (the group with the largest
    LR at the first update, as the range test picks it); with several param groups, every
    group's values ride along as ``group_lrs`` / ``group_momentums``.

    ``label`` is ``record=`` of the engine's runs: a store run's name, a sink (a
    TensorBoard log dir, an MLflow run: `clr_core.trackers`), or a list of one name and
    sinks, so ``StudioCallback(["my run", TensorBoardSink("runs/tb")])`` writes a fit to
    the store and TensorBoard alike (`Recording`); a sink that fails is dropped with a
    warning, never costing the training."""

    def __init__(self, label: RecordLike, *, store: StoreLike = None) -> None:
        name, sinks = split_record(label)
        self.record = label
        self.label = name or next((str(s.run_name) for s in sinks
                                   if getattr(s, "run_name", None)), None) or "training"
        self.has_sinks = bool(sinks)
        self.store = store
        self.recorder: Recording | None = None
        self.result = TrainResult()
        self.config: dict[str, Any] = {}
        self.iters_per_epoch: int | None = None
        self.reference_group: int | None = None
        self._t0 = 0.0

    @property
    def run_id(self) -> int | None:
        return None if self.recorder is None else self.recorder.run_id

    def start(self, config: Mapping[str, Any], *, num_iter: int | None,
              iters_per_epoch: int | None, device: str) -> None:
        if self.recorder is not None and not self.recorder.finished:
            self.finish("done")
        self.config = dict(config)
        self.iters_per_epoch = iters_per_epoch
        self.result = TrainResult(num_iter=int(num_iter or 0), device=device)
        self.reference_group = None
        self.recorder = Recording("train", self.config, self.record, store=self.store)
        self._t0 = time.perf_counter()
        _OPEN.add(self)

    def _emit(self, event: Event, extra: Mapping[str, Any] | None = None) -> None:
        if self.recorder is not None:
            d = event.tagged(self.label).to_dict()
            if extra:
                d.update(extra)
            self.recorder(d)

    def step(self, iteration: int, loss: float, lrs: list[float], momenta: list[float]) -> None:
        """One optimizer update: the loss of its batch(es) and what every group used."""
        r = self.result
        if self.reference_group is None and lrs:
            self.reference_group = max(range(len(lrs)), key=lambda i: (lrs[i], -i))
        ref = self.reference_group or 0
        lr = lrs[ref] if lrs else math.nan
        momentum = momenta[ref] if momenta else math.nan
        loss = _finite(loss) if loss is not None else math.nan
        r.iterations.append(int(iteration))
        r.lrs.append(lr)
        r.momentums.append(momentum)
        r.losses.append(loss)
        r.batch_accuracies.append(math.nan)
        # every group's values when there are several, or a tracker to write them per group
        extra = {"group_lrs": lrs, "group_momentums": momenta} \
            if len(lrs) > 1 or (self.has_sinks and lrs) else None
        self._emit(Event(STEP, int(iteration), lr=lr, loss=loss, momentum=momentum), extra)

    def evaluated(self, iteration: int, *, val_loss: Any = None, val_accuracy: Any = None,
                  metrics: Mapping[str, Any] | None = None) -> None:
        """One validation pass; ``metrics`` (every number the trainer logged) ride along."""
        r = self.result
        lr = r.lrs[-1] if r.lrs else math.nan
        event = Event(EVAL, int(iteration), lr=lr, val_loss=_finite(val_loss),
                      val_accuracy=_finite(val_accuracy))
        r.evals.append(event)
        acc = event.val_accuracy
        if math.isfinite(acc):
            r.final_val_accuracy = acc
            if r.best_val_accuracy is None or acc > r.best_val_accuracy:
                r.best_val_accuracy, r.best_iteration = acc, int(iteration)
        extra = None
        if metrics:
            extra = {"metrics": {str(k): _finite(v) for k, v in metrics.items()}}
        self._emit(event, extra)

    def finish(self, status: str = "done", *, error: str | None = None,
               stop_reason: str | None = None) -> None:
        """End the run with its full result (the same shape ``run_training(record=)``
        saves); what was recorded before an error is kept."""
        rec = self.recorder
        if rec is None or rec.finished:
            return
        _OPEN.discard(self)
        r = self.result
        r.stop_reason = stop_reason or {"done": "completed"}.get(status, status)
        r.elapsed_s = time.perf_counter() - self._t0
        if self.iters_per_epoch:
            r.epochs = len(r.iterations) / self.iters_per_epoch
        curve = TrainCurve(label=self.label, train=r, config=self.config,
                           iters_per_epoch=self.iters_per_epoch)
        report = train_report([curve], self.config, cancelled=status == "cancelled")
        if report.headline is None:  # no accuracy logged (a language model): the loss says it
            val = [e.val_loss for e in r.evals if math.isfinite(e.val_loss)]
            train = [x for x in r.losses if math.isfinite(x)]
            if val:
                report.headline = f"{self.label}: val loss {val[-1]:.4g}"
            elif train:
                report.headline = f"{self.label}: last loss {train[-1]:.4g}"
        rec.finish(status, report.to_dict(), error=error)

    def end_by(self, exc: BaseException) -> None:
        """The run stopped by ``exc``: Ctrl-C is "cancelled", anything else "failed"."""
        if isinstance(exc, KeyboardInterrupt):
            self.finish("cancelled", error="interrupted from the keyboard")
        else:
            self.finish("failed", error=f"{type(exc).__name__}: {exc}", stop_reason="cancelled")

    def __enter__(self) -> LiveTraining:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is not None:
            self.end_by(exc)
        else:
            self.finish("done")


def record_range_test(run: Any, config: Mapping[str, Any], *, label: Any,
                      store: StoreLike, iters_per_epoch: int | None,
                      device: str | None, optimizer: Any = None) -> RangeTestResult:
    """``run(emit)`` (a range test on the engine) recorded live as ``label`` says (a run
    name, a `clr_core.runs.recorder.Sink` such as a TensorBoard log dir, or a list of a name
    and sinks: ``record=`` of the integrations), saved in the shape
    ``run_range_test(record=...)`` saves; without one it simply runs. Under several
    processes (torchrun, a Lightning "ddp" Trainer) rank 0 alone records, as
    ``record=`` does, and a SIGTERM there cancels the run rather than leave it "running"."""
    if label is None or not distributed.is_main():
        return shown(run(None))
    config = dict(config)
    with distributed.sigterm_deferred(), \
            Recording("range_test", config, label, store=store,
                      groups=group_settings(optimizer)) as rec:
        result = run(lambda event: rec(event.to_dict()))
        saved = range_test_report(result, config, iters_per_epoch=iters_per_epoch,
                                  device=device).to_dict()
        rec.finish(status_of(saved), saved)
    return shown(result)


def recommendation(result: RangeTestResult | Suggestion) -> Suggestion:
    """A range test's ``recommended`` suggestion (or the suggestion given)."""
    if isinstance(result, Suggestion):
        return result
    rec = getattr(result, "suggestions", {}).get("recommended")
    if rec is None:
        raise ConfigError("the range test has no 'recommended' suggestion (it stopped with "
                          f"{getattr(result, 'stop_reason', '?')!r}); pick a suggestion yourself")
    return rec


def schedule_for(result: RangeTestResult | Suggestion, policy: str = "one_cycle", *,
                 total_steps: int, **params: Any) -> Any:
    """The recommendation as a designed `Schedule` of ``total_steps`` updates: its max_lr
    (and base_lr where the policy has one), two cycles for the cyclical policies (Smith
    2015), a 10% warm-up and for WSD a 20% cool-down; ``params`` override any of it."""
    if policy not in POLICIES:
        raise ConfigError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")
    if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps < 4:
        raise ConfigError(f"total_steps must be an integer >= 4, got {total_steps!r}")
    rec = recommendation(result)
    names = {p.name for p in POLICIES[policy].params}
    sized: dict[str, Any] = {"max_lr": rec.max_lr, "base_lr": rec.base_lr,
                             "total_steps": total_steps,
                             "step_size_up": max(1, total_steps // 4),
                             "warmup_steps": warmup_steps_for(total_steps),
                             "decay_steps": decay_steps_for(total_steps)}
    chosen = {k: v for k, v in sized.items() if k in names}
    chosen.update(params)
    if policy in FITTED_POLICIES and "max_lr" not in params:
        # a schedule that holds its peak (WSD) gets the peak that keeps 1cycle's mean LR,
        # as the benchmark trains it; an explicit max_lr is the caller's and kept
        chosen["max_lr"] = for_schedule(rec, {"policy": policy, **chosen}).max_lr
    return make_schedule(policy, **chosen)
