"""The job runners: a config in, the engine called, a typed report out.

A runner is ``runner(config, emit, should_stop) -> dict`` (the job protocol, see
docs/architecture.md): it builds the run from its config (`clr_core.setup.configs`), passes
each engine `Event` to ``emit`` in its JSON form, and returns its report's ``to_dict()``
(`clr_core.runs.reports`), the job boundary where results stop being typed."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from clr_core.engine.baselines import baseline_lrs, baseline_plan
from clr_core.engine.events import Event
from clr_core.engine.range_test import run_range_test
from clr_core.engine.spec import RangeTestSpec, TrainSpec
from clr_core.engine.train import run_training
from clr_core.errors import ConfigError
from clr_core.jobs.confirm_job import confirm_iterations, run_confirm_job
from clr_core.jobs.executors.base import ParallelPlan
from clr_core.jobs.state import Emit, Runner, ShouldStop
from clr_core.present.labels import run_label
from clr_core.runs.recorder import status_of
from clr_core.runs.recording import Recording, group_settings
from clr_core.runs.reports import (
    RangeTestReport,
    SweepCurve,
    SweepRecommendation,
    SweepReport,
    TrainCurve,
    range_test_report,
    train_report,
)
from clr_core.schedules import from_dict as schedule_from_dict
from clr_core.schedules.rules import base_lr_for
from clr_core.setup.configs import (
    RangeTestConfig,
    SweepConfig,
    TrainConfig,
    build,
    carried_settings,
)
from clr_core.suggest.handoff import short_label, verify_schedule
from clr_core.suggest.recommend import RECOMMENDED, combine_recommended
from clr_core.suggest.stability import summarize_stability
from clr_core.trackers.operator import operator_sinks, split_log_to

__all__ = [
    "PARALLEL",
    "RUNNERS",
    "TIE_RATIO",
    "baseline_runs",
    "job_iterations",
    "never_stop",
    "no_events",
    "place_sweep_member",
    "run_range_test_job",
    "run_sweep_job",
    "run_sweep_member",
    "sweep_members",
    "sweep_result",
    "run_train_job",
    "verify_config",
    "verify_suggestion_runs",
    "with_trackers",
]


def no_events(event: dict | None = None, progress: float | None = None) -> None:
    """An emit for synchronous callers (CLI without a bar, lessons) that ignore events."""


def never_stop() -> bool:
    return False


def _progress_emit(emit: Emit, num_iter: int, curve: str,
                   span: tuple[float, float]) -> Callable[[Event], None]:
    """The engine's event sink for a job: tags each event with its curve (a sweep's value,
    a training's label), reports progress within this run's share of the job, and hands
    the registry the event's JSON form (the job boundary)."""
    lo, hi = span

    def on_event(event: Event) -> None:
        frac = min((event.iteration + 1) / num_iter, 1.0)
        emit(event.tagged(curve).to_dict(), progress=lo + (hi - lo) * frac)

    return on_event


#: The trackers a run also writes to, made for its label: ``make(label) -> [Sink, ...]``.
MakeSinks = Callable[[str], Sequence[Any]]


@contextlib.contextmanager
def _also_logged(kind: str, config: dict, make_sinks: MakeSinks | None, optimizer: Any,
                 emit: Emit, label: str) -> Iterator[tuple[Emit, Callable[[dict], None]]]:
    """The job's emit, also feeding the trackers a run asked for (the page's "Also log to",
    `clr_core.trackers.operator`; the CLI's ``--log-to``), and how to end them with the
    report; without any, the emit as it is. The store gets the job's run from the registry
    (or the CLI's recorder), as always; a tracker that fails is dropped with a warning
    (`Recording`), never costing the job."""
    sinks = list(make_sinks(label)) if make_sinks is not None else []
    if not sinks:
        yield emit, lambda report: None
        return
    with Recording(kind, config, sinks, groups=group_settings(optimizer), label=label) as rec:
        yield rec.forwarding(emit), lambda report: rec.finish(status_of(report), report)


def _range_test_report(config: dict, emit: Emit, should_stop: ShouldStop, *, curve: str = "",
                       progress_span: tuple[float, float] = (0.0, 1.0),
                       sinks: MakeSinks | None = None) -> RangeTestReport:
    cfg = RangeTestConfig.from_dict(config)
    spec = cfg.spec  # checked once, handed to the engine as it is
    built = build(cfg, lr=spec.start_lr, with_val=bool(spec.eval_every))
    ran = cfg.to_dict()
    with _also_logged("range_test", ran, sinks, built.optimizer, emit,
                      run_label("range_test", ran)) as (emit, close):
        on_event = _progress_emit(emit, spec.num_iter, curve, progress_span)
        result = run_range_test(built.model, built.optimizer, built.loss_fn, built.loader,
                                spec, val_loader=built.val_loader, device=built.device,
                                emit=on_event, should_stop=should_stop,
                                batch_to_inputs=built.batch_to_inputs)
        report = range_test_report(result, ran, iters_per_epoch=built.iters_per_epoch,
                                   device=str(built.device))
        close(report.to_dict())
    return report


def _operator(roles: list[str]) -> MakeSinks | None:
    """The operator's trackers a job's ``log_to`` ticked, one run each per curve."""
    return (lambda label: operator_sinks(roles, label=label)) if roles else None


def run_range_test_job(config: dict, emit: Emit, should_stop: ShouldStop, *,
                       sinks: MakeSinks | None = None) -> dict:
    """Runner for kind "range_test": build from the config, sweep, report; ``log_to`` (the
    page's "Also log to") records it to the operator's trackers as well, ``sinks`` to
    trackers of the caller's (`with_trackers`)."""
    config, roles = split_log_to(config)
    return _range_test_report(config, emit, should_stop,
                              sinks=sinks or _operator(roles)).to_dict()


def _training_run(cfg: TrainConfig, emit: Emit, should_stop: ShouldStop, *, curve: str,
                  progress_span: tuple[float, float], sinks: MakeSinks | None) -> TrainCurve:
    schedule = cfg.spec.resolved_schedule()
    # a warm-up starts at 0, which no optimizer takes: build at the peak, the schedule sets it
    first = float(schedule.lr(0)) or float(schedule.lr(np.arange(cfg.num_iter)).max())
    built = build(cfg, lr=first, with_val=True)
    label = cfg.label or cfg.schedule["policy"]
    ran = cfg.to_dict()
    # each curve its own tracker run (a TensorBoard folder, an MLflow run), named after it
    with _also_logged("train", ran, sinks, built.optimizer, emit, label) as (emit, close):
        on_event = _progress_emit(emit, cfg.num_iter, curve, progress_span)
        result = run_training(built.model, built.optimizer, built.loss_fn, built.loader,
                              cfg.spec, val_loader=built.val_loader, device=built.device,
                              emit=on_event, should_stop=should_stop,
                              batch_to_inputs=built.batch_to_inputs)
        run = TrainCurve(label=label, train=result, config=ran,
                         iters_per_epoch=built.iters_per_epoch)
        close(train_report([run], ran, cancelled=result.stop_reason == "cancelled").to_dict())
    return run


def run_train_job(config: dict, emit: Emit, should_stop: ShouldStop, *,
                  sinks: MakeSinks | None = None) -> dict:
    """Runner for kind "train": one or more trainings on the same data and model.

    `config["runs"]` (optional) lists overrides per curve, e.g. baselines:
    `[{"label": "1cycle", "schedule": {...}}, {"label": "fixed", "schedule": {...}}]`;
    ``log_to`` (the page's "Also log to") records each to the operator's trackers as well,
    ``sinks`` to trackers of the caller's (`with_trackers`)."""
    config, roles = split_log_to(config)
    sinks = sinks or _operator(roles)
    base = {k: v for k, v in config.items() if k != "runs"}
    variants = config.get("runs") or [{}]
    runs: list[TrainCurve] = []
    for i, variant in enumerate(variants):
        if should_stop():
            break
        cfg = TrainConfig.from_dict({**base, **variant})
        cfg.label = cfg.label or f"{cfg.schedule['policy']} ({cfg.optimizer})"
        span = (i / len(variants), (i + 1) / len(variants))
        runs.append(_training_run(cfg, emit, should_stop, curve=cfg.label, progress_span=span,
                                  sinks=sinks))
    return train_report(runs, config, cancelled=should_stop()).to_dict()


def baseline_runs(*, schedule: dict, baselines: list[str], num_iter: int,
                  optimizer: str = "sgd", name: str | None = None) -> list[dict]:
    """The schedule plus Smith's comparison baselines, as `runs` for run_train_job; the
    baselines' LRs come from the schedule (`baselines.baseline_lrs`). ``name``: what the
    schedule is called where it came from ("preset: Small ViT: warm-up cosine"); without
    it, the designer's ("designed: triangular")."""
    label = name or f"designed: {schedule['policy']}"
    runs = [{"label": label, "schedule": schedule, "optimizer": optimizer}]
    max_lr, base_lr = baseline_lrs(schedule_from_dict(schedule), num_iter)
    for name in baselines:
        sched, opt_name = baseline_plan(name, max_lr=max_lr, base_lr=base_lr, num_iter=num_iter)
        runs.append({"label": f"baseline: {name}", "schedule": sched, "optimizer": opt_name})
    return runs


def verify_suggestion_runs(*, max_lr: float, num_iter: int, policy: str = "one_cycle",
                           base_lr: float | None = None) -> list[dict]:
    """Smith's check of a suggestion: the schedule it is handed to (``policy``, sized by
    `handoff.verify_schedule`) at the suggested max_lr, against a fixed LR at the base_lr
    1cycle's rule gives (`rules.base_lr_for`, max_lr / 10)."""
    schedule = verify_schedule(policy, max_lr=max_lr, num_iter=num_iter, base_lr=base_lr)
    fixed_lr = base_lr_for(max_lr, "one_cycle")
    return [
        {"label": f"{short_label(policy)} @ {schedule['max_lr']:.3g}", "schedule": schedule},
        {"label": f"fixed @ {fixed_lr:.3g}", "schedule": {"policy": "fixed", "lr": fixed_lr}},
    ]


def verify_config(range_test_config: dict, *, max_lr: float, num_iter: int = 300,
                  eval_every: int = 25, policy: str = "one_cycle",
                  base_lr: float | None = None) -> dict:
    """A "train" job that checks a range test's suggestion on the same data, model and
    optimizer settings the test used, with the schedule it is handed to."""
    runs = verify_suggestion_runs(max_lr=max_lr, num_iter=num_iter, policy=policy,
                                  base_lr=base_lr)
    return {**carried_settings(range_test_config),
            "num_iter": num_iter, "eval_every": eval_every, "schedule": runs[0]["schedule"],
            "runs": runs}


#: Suggested max_lrs within this factor of each other are a tie: a range test's suggestion
#: moves by about this much between seeds (the seed sweep's spread on digits).
TIE_RATIO = 1.25


def _sweep_rule(param: str, curves: list[SweepCurve]) -> SweepRecommendation | None:
    """Apply the paper's rule to a sweep: the value to use, and why."""
    scored = [(c.value, c.range_test.suggestions[RECOMMENDED].max_lr) for c in curves
              if RECOMMENDED in c.range_test.suggestions
              and c.range_test.stop_reason != "cancelled"]
    if not scored:
        return None
    best_lr = max(lr for _, lr in scored)
    low_lr = min(lr for _, lr in scored)
    if param in ("weight_decay", "batch_size", "momentum") and len(scored) > 1 \
            and best_lr <= low_lr * TIE_RATIO:
        # a verdict needs evidence: curves that suggest the same max_lr say nothing
        return SweepRecommendation(
            value=None, max_lr=best_lr, tie=True,
            why=(f"a tie: every {param} suggests about the same max_lr ({low_lr:.3g} to "
                 f"{best_lr:.3g}), so this sweep cannot tell them apart. Run longer tests or "
                 "wider values before choosing"))
    if param == "weight_decay":
        ok = [(v, lr) for v, lr in scored if lr >= best_lr / 2]
        value, lr = max(ok, key=lambda t: t[0])
        why = (f"largest weight decay whose suggested max_lr ({lr:.3g}) is within a factor of 2 of "
               f"the highest ({best_lr:.3g}) — Smith 2018: pick the largest weight decay that still "
               "allows a high learning rate")
    elif param == "batch_size":
        value, lr = max(scored, key=lambda t: (t[1], t[0]))
        why = (f"allows the highest max_lr ({lr:.3g}); Smith 2018: use the largest batch that fits "
               "memory, larger batches allow larger learning rates")
    elif param == "momentum":
        value, lr = max(scored, key=lambda t: t[1])
        why = (f"allows the highest max_lr ({lr:.3g}); Smith 2018: a momentum range test shows little — "
               "use cyclical momentum 0.95 -> 0.85")
    else:
        return None
    return SweepRecommendation(value=value, max_lr=lr, why=why)


def sweep_members(config: dict) -> list[dict]:
    """A sweep's range tests, one member config per value (checked), for `run_sweep_member`;
    an executor may run them in parallel and join them with `sweep_result`."""
    sweep = SweepConfig.from_dict(config)
    return [{"label": f"{sweep.param}={v:g}" if isinstance(v, float) else f"{sweep.param}={v}",
             "value": v, "range_test": {**sweep.base, sweep.param: v}} for v in sweep.values]


def run_sweep_member(member: dict, emit: Emit, should_stop: ShouldStop, *,
                     progress_span: tuple[float, float] = (0.0, 1.0)) -> dict:
    """One curve of a sweep (a `SweepCurve`'s dict): its range test, events tagged with the
    curve's label."""
    out = _range_test_report(member["range_test"], emit, should_stop, curve=member["label"],
                             progress_span=progress_span)
    return SweepCurve(label=member["label"], value=member["value"], range_test=out.range_test,
                      iters_per_epoch=out.iters_per_epoch).to_dict()


def place_sweep_member(member: dict, device: str) -> dict:
    return {**member, "range_test": {**member["range_test"], "device": device}}


def sweep_result(config: dict, curves: list[dict], *, cancelled: bool) -> dict:
    """The sweep's report from its finished curves: the paper's rule, seed stability and
    the seeds' recommendations combined."""
    report = SweepReport(param=config.get("param"), config=config, cancelled=cancelled,
                         curves=[SweepCurve.from_dict(c) for c in curves])
    rule = _sweep_rule(report.param, report.curves)
    if rule:
        report.recommendation = rule
        report.headline = (f"{report.param}: a tie (max_lr {rule.max_lr:.3g} for every value)"
                           if rule.tie else f"{report.param} = {rule.value} (max_lr {rule.max_lr:.3g})")
    if report.param == "seed":
        report.stability = summarize_stability(c.range_test.suggestions for c in report.curves)
        report.recommended = combine_recommended(
            [c.range_test.suggestions for c in report.curves
             if c.range_test.stop_reason != "cancelled"])
        s = report.stability.get(RECOMMENDED)
        if report.recommended is not None:
            r = report.recommended
            report.headline = (f"recommended max_lr {r.max_lr:.3g} (band {r.low:.3g} to "
                               f"{r.high:.3g}) over {len(report.curves)} seeds")
        elif s is not None:
            report.headline = (f"{RECOMMENDED}: median max_lr {s.median_max_lr:.3g}, "
                               f"spread {s.spread_decades:.2f} decades over {s.n} seeds")
    return report.to_dict()


def run_sweep_job(config: dict, emit: Emit, should_stop: ShouldStop) -> dict:
    """Runner for kind "sweep": one range test per value, curves tagged, the paper's rule applied."""
    members = sweep_members(config)
    n = len(members)
    curves = []
    for i, member in enumerate(members):
        if should_stop():
            break
        curves.append(run_sweep_member(member, emit, should_stop,
                                       progress_span=(i / n, (i + 1) / n)))
    return sweep_result(config, curves, cancelled=should_stop())


def _num_iter(config: Mapping[str, Any], default: int) -> int | None:
    value = config.get("num_iter", default)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def job_iterations(kind: str, config: Mapping[str, Any]) -> int | None:
    """The training iterations a job asks for in all (a training's runs, a sweep's values
    together), read from its config before it is checked, for the server's limits per job
    and per sweep (`clr_core.jobs.limits`); None when the config does not say (the runner
    then refuses it with its own message)."""
    if kind == "range_test":
        return _num_iter(config, RangeTestSpec.num_iter)
    if kind == "train":
        base = {k: v for k, v in config.items() if k != "runs"}
        variants = config.get("runs") or [{}]
        if not isinstance(variants, list) or not all(isinstance(v, Mapping) for v in variants):
            return None
        each = [_num_iter({**base, **v}, TrainSpec.num_iter) for v in variants]
        return None if None in each else sum(each)  # type: ignore[arg-type]
    if kind == "sweep":
        base, values = config.get("base") or {}, config.get("values")
        if not isinstance(base, Mapping) or not isinstance(values, list | tuple):
            return None
        per_value = _num_iter(base, RangeTestSpec.num_iter)
        return None if per_value is None else per_value * len(values)
    if kind == "confirm":  # every trial of its plan
        return confirm_iterations(config)
    return None


def with_trackers(kind: str, sinks: Sequence[Any]) -> Runner:
    """The runner of ``kind`` ("range_test" or "train") also writing each run to ``sinks``
    (`clr_core.trackers`: the CLI's ``--log-to``); a sink makes a run of its own for each
    curve, named after the sink's ``run_name`` or else the curve."""
    if kind not in ("range_test", "train"):
        raise ConfigError(f"only range tests and trainings log to trackers, not {kind!r}")
    runner = run_range_test_job if kind == "range_test" else run_train_job
    make = (lambda label: sinks) if sinks else None
    return functools.partial(runner, sinks=make)


RUNNERS: dict[str, Runner] = {
    "range_test": run_range_test_job,
    "train": run_train_job,
    "sweep": run_sweep_job,
    "confirm": run_confirm_job,
}

#: Jobs whose members an executor may run in parallel (a sweep's range tests, on free
#: devices or as Ray tasks); run whole, each is still its RUNNERS entry.
PARALLEL: dict[str, ParallelPlan] = {
    "sweep": ParallelPlan(members=sweep_members, run_member=run_sweep_member,
                          combine=sweep_result, place=place_sweep_member),
}
