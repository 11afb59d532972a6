"""Named, JSON-safe run configurations and the torch objects they describe.

The app, the CLI and the job registry all speak in these configs, so a run can be
queued, saved, reloaded and repeated from its config alone. A config is the data, model,
optimizer and device (`DataModelConfig`, checked here by `clr_core.validation`) beside the
run's settings, one `clr_core.engine.spec.RangeTestSpec` or `TrainSpec` (checked by the
spec itself), which the runners in `clr_core.jobs.runners` hand to the engine unchanged.
Its dict form stays flat (``{"dataset": ..., "num_iter": ...}``), as runs were stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

import torch
from torch import nn

from clr_core.engine import distributed
from clr_core.engine.device import pick_device
from clr_core.engine.spec import RangeTestSpec, TrainSpec
from clr_core.errors import ConfigError
from clr_core.setup import data, data_catalogue, models, optim, plugins
from clr_core.setup.data_roots import confine
from clr_core.validation import check_int, check_number, check_probability, check_seed

__all__ = [
    "LOOP_SETTINGS",
    "SHARPNESS_EVERY",
    "SWEEP_PARAMS",
    "Built",
    "DataModelConfig",
    "RangeTestConfig",
    "SweepConfig",
    "TrainConfig",
    "build",
    "carried_settings",
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
    seed: int = 0  # the model's initial weights and the batch order
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
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: The range-test page's "measure sharpness every k iterations": about five estimates in the
#: default 100-iteration test (bench/sharpness.py); the Learn page's lesson 3 uses the same.
SHARPNESS_EVERY = 20


#: Settings both specs hold under one name but that mean something else in each: a sweep's
#: length, validation interval and smoothed-loss stop are not a training's.
_NOT_CARRIED = frozenset({"num_iter", "eval_every", "diverge_threshold", "seed"})
#: The loop's settings both specs hold (gradient accumulation, precision, clipping): a
#: training that checks a range test's suggestion runs with the test's
#: (`clr_core.jobs.runners.verify_config`, the Confirm trials). Read off the two specs, so a
#: loop setting added to both travels without being listed here (issue 32: accumulation
#: was left out of a hand-written list).
LOOP_SETTINGS = tuple(n for n in RangeTestSpec.names()
                      if n in set(TrainSpec.names()) - _NOT_CARRIED)


def carried_settings(range_test_config: Mapping[str, Any]) -> dict[str, Any]:
    """What a training that checks a range test (Verify, the Confirm trials) takes from the
    test's config as it is: the data and model (`DataModelConfig`) and the loop's settings
    (`LOOP_SETTINGS`)."""
    shared = {f.name for f in fields(DataModelConfig)} | set(LOOP_SETTINGS)
    return {k: v for k, v in range_test_config.items() if k in shared}


class _SpecConfig(DataModelConfig):
    """A config whose run settings are one spec (``spec``): built from the flat settings
    (``RangeTestConfig(num_iter=60)``, `from_dict`), read through (``cfg.num_iter`` is
    ``cfg.spec.num_iter``) and written flat by `to_dict`. The spec is frozen: a changed
    setting is a new spec (``cfg.spec.replace(...)``), checked again."""

    spec_type: ClassVar[type] = RangeTestSpec
    #: a config's defaults where they differ from the engine's
    spec_defaults: ClassVar[dict[str, Any]] = {}
    #: spec fields a config does not hold: its ``seed`` is the data and model's
    not_in_config: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, spec: Any = None, **settings: Any) -> None:
        names = self.spec_names()
        mine = {k: settings.pop(k) for k in list(settings) if k in names}
        for f in fields(self):
            if f.name == "spec":
                continue
            if f.name in settings:
                value = settings.pop(f.name)
            else:
                value = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
            object.__setattr__(self, f.name, value)
        if settings:
            raise TypeError(f"{type(self).__name__}() got unexpected setting(s) "
                            f"{sorted(settings)}")
        base = spec if spec is not None else self.spec_type(**self.spec_defaults)
        object.__setattr__(self, "spec", base.replace(**mine) if mine else base)

    @classmethod
    def spec_names(cls) -> frozenset[str]:
        return frozenset(cls.spec_type.names()) - cls.not_in_config

    def __getattr__(self, name: str) -> Any:
        spec = self.__dict__.get("spec")
        if spec is not None and name in self.spec_names():
            return getattr(spec, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.spec_names():
            raise AttributeError(f"{name} is a setting of the frozen spec: use "
                                 f"cfg.spec = cfg.spec.replace({name}=...)")
        object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls, config: dict) -> Any:
        own = {f.name for f in fields(cls)} - {"spec"}
        names = own | cls.spec_names()
        config = {_RENAMED_SETTINGS.get(k, k): v for k, v in config.items()}
        unknown = sorted(set(config) - names - {"kind"})
        if unknown:
            raise ConfigError(f"unknown setting(s) {unknown}; valid: {sorted(names)}")
        obj = cls(**{k: v for k, v in config.items() if k in own})
        DataModelConfig.validate(obj)  # the data and model first, as the form reads
        settings = {k: v for k, v in config.items() if k in cls.spec_names()}
        obj.spec = obj.spec.replace(**settings) if settings else obj.spec  # checked here
        obj.check_spec()
        return obj

    def validate(self) -> None:
        super().validate()
        self.check_spec()

    def check_spec(self) -> None:
        """What a job needs of its spec beyond the spec's own checks."""

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "spec"}
        out.update((k, v) for k, v in self.spec.to_dict().items() if k in self.spec_names())
        return out


@dataclass(init=False)
class RangeTestConfig(_SpecConfig):
    """A range-test job: data and model, and the sweep's `RangeTestSpec`. A job builds the
    optimizer at ``start_lr``, so a config names it (1e-5 unless given), and validates only
    when ``eval_every`` asks for it (0: never)."""

    spec: RangeTestSpec = field(default_factory=RangeTestSpec)

    spec_type = RangeTestSpec
    spec_defaults = {"start_lr": 1e-5, "eval_every": 0}
    not_in_config = frozenset({"seed"})

    def check_spec(self) -> None:
        if self.spec.start_lr is None:
            raise ConfigError("start_lr must be a number, got None")


@dataclass(init=False)
class TrainConfig(_SpecConfig):
    """A short training job: data and model, its `TrainSpec` (the schedule, a
    `schedules.Schedule.to_dict()`) and the curve's label."""

    spec: TrainSpec = field(default_factory=TrainSpec)
    label: str | None = None

    spec_type = TrainSpec
    spec_defaults = {"schedule": {"policy": "fixed", "lr": 0.05}}


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
