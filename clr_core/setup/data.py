"""Data sets for range tests and training runs, by name, and their loaders.

The default, scikit-learn's digits, ships with scikit-learn, so the app works offline.
The image sets (torchvision's, and the user's folders) load in `clr_core.setup.image_data`;
the catalogue of names and the bundle every loader returns are
`clr_core.setup.data_catalogue`'s.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from clr_core.engine import distributed
from clr_core.errors import ConfigError
from clr_core.setup.data_catalogue import DATASETS, SPLIT_SEED, DataBundle
from clr_core.setup.image_data import (
    image_folder_status,
    load_image_folder,
    load_torchvision,
    torchvision_status,
)
from clr_core.setup.text_data import load_text, text_status

__all__ = ["dataset_status", "load_dataset", "make_loader"]


# --------------------------------------------------------------------------- digits
@lru_cache(maxsize=4)
def _digits_arrays(val_fraction: float) -> tuple[np.ndarray, ...]:
    # deferred: importing scikit-learn costs ~1 s, paid only when digits are first loaded
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]  # (N, 1, 8, 8) in [0, 1]
    y = d.target.astype(np.int64)
    x_tr, x_va, y_tr, y_va = train_test_split(
        x, y, test_size=val_fraction, stratify=y, random_state=SPLIT_SEED)
    mean, std = float(x_tr.mean()), float(x_tr.std())  # train statistics only: no leak
    return (x_tr - mean) / std, (x_va - mean) / std, y_tr, y_va


def _load_digits(val_fraction: float) -> DataBundle:
    x_tr, x_va, y_tr, y_va = _digits_arrays(val_fraction)
    return DataBundle(
        name="digits",
        train=TensorDataset(torch.from_numpy(x_tr.copy()), torch.from_numpy(y_tr.copy())),
        val=TensorDataset(torch.from_numpy(x_va.copy()), torch.from_numpy(y_va.copy())),
        input_shape=(1, 8, 8),
        num_classes=10,
        classes=[str(i) for i in range(10)],
    )


# --------------------------------------------------------------------------- public API
def load_dataset(name: str = "digits", *, root: str | os.PathLike | None = None,
                 download: bool = False, image_size: int | None = None,
                 val_fraction: float = 0.2, augment: bool = False) -> DataBundle:
    """Train and validation sets by name.

    digits: fixed seeded, stratified split (val_fraction of 1,797). torchvision sets: the
    official test split is the validation set (val_fraction unused). image_folder: `root`
    is the folder; root/train + root/val if both exist, else a seeded split."""
    if name not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; choose one of {sorted(DATASETS)}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float) \
            or not 0 < val_fraction < 1:
        raise ConfigError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int)
                                   or not 4 <= image_size <= 1024):
        raise ConfigError(f"image_size must be an integer between 4 and 1024, got {image_size!r}")
    if name == "digits":
        if image_size not in (None, 8):
            raise ConfigError("digits are 8x8 images; image_size does not apply")
        return _load_digits(float(val_fraction))
    if name == "pydoc_text":
        if image_size is not None:
            raise ConfigError("the text data set has no images; image_size does not apply")
        return load_text()
    if name == "image_folder":
        return load_image_folder(root, image_size=image_size, val_fraction=float(val_fraction),
                                 augment=augment)
    return load_torchvision(name, root, download=bool(download), image_size=image_size,
                            augment=augment)


def dataset_status(name: str, root: str | os.PathLike | None = None) -> str:
    """One line for the UI: is it on disk, and if not what to do (cheap: no loading)."""
    if name not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; choose one of {sorted(DATASETS)}")
    if name == "digits":
        return "Bundled with scikit-learn: always available, no download needed."
    if name == "pydoc_text":
        return text_status()
    if name == "image_folder":
        return image_folder_status(root)
    return torchvision_status(name, root)


def make_loader(dataset: Dataset, batch_size: int, *, shuffle: bool = True, seed: int = 0,
                drop_last: bool = False, num_workers: int = 0) -> DataLoader:
    """A DataLoader whose batch order depends only on `seed` (its own torch.Generator).
    Under ``torchrun`` it reads this rank's shard (a ``DistributedSampler`` seeded alike)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size <= 0:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ConfigError(f"num_workers must be an integer >= 0, got {num_workers!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    n = len(dataset)
    if n == 0:
        raise ConfigError("the data set is empty")
    if drop_last and batch_size > n:
        raise ConfigError(
            f"batch_size {batch_size} is larger than the data set ({n} samples) and drop_last is "
            "on, so there would be no batches; use a smaller batch")
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    # under torchrun each rank reads its own shard, batch_size samples a rank per update
    sampler = distributed.shard_sampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)
    return DataLoader(
        dataset, batch_size=int(batch_size), shuffle=shuffle and sampler is None,
        sampler=sampler, drop_last=drop_last, num_workers=num_workers, generator=generator,
        worker_init_fn=_seed_worker if num_workers else None,
        persistent_workers=False,
    )


def _seed_worker(worker_id: int) -> None:
    """Augmentation in workers draws from torch's RNG, which the loader seeds per worker;
    numpy's is seeded from it too so any numpy-based transform is reproducible."""
    np.random.seed(torch.initial_seed() % 2**32)
