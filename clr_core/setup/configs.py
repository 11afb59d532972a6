"""Named, JSON-safe run configurations and the torch objects they describe.

The app, the CLI and the job registry all speak in these configs, so a run can be
queued, saved, reloaded and repeated from its config alone. Each field is checked once,
here, by `clr_core.validation`; the runners in `clr_core.jobs.runners` turn a config into
an engine call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
from torch import nn

from clr_core.engine import distributed
from clr_core.engine.device import pick_device
from clr_core.errors import ConfigError
from clr_core.schedules import from_dict as schedule_from_dict
from clr_core.setup import data, data_catalogue, models, optim, plugins
from clr_core.setup.data_roots import confine
from clr_core.validation import (
    MAX_ITERATIONS,
    check_choice,
    check_grad_clip,
    check_int,
    check_lr_range,
    check_lr_values,
    check_number,
    check_probability,
    check_seed,
)

__all__ = [
    "SHARPNESS_EVERY",
    "SWEEP_PARAMS",
    "Built",
    "DataModelConfig",
    "RangeTestConfig",
    "SweepConfig",
    "TrainConfig",
    "build",
    "job_device",
]


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
    beta2: float = 0.999  # Adam / AdamW's second-moment decay (0.95 for transformers, 0.999 default)
    nesterov: bool = False
    device: str = "auto"
    amp: bool = False
    #: gradient clipping as the real run has it (None: off): global norm, elementwise value
    grad_clip_norm: float | None = None
    grad_clip_value: float | None = None
    seed: int = 0
    loss: str | None = None  # a registered loss (clr_core.setup.plugins); None: cross-entropy
    batch_to_inputs: str | None = None  # a registered batch_to_inputs function

    def validate(self) -> None:
        datasets = data_catalogue.DATASETS
        if self.dataset not in datasets and not plugins.is_registered("data", self.dataset):
            raise ConfigError(f"dataset must be one of {sorted(datasets)} or a registered "
                              f"plugin {plugins.names('data')}, got {self.dataset!r}")
        if self.model not in models.MODELS and not plugins.is_registered("model", self.model):
            raise ConfigError(f"model must be one of {sorted(models.MODELS)} or a registered "
                              f"plugin {plugins.names('model')}, got {self.model!r}")
        model, data_info = models.MODELS.get(self.model), datasets.get(self.dataset)
        if model is not None and data_info is not None and model.inputs != data_info.kind:
            raise ConfigError(f"the model {self.model!r} reads {model.inputs} and the data set "
                              f"{self.dataset!r} is {data_info.kind}: pick one of its models "
                              f"({', '.join(n for n, m in models.MODELS.items() if m.inputs == data_info.kind)})")
        for kind in ("loss", "batch_to_inputs"):
            if getattr(self, kind) is not None:
                plugins.factory(kind, getattr(self, kind))  # refuses a name nobody registered
        if self.optimizer not in optim.OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {sorted(optim.OPTIMIZERS)}, got {self.optimizer!r}")
        check_int("batch_size", self.batch_size, lo=1)
        check_number("weight_decay", self.weight_decay, lo=0.0)
        check_probability("momentum", self.momentum)
        check_probability("beta2", self.beta2)
        check_seed(self.seed)
        self.grad_clip_norm = check_grad_clip("grad_clip_norm", self.grad_clip_norm)
        self.grad_clip_value = check_grad_clip("grad_clip_value", self.grad_clip_value)
        if self.data_root not in (None, ""):
            confine(self.data_root)  # a folder outside the allowed roots is refused by name
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


#: The range-test page's "measure sharpness every k iterations": about five estimates in the
#: default 100-iteration test (bench/sharpness.py); the Learn page's lesson 3 uses the same.
SHARPNESS_EVERY = 20


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
        check_int("num_iter", self.num_iter, lo=10, hi=MAX_ITERATIONS)  # fewer: no curve
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
        sched = schedule_from_dict(self.schedule)  # ScheduleError names the parameter
        if sched.total_steps is None or self.num_iter <= sched.total_steps:
            check_lr_values(sched.trace(self.num_iter))  # 1e300: refused before the run


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
    Registered plugin factories (``clr_core.setup.plugins``) stand in for built-in names."""
    device = pick_device(cfg.device)
    if plugins.is_registered("data", cfg.dataset):
        return _build_plugin(cfg, lr=lr, with_val=with_val, device=device)
    bundle = data.load_dataset(cfg.dataset, root=cfg.data_root, download=cfg.download)
    torch.manual_seed(cfg.seed)
    groups = None
    if plugins.is_registered("model", cfg.model):
        model, groups = plugins.make_model_groups(cfg.model)
        model = model.to(device)
    else:
        model = models.make_model(cfg.model, bundle.input_shape, bundle.num_classes,
                                  seed=cfg.seed).to(device)
    optimizer = _optimizer(cfg, model, groups, lr)
    loader = data.make_loader(bundle.train, cfg.batch_size, shuffle=True, seed=cfg.seed, drop_last=True)
    val_loader = data.make_loader(bundle.val, 512, shuffle=False) if with_val else None
    model = distributed.wrap_model(model)  # under torchrun: DDP, after the optimizer is made
    return Built(bundle, model, optimizer, loader, val_loader, device, *_plugin_fns(cfg))


def _optimizer(cfg: DataModelConfig, model: nn.Module, groups: list[dict] | None,
               lr: float) -> torch.optim.Optimizer:
    """The config's optimizer on the model, or on the param groups its factory returned
    (their LR ratios kept, the largest at ``lr``)."""
    params = optim.scaled_groups(groups, lr) if groups else model.parameters()
    return optim.make_optimizer(cfg.optimizer, params, lr=lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay, nesterov=cfg.nesterov,
                                betas=(cfg.momentum, cfg.beta2))


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
    model, groups = plugins.make_model_groups(cfg.model)
    model = model.to(device)
    optimizer = _optimizer(cfg, model, groups, lr)
    model = distributed.wrap_model(model)  # its loaders as given: a DistributedSampler's own
    return Built(None, model, optimizer, loader, val_loader if with_val else None, device,
                 *_plugin_fns(cfg))


def job_device(config: dict) -> str:
    """The concrete device a config runs on, so the registry queues jobs per real device
    ("auto" and "cuda:0" must not count as two free devices)."""
    return str(pick_device(config.get("device", "auto")))


#: What a sweep may vary: one range test per value (Smith 2018 tests weight decay, batch
#: size and momentum; seeds show how far a suggestion moves).
SWEEP_PARAMS = ("weight_decay", "batch_size", "momentum", "seed")


@dataclass
class SweepConfig:
    """A sweep: one range test per value of ``param`` over the ``base`` config."""

    param: str
    values: list
    base: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.param not in SWEEP_PARAMS:
            raise ConfigError(f"param must be one of {sorted(SWEEP_PARAMS)}, got {self.param!r}")
        if not isinstance(self.values, list | tuple) or len(self.values) < 2:
            raise ConfigError("a sweep needs at least two values")
        if len(set(map(repr, self.values))) != len(self.values):
            raise ConfigError(f"sweep values must be distinct, got {self.values}")
        for v in self.values:  # each value must make a valid range test
            RangeTestConfig.from_dict({**self.base, self.param: v})

    @classmethod
    def from_dict(cls, config: dict) -> SweepConfig:
        """A job's sweep config, checked (unknown settings refused, like its siblings')."""
        unknown = set(config) - {"base", "param", "values", "kind"}
        if unknown:
            raise ConfigError(f"unknown sweep setting(s) {sorted(unknown)}")
        sweep = cls(base=dict(config.get("base") or {}), param=config.get("param"),
                    values=list(config.get("values") or []))
        sweep.validate()
        return sweep
