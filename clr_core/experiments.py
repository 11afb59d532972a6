"""Named, JSON-safe run configurations and the runners that turn them into engine calls.

The app, the CLI and the job registry all speak in these configs, so a run can be
queued, saved, reloaded and repeated from its config alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd
import torch
from torch import nn

from clr_core import data, models, optim, plugins
from clr_core.baselines import baseline_plan
from clr_core.device import pick_device
from clr_core.errors import ConfigError
from clr_core.events import Event
from clr_core.executors import ParallelPlan
from clr_core.range_test import RangeTestResult, run_range_test
from clr_core.recommend import RECOMMENDED, combine_recommended, headline, other_rules
from clr_core.schedules import from_dict as schedule_from_dict
from clr_core.stability import summarize_stability
from clr_core.train import run_training
from clr_core.validation import (
    MAX_ITERATIONS,
    check_choice,
    check_int,
    check_lr_range,
    check_number,
    check_probability,
)

Emit = Callable[..., None]
ShouldStop = Callable[[], bool]


def no_events(event: dict | None = None, progress: float | None = None) -> None:
    """An emit for synchronous callers (CLI without a bar, lessons) that ignore events."""


def never_stop() -> bool:
    return False


#: The suggestion method whose max_lr headlines a range test and drives sweeps' rules:
#: the one the suggestion benchmark measured best (see clr_core.recommend).
PRIMARY_METHOD = RECOMMENDED


#: Settings renamed since runs were first saved: a stored config still loads.
_RENAMED_SETTINGS = {"val_every": "eval_every"}


@dataclass
class DataModelConfig:
    """What every run shares: data, model, optimizer and where to run."""

    dataset: str = "digits"
    data_root: str | None = None
    download: bool = False
    model: str = "mlp"
    optimizer: str = "sgd"
    batch_size: int = 64
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    device: str = "auto"
    amp: bool = False
    seed: int = 0
    loss: str | None = None  # a registered loss (clr_core.plugins); None: cross-entropy
    batch_to_inputs: str | None = None  # a registered batch_to_inputs function

    def validate(self) -> None:
        if self.dataset not in data.DATASETS and not plugins.is_registered("data", self.dataset):
            raise ConfigError(f"dataset must be one of {sorted(data.DATASETS)} or a registered "
                              f"plugin {plugins.names('data')}, got {self.dataset!r}")
        if self.model not in models.MODELS and not plugins.is_registered("model", self.model):
            raise ConfigError(f"model must be one of {sorted(models.MODELS)} or a registered "
                              f"plugin {plugins.names('model')}, got {self.model!r}")
        for kind in ("loss", "batch_to_inputs"):
            if getattr(self, kind) is not None:
                plugins.factory(kind, getattr(self, kind))  # refuses a name nobody registered
        if self.optimizer not in optim.OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {sorted(optim.OPTIMIZERS)}, got {self.optimizer!r}")
        check_int("batch_size", self.batch_size, lo=1)
        check_number("weight_decay", self.weight_decay, lo=0.0)
        check_probability("momentum", self.momentum)
        check_int("seed", self.seed, lo=0)
        pick_device(self.device)  # an unknown or absent device is refused here, by name

    @classmethod
    def from_dict(cls, config: dict) -> Any:
        names = {f.name for f in fields(cls)}
        config = {_RENAMED_SETTINGS.get(k, k): v for k, v in config.items()}
        unknown = sorted(set(config) - names - {"kind"})
        if unknown:
            raise ConfigError(f"unknown setting(s) {unknown}; valid: {sorted(names)}")
        obj = cls(**{k: v for k, v in config.items() if k in names})
        obj.validate()
        return obj

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RangeTestConfig(DataModelConfig):
    start_lr: float = 1e-5
    end_lr: float = 10.0
    num_iter: int = 100
    mode: str = "exp"
    smooth_beta: float = 0.98
    diverge_threshold: float = 4.0
    eval_every: int = 0
    accumulation_steps: int = 1
    sharpness_every: int = 0

    def validate(self) -> None:
        super().validate()
        check_lr_range(self.start_lr, self.end_lr)
        check_int("num_iter", self.num_iter, lo=10, hi=MAX_ITERATIONS)  # fewer points draw no curve
        check_choice("mode", self.mode, ("exp", "linear"))
        check_probability("smooth_beta", self.smooth_beta)
        check_number("diverge_threshold", self.diverge_threshold, lo=1.0, lo_open=True)
        check_int("eval_every", self.eval_every, lo=0)
        check_int("accumulation_steps", self.accumulation_steps, lo=1)
        check_int("sharpness_every", self.sharpness_every, lo=0)


@dataclass
class TrainConfig(DataModelConfig):
    """A short training run with a schedule (a `schedules.Schedule.to_dict()`)."""

    schedule: dict = field(default_factory=lambda: {"policy": "fixed", "lr": 0.05})
    num_iter: int = 300
    eval_every: int = 50
    label: str | None = None

    def validate(self) -> None:
        super().validate()
        check_int("num_iter", self.num_iter, lo=1, hi=MAX_ITERATIONS)
        check_int("eval_every", self.eval_every, lo=1)
        schedule_from_dict(self.schedule)  # raises ScheduleError with the parameter's name


@dataclass
class Built:
    """The torch objects a config describes."""

    bundle: Any
    model: nn.Module
    optimizer: torch.optim.Optimizer
    loader: torch.utils.data.DataLoader
    val_loader: torch.utils.data.DataLoader | None
    device: torch.device
    loss_fn: Callable = field(default_factory=nn.CrossEntropyLoss)
    batch_to_inputs: Callable | None = None

    @property
    def iters_per_epoch(self) -> int | None:
        try:
            return len(self.loader)
        except TypeError:  # a user's loader without a length
            return None


def build(cfg: DataModelConfig, *, lr: float, with_val: bool) -> Built:
    """Data, seeded model and optimizer for a config; the seed fixes init and batch order.
    Registered plugin factories (``clr_core.plugins``) stand in for built-in names."""
    device = pick_device(cfg.device)
    if plugins.is_registered("data", cfg.dataset):
        return _build_plugin(cfg, lr=lr, with_val=with_val, device=device)
    bundle = data.load_dataset(cfg.dataset, root=cfg.data_root, download=cfg.download)
    torch.manual_seed(cfg.seed)
    if plugins.is_registered("model", cfg.model):
        model = plugins.make_model(cfg.model).to(device)
    else:
        model = models.make_model(cfg.model, bundle.input_shape, bundle.num_classes,
                                  seed=cfg.seed).to(device)
    optimizer = optim.make_optimizer(
        cfg.optimizer, model.parameters(), lr=lr, momentum=cfg.momentum,
        weight_decay=cfg.weight_decay, nesterov=cfg.nesterov,
    )
    loader = data.make_loader(bundle.train, cfg.batch_size, shuffle=True, seed=cfg.seed, drop_last=True)
    val_loader = data.make_loader(bundle.val, 512, shuffle=False) if with_val else None
    return Built(bundle, model, optimizer, loader, val_loader, device, *_plugin_fns(cfg))


def _plugin_fns(cfg: DataModelConfig) -> tuple[Callable, Callable | None]:
    loss_fn = plugins.make_loss(cfg.loss) if cfg.loss else nn.CrossEntropyLoss()
    split = plugins.factory("batch_to_inputs", cfg.batch_to_inputs).func \
        if cfg.batch_to_inputs else None
    return loss_fn, split


def _build_plugin(cfg: DataModelConfig, *, lr: float, with_val: bool,
                  device: torch.device) -> Built:
    """A plugin's loaders come as they are (its own batch size and order)."""
    if not plugins.is_registered("model", cfg.model):
        raise ConfigError(f"the built-in model {cfg.model!r} is sized from a built-in data set; "
                          f"with the data {cfg.dataset!r} choose a model factory too")
    loader, val_loader = plugins.make_data(cfg.dataset)
    torch.manual_seed(cfg.seed)
    model = plugins.make_model(cfg.model).to(device)
    optimizer = optim.make_optimizer(
        cfg.optimizer, model.parameters(), lr=lr, momentum=cfg.momentum,
        weight_decay=cfg.weight_decay, nesterov=cfg.nesterov,
    )
    return Built(None, model, optimizer, loader, val_loader if with_val else None, device,
                 *_plugin_fns(cfg))


def job_device(config: dict) -> str:
    """The concrete device a config runs on, so the registry queues jobs per real device
    ("auto" and "cuda:0" must not count as two free devices)."""
    return str(pick_device(config.get("device", "auto")))


def suggestions_table(range_test: dict) -> pd.DataFrame:
    """A finished range test's rules other than ``recommended`` (its `to_dict()` form), one
    row each, labelled by origin, with the regret the suggestion benchmark measured."""
    cols = ["rule", "max_lr", "base_lr", "worst regret (points)", "mean regret (points)",
            "explanation", "source"]
    rows = other_rules(range_test.get("suggestions") or {})
    return pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)


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


def _headline_range(result: RangeTestResult) -> str:
    line = headline(result.suggestions)
    if line is not None:
        return line
    s = next(iter(result.suggestions.values()), None)
    if s is None:
        return f"no suggestion ({result.stop_reason})"
    return f"{s.method}: max_lr {s.max_lr:.3g}, base_lr {s.base_lr:.3g}"


def run_range_test_job(config: dict, emit: Emit, should_stop: ShouldStop, *, curve: str = "",
                       progress_span: tuple[float, float] = (0.0, 1.0)) -> dict:
    """Runner for kind "range_test": build from the config, sweep, return a JSON-safe dict."""
    cfg = RangeTestConfig.from_dict(config)
    built = build(cfg, lr=cfg.start_lr, with_val=cfg.eval_every > 0)
    on_event = _progress_emit(emit, cfg.num_iter, curve, progress_span)
    result = run_range_test(
        built.model, built.optimizer, built.loss_fn, built.loader,
        start_lr=cfg.start_lr, end_lr=cfg.end_lr, num_iter=cfg.num_iter, mode=cfg.mode,
        smooth_beta=cfg.smooth_beta, diverge_threshold=cfg.diverge_threshold,
        val_loader=built.val_loader, eval_every=cfg.eval_every or None,
        accumulation_steps=cfg.accumulation_steps, device=built.device,
        emit=on_event, should_stop=should_stop, amp=cfg.amp,
        batch_to_inputs=built.batch_to_inputs, sharpness_every=cfg.sharpness_every,
    )
    return {
        "kind": "range_test",
        "config": cfg.to_dict(),
        "iters_per_epoch": built.iters_per_epoch,
        "device": str(built.device),
        "range_test": result.to_dict(),
        "headline": _headline_range(result),
        "cancelled": result.stop_reason == "cancelled",
    }


def _training_run(cfg: TrainConfig, emit: Emit, should_stop: ShouldStop, *, curve: str,
                  progress_span: tuple[float, float]) -> dict:
    schedule = schedule_from_dict(cfg.schedule)
    start_lr = float(schedule.lr(0))
    built = build(cfg, lr=start_lr, with_val=True)
    on_event = _progress_emit(emit, cfg.num_iter, curve, progress_span)
    result = run_training(
        built.model, built.optimizer, built.loss_fn, built.loader,
        num_iter=cfg.num_iter, schedule=schedule, val_loader=built.val_loader,
        eval_every=cfg.eval_every, device=built.device, emit=on_event,
        should_stop=should_stop, amp=cfg.amp, batch_to_inputs=built.batch_to_inputs,
    )
    return {
        "label": cfg.label or cfg.schedule["policy"],
        "config": cfg.to_dict(),
        "iters_per_epoch": built.iters_per_epoch,
        "train": result.to_dict(),
    }


def run_train_job(config: dict, emit: Emit, should_stop: ShouldStop) -> dict:
    """Runner for kind "train": one or more trainings on the same data and model.

    `config["runs"]` (optional) lists overrides per curve, e.g. baselines:
    `[{"label": "1cycle", "schedule": {...}}, {"label": "fixed", "schedule": {...}}]`."""
    base = {k: v for k, v in config.items() if k != "runs"}
    variants = config.get("runs") or [{}]
    runs = []
    for i, variant in enumerate(variants):
        if should_stop():
            break
        cfg = TrainConfig.from_dict({**base, **variant})
        label = cfg.label or f"{cfg.schedule['policy']} ({cfg.optimizer})"
        cfg.label = label
        span = (i / len(variants), (i + 1) / len(variants))
        runs.append(_training_run(cfg, emit, should_stop, curve=label, progress_span=span))
    best = max(runs, key=lambda r: r["train"].get("best_val_accuracy") or 0.0, default=None)
    return {
        "kind": "train",
        "config": config,
        "runs": runs,
        "headline": (f"best: {best['label']} {100 * best['train']['best_val_accuracy']:.1f}%"
                     if best and best["train"].get("best_val_accuracy") is not None else None),
        "cancelled": should_stop(),
    }


def baseline_runs(*, schedule: dict, baselines: list[str], max_lr: float, base_lr: float,
                  num_iter: int, optimizer: str = "sgd") -> list[dict]:
    """The designed schedule plus Smith's comparison baselines, as `runs` for run_train_job."""
    runs = [{"label": f"designed: {schedule['policy']}", "schedule": schedule, "optimizer": optimizer}]
    for name in baselines:
        sched, opt_name = baseline_plan(name, max_lr=max_lr, base_lr=base_lr, num_iter=num_iter)
        runs.append({"label": f"baseline: {name}", "schedule": sched, "optimizer": opt_name})
    return runs


def verify_suggestion_runs(*, max_lr: float, num_iter: int) -> list[dict]:
    """Smith's check of a suggestion: 1cycle at the suggested max_lr against a fixed LR."""
    return [
        {"label": f"1cycle @ {max_lr:.3g}",
         "schedule": {"policy": "one_cycle", "max_lr": max_lr, "total_steps": num_iter}},
        {"label": f"fixed @ {max_lr / 10:.3g}", "schedule": {"policy": "fixed", "lr": max_lr / 10}},
    ]


def verify_config(range_test_config: dict, *, max_lr: float, num_iter: int = 300,
                  eval_every: int = 25) -> dict:
    """A "train" job that checks a range test's suggestion on the same data, model and
    optimizer settings the test used."""
    shared = {f.name for f in fields(DataModelConfig)}
    runs = verify_suggestion_runs(max_lr=max_lr, num_iter=num_iter)
    return {**{k: v for k, v in range_test_config.items() if k in shared},
            "num_iter": num_iter, "eval_every": eval_every, "schedule": runs[0]["schedule"],
            "runs": runs}


SWEEP_PARAMS = {
    "weight_decay": "Weight decay (Smith 2018: try 1e-3, 1e-4, 1e-5, 0; pick the largest that "
                    "still allows a high max_lr)",
    "batch_size": "Batch size (Smith 2018: larger batches allow larger learning rates)",
    "momentum": "Momentum (Smith 2018: test 0.9-0.99; cyclical 0.95 -> 0.85 works best)",
    "seed": "Seed: the same test repeated, to see how far each suggestion moves",
}


def _sweep_rule(param: str, curves: list[dict]) -> dict | None:
    """Apply the paper's rule to a sweep: the value to use, and why."""
    scored = []
    for c in curves:
        s = c["range_test"]["suggestions"].get(PRIMARY_METHOD)
        if s is not None and c["range_test"]["stop_reason"] != "cancelled":
            scored.append((c["value"], s["max_lr"]))
    if not scored:
        return None
    best_lr = max(lr for _, lr in scored)
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
    return {"value": value, "max_lr": lr, "why": why}


@dataclass
class SweepConfig:
    base: dict
    param: str
    values: list

    def validate(self) -> None:
        if self.param not in SWEEP_PARAMS:
            raise ConfigError(f"param must be one of {sorted(SWEEP_PARAMS)}, got {self.param!r}")
        if not isinstance(self.values, list | tuple) or len(self.values) < 2:
            raise ConfigError("a sweep needs at least two values")
        if len(set(map(repr, self.values))) != len(self.values):
            raise ConfigError(f"sweep values must be distinct, got {self.values}")
        for v in self.values:  # each value must make a valid range test
            RangeTestConfig.from_dict({**self.base, self.param: v})


def sweep_members(config: dict) -> list[dict]:
    """A sweep's range tests, one member config per value (checked), for `run_sweep_member`;
    an executor may run them in parallel and join them with `sweep_result`."""
    unknown = set(config) - {"base", "param", "values", "kind"}
    if unknown:
        raise ConfigError(f"unknown sweep setting(s) {sorted(unknown)}")
    sweep = SweepConfig(base=dict(config.get("base") or {}), param=config.get("param"),
                        values=list(config.get("values") or []))
    sweep.validate()
    return [{"label": f"{sweep.param}={v:g}" if isinstance(v, float) else f"{sweep.param}={v}",
             "value": v, "range_test": {**sweep.base, sweep.param: v}} for v in sweep.values]


def run_sweep_member(member: dict, emit: Emit, should_stop: ShouldStop, *,
                     progress_span: tuple[float, float] = (0.0, 1.0)) -> dict:
    """One curve of a sweep: its range test, events tagged with the curve's label."""
    out = run_range_test_job(member["range_test"], emit, should_stop, curve=member["label"],
                             progress_span=progress_span)
    return {"label": member["label"], "value": member["value"], "range_test": out["range_test"],
            "iters_per_epoch": out["iters_per_epoch"]}


def place_sweep_member(member: dict, device: str) -> dict:
    return {**member, "range_test": {**member["range_test"], "device": device}}


def sweep_result(config: dict, curves: list[dict], *, cancelled: bool) -> dict:
    """The sweep's result from its finished curves: the paper's rule, seed stability."""
    param = config.get("param")
    result: dict[str, Any] = {
        "kind": "sweep", "config": config, "param": param, "curves": curves,
        "cancelled": cancelled,
    }
    rule = _sweep_rule(param, curves)
    if rule:
        result["recommendation"] = rule
        result["headline"] = f"{param} = {rule['value']} (max_lr {rule['max_lr']:.3g})"
    if param == "seed":
        summary = summarize_stability([RangeTestResult.from_dict(c["range_test"]) for c in curves])
        result["stability"] = {k: asdict(v) for k, v in summary.items()}
        combined = combine_recommended(
            [RangeTestResult.from_dict(c["range_test"]).suggestions for c in curves
             if c["range_test"]["stop_reason"] != "cancelled"])
        if combined is not None:
            result["recommended"] = combined.to_dict()
            result["headline"] = (f"recommended max_lr {combined.max_lr:.3g} (band "
                                  f"{combined.low:.3g} to {combined.high:.3g}) over {len(curves)} "
                                  "seeds")
        elif PRIMARY_METHOD in summary:
            s = summary[PRIMARY_METHOD]
            result["headline"] = (f"{PRIMARY_METHOD}: median max_lr {s.median_max_lr:.3g}, "
                                  f"spread {s.spread_decades:.2f} decades over {s.n} seeds")
    return result


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


RUNNERS: dict[str, Callable[[dict, Emit, ShouldStop], dict]] = {
    "range_test": run_range_test_job,
    "train": run_train_job,
    "sweep": run_sweep_job,
}

#: Jobs whose members an executor may run in parallel (a sweep's range tests, on free
#: devices or as Ray tasks); run whole, each is still its RUNNERS entry.
PARALLEL: dict[str, ParallelPlan] = {
    "sweep": ParallelPlan(members=sweep_members, run_member=run_sweep_member,
                          combine=sweep_result, place=place_sweep_member),
}

