"""What a config builds: named, JSON-safe run configs (``configs``) and the torch objects they
describe: data sets (``data``: digits, splits, loaders; ``image_data``: torchvision sets and
image folders; ``data_catalogue``: what exists), models (``models``), optimizers (``optim``),
and users' own factories (``plugins``).

May import: ``clr_core.engine`` (the device), ``clr_core.suggest``, ``clr_core.schedules``,
``validation``, ``jsonsafe``, ``errors``. Not ``clr_core.runs``: the two are independent.
"""

from __future__ import annotations

from clr_core.setup.configs import (
    SWEEP_PARAMS,
    Built,
    DataModelConfig,
    RangeTestConfig,
    SweepConfig,
    TrainConfig,
    build,
    job_device,
)
from clr_core.setup.data import dataset_status, load_dataset, make_loader
from clr_core.setup.data_catalogue import DATASETS, SPLIT_SEED, DataBundle, DatasetInfo
from clr_core.setup.image_data import (
    DATA_ROOT_ENV,
    DEFAULT_ROOT,
    ImageTensorDataset,
    data_root,
    image_folder_status,
    load_image_folder,
    load_torchvision,
    torchvision_status,
)
from clr_core.setup.models import MODELS, ModelInfo, make_model
from clr_core.setup.optim import OPTIMIZERS, OptimizerInfo, make_optimizer

__all__ = [
    "Built",
    "DATASETS",
    "DATA_ROOT_ENV",
    "DEFAULT_ROOT",
    "DataBundle",
    "DataModelConfig",
    "DatasetInfo",
    "ImageTensorDataset",
    "MODELS",
    "ModelInfo",
    "OPTIMIZERS",
    "OptimizerInfo",
    "RangeTestConfig",
    "SPLIT_SEED",
    "SWEEP_PARAMS",
    "SweepConfig",
    "TrainConfig",
    "build",
    "data_root",
    "dataset_status",
    "image_folder_status",
    "job_device",
    "load_dataset",
    "load_image_folder",
    "load_torchvision",
    "make_loader",
    "make_model",
    "make_optimizer",
    "torchvision_status",
]
