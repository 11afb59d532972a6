"""Data sets for range tests and training runs.

The default, scikit-learn's digits, ships with scikit-learn, so the app works offline.
The torchvision sets are read from a data root and fetched only when asked; missing
files raise `DatasetUnavailable` that says where we looked and how to get them.
Images are held as uint8 tensors and normalised per item (no PIL in the loop), which
makes small models train several times faster than torchvision's PIL transforms.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from clr_core.errors import ConfigError, DatasetUnavailable

__all__ = ["DATASETS", "DATA_ROOT_ENV", "DEFAULT_ROOT", "DataBundle", "DatasetInfo", "ImageTensorDataset", "data_root",
           "dataset_status", "load_dataset", "make_loader"]

#: Environment variable naming the data root; the default is below.
DATA_ROOT_ENV = "CLR_STUDIO_DATA"
DEFAULT_ROOT = Path("~/.cache/clr_studio")

#: Seed of the fixed digits / image-folder validation split (results comparable across runs).
SPLIT_SEED = 0


@dataclass(frozen=True)
class DatasetInfo:
    label: str
    input_shape: tuple[int, int, int] | None  # None: depends on the folder / image_size
    num_classes: int | None
    source: str  # "sklearn" | "torchvision" | "folder"
    downloadable: bool
    description: str = ""


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "Digits (8x8, bundled)", (1, 8, 8), 10, "sklearn", False,
        "scikit-learn's 1,797 handwritten digits; always available offline; trains in seconds.",
    ),
    "mnist": DatasetInfo(
        "MNIST", (1, 28, 28), 10, "torchvision", True,
        "70,000 handwritten digits (about 12 MB download).",
    ),
    "fashion_mnist": DatasetInfo(
        "Fashion-MNIST", (1, 28, 28), 10, "torchvision", True,
        "70,000 clothing images (about 30 MB download).",
    ),
    "cifar10": DatasetInfo(
        "CIFAR-10", (3, 32, 32), 10, "torchvision", True,
        "60,000 colour images, 10 classes, Smith's (2015) benchmark (about 170 MB download).",
    ),
    "cifar100": DatasetInfo(
        "CIFAR-100", (3, 32, 32), 100, "torchvision", True,
        "60,000 colour images, 100 classes (about 170 MB download).",
    ),
    "image_folder": DatasetInfo(
        "Your images (folder)", None, None, "folder", False,
        "A folder with one subfolder per class (or train/ and val/ folders of those).",
    ),
}


@dataclass
class DataBundle:
    """A train/validation pair plus what a model needs to be built for it."""

    name: str
    train: Dataset
    val: Dataset
    input_shape: tuple[int, int, int]
    num_classes: int
    classes: list[str]
    root: str | None = None


# --------------------------------------------------------------------------- torchvision
@dataclass(frozen=True)
class _TorchvisionSpec:
    cls_name: str
    folder: str  # what torchvision expects under the root
    files: tuple[str, ...]  # presence check (not integrity) for dataset_status
    mean: tuple[float, ...]
    std: tuple[float, ...]
    urls: tuple[str, ...]
    size: str


_TV: dict[str, _TorchvisionSpec] = {
    "mnist": _TorchvisionSpec(
        "MNIST", "MNIST/raw",
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"),
        (0.1307,), (0.3081,),
        ("https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
         "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
         "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
         "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz"),
        "about 12 MB",
    ),
    "fashion_mnist": _TorchvisionSpec(
        "FashionMNIST", "FashionMNIST/raw",
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"),
        (0.2860,), (0.3530,),
        tuple(f"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{f}.gz" for f in (
            "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte")),
        "about 30 MB",
    ),
    "cifar10": _TorchvisionSpec(
        "CIFAR10", "cifar-10-batches-py",
        ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
         "test_batch", "batches.meta"),
        (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
        ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",), "about 170 MB",
    ),
    "cifar100": _TorchvisionSpec(
        "CIFAR100", "cifar-100-python", ("train", "test", "meta"),
        (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762),
        ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",), "about 170 MB",
    ),
}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """`root`, else $CLR_STUDIO_DATA, else ~/.cache/clr_studio (expanded, not created)."""
    chosen = root if root not in (None, "") else os.environ.get(DATA_ROOT_ENV) or DEFAULT_ROOT
    return Path(chosen).expanduser()


class ImageTensorDataset(Dataset):
    """uint8 images (N, C, H, W) normalised per item; optional augmentation (padded random
    crop; horizontal flip for colour images only).

    Keeping uint8 costs a quarter of float32's memory (CIFAR-10: 150 MB, not 600 MB)."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, mean: Sequence[float],
                 std: Sequence[float], *, augment: bool = False) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError("images must be a uint8 tensor of shape (N, C, H, W)")
        self.images = images
        self.targets = targets.long()
        c = images.shape[1]
        self.mean = torch.tensor(mean, dtype=torch.float32).reshape(-1, 1, 1).expand(c, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).reshape(-1, 1, 1).expand(c, 1, 1)
        self.augment = augment

    def __len__(self) -> int:
        return len(self.targets)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """The usual CIFAR recipe: 4-pixel padded random crop + horizontal flip."""
        h, w = x.shape[1:]
        x = torch.nn.functional.pad(x, (4, 4, 4, 4))
        i, j = torch.randint(0, 9, (2,)).tolist()
        x = x[:, i:i + h, j:j + w]
        if x.shape[0] == 3 and torch.rand(()) < 0.5:  # mirrored digits are other digits
            x = x.flip(-1)
        return x

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = (self.images[index].float() / 255.0 - self.mean) / self.std
        return (self._augment(x) if self.augment else x), self.targets[index]

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Batched fetch (the DataLoader uses it when present): one indexing op per batch."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        x = (self.images[idx].float() / 255.0 - self.mean) / self.std
        xs = [self._augment(v) for v in x] if self.augment else x.unbind(0)
        return list(zip(xs, self.targets[idx].unbind(0), strict=True))


def _resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize once at load time (in chunks) so the loop never does it."""
    if images.shape[-2:] == (size, size):
        return images
    out = []
    for chunk in images.split(4096):
        r = torch.nn.functional.interpolate(chunk.float(), size=(size, size), mode="bilinear",
                                            antialias=True, align_corners=False)
        out.append(r.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


def _unavailable_message(name: str, root: Path, spec: _TorchvisionSpec, cause: str | None) -> str:
    info = DATASETS[name]
    where = root / spec.folder
    lines = [
        f"{info.label} is not on disk{f' and could not be downloaded ({cause})' if cause else ''}.",
        f"Looked in: {where} (data root {root}; set it with the root argument or ${DATA_ROOT_ENV}).",
        f"To fetch it: tick 'Download if missing' in the app, or call "
        f"load_dataset({name!r}, download=True) ({spec.size}).",
        "Or by hand: download " + ", ".join(spec.urls) + (
            f" and gunzip them into {where}." if spec.urls[0].endswith(".gz") and
            not spec.urls[0].endswith(".tar.gz")
            else f" and extract it into {root} (the archive holds the {spec.folder} folder)."),
    ]
    return "\n".join(lines)


def _load_torchvision(name: str, root: Path, *, download: bool, image_size: int | None,
                      augment: bool) -> DataBundle:
    import torchvision

    spec = _TV[name]
    cls = getattr(torchvision.datasets, spec.cls_name)
    try:
        if download:
            root.mkdir(parents=True, exist_ok=True)
        train = cls(str(root), train=True, download=download)
        test = cls(str(root), train=False, download=False)
    except Exception as exc:  # noqa: BLE001 - torchvision raises RuntimeError, URLError, OSError...
        not_found = isinstance(exc, RuntimeError) and "not found" in str(exc)
        if not download and not not_found:  # files are there but unreadable
            raise DatasetUnavailable(
                f"{DATASETS[name].label}: files in {root / spec.folder} could not be read "
                f"({type(exc).__name__}: {exc}). Delete that folder and download again "
                f"(load_dataset({name!r}, download=True) or 'Download if missing' in the app)."
            ) from exc
        cause = f"{type(exc).__name__}: {exc}" if download else None
        raise DatasetUnavailable(_unavailable_message(name, root, spec, cause)) from exc

    def tensors(ds) -> tuple[torch.Tensor, torch.Tensor]:
        images = torch.as_tensor(np.asarray(ds.data))
        images = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2)
        images = images.contiguous()
        if image_size is not None:
            images = _resize_uint8(images, image_size)
        return images, torch.as_tensor(np.asarray(ds.targets))

    tr_x, tr_y = tensors(train)
    te_x, te_y = tensors(test)
    return DataBundle(
        name=name,
        train=ImageTensorDataset(tr_x, tr_y, spec.mean, spec.std, augment=augment),
        val=ImageTensorDataset(te_x, te_y, spec.mean, spec.std),
        input_shape=tuple(tr_x.shape[1:]),
        num_classes=len(train.classes),
        classes=[str(c) for c in train.classes],
        root=str(root),
    )


# --------------------------------------------------------------------------- digits
@lru_cache(maxsize=4)
def _digits_arrays(val_fraction: float) -> tuple[np.ndarray, ...]:
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


# --------------------------------------------------------------------------- image folder
_FOLDER_MEAN = (0.5, 0.5, 0.5)
_FOLDER_STD = (0.5, 0.5, 0.5)


def _image_folder(path: Path, size: int, augment: bool):
    from torchvision import datasets, transforms

    steps = [transforms.Resize((size, size))]
    if augment:
        steps += [transforms.RandomCrop(size, padding=max(1, size // 8)),
                  transforms.RandomHorizontalFlip()]
    steps += [transforms.ToTensor(), transforms.Normalize(_FOLDER_MEAN, _FOLDER_STD)]
    try:
        return datasets.ImageFolder(str(path), transform=transforms.Compose(steps))
    except (FileNotFoundError, OSError) as exc:
        raise DatasetUnavailable(
            f"No images found in {path}: {exc}.\nAn image folder needs one subfolder per class "
            "with images inside (e.g. cats/1.png, dogs/2.jpg), or train/ and val/ folders laid "
            "out that way."
        ) from exc


def _load_image_folder(root, *, image_size: int | None, val_fraction: float,
                       augment: bool) -> DataBundle:
    if root in (None, ""):
        raise DatasetUnavailable(
            "The 'image_folder' data set needs a folder: pass root=<folder> (or type it in the "
            "app). It must hold one subfolder per class with the images inside.")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetUnavailable(
            f"Image folder {path} does not exist (or is not a folder). It must hold one subfolder "
            "per class with the images inside.")
    size = 32 if image_size is None else image_size
    if (path / "train").is_dir() and (path / "val").is_dir():
        train = _image_folder(path / "train", size, augment)
        val = _image_folder(path / "val", size, False)
        if train.classes != val.classes:
            raise DatasetUnavailable(
                f"{path / 'train'} and {path / 'val'} have different class folders: "
                f"{train.classes} vs {val.classes}")
        classes = train.classes
    else:
        full = _image_folder(path, size, augment)
        plain = _image_folder(path, size, False) if augment else full
        targets = np.asarray(full.targets)
        train_idx, val_idx = _split_indices(targets, val_fraction)
        if len(train_idx) == 0 or len(val_idx) == 0:
            raise DatasetUnavailable(
                f"{path} holds only {len(targets)} image(s): too few to split into training and "
                "validation sets")
        train, val, classes = Subset(full, train_idx), Subset(plain, val_idx), full.classes
    if len(classes) < 2:
        raise DatasetUnavailable(f"{path} has {len(classes)} class folder(s); a classifier needs 2+")
    return DataBundle(name="image_folder", train=train, val=val, input_shape=(3, size, size),
                      num_classes=len(classes), classes=list(classes), root=str(path))


def _split_indices(targets: np.ndarray, val_fraction: float) -> tuple[list[int], list[int]]:
    """Seeded split, stratified when the class counts allow it."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(targets))
    if len(idx) < 2:
        return idx.tolist(), []
    n_val = min(max(1, round(val_fraction * len(idx))), len(idx) - 1)
    try:
        tr, va = train_test_split(idx, test_size=n_val, stratify=targets, random_state=SPLIT_SEED)
    except ValueError:  # a class with one image, or fewer val slots than classes
        tr, va = train_test_split(idx, test_size=n_val, random_state=SPLIT_SEED)
    return sorted(tr.tolist()), sorted(va.tolist())


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
    if name == "image_folder":
        return _load_image_folder(root, image_size=image_size, val_fraction=float(val_fraction),
                                  augment=augment)
    return _load_torchvision(name, data_root(root), download=bool(download),
                             image_size=image_size, augment=augment)


def dataset_status(name: str, root: str | os.PathLike | None = None) -> str:
    """One line for the UI: is it on disk, and if not what to do (cheap: no loading)."""
    if name not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; choose one of {sorted(DATASETS)}")
    if name == "digits":
        return "Bundled with scikit-learn: always available, no download needed."
    if name == "image_folder":
        if root in (None, ""):
            return "Choose a folder with one subfolder of images per class."
        path = Path(root).expanduser()
        if not path.is_dir():
            return f"Not found: {path} is not a folder."
        base = path / "train" if (path / "train").is_dir() and (path / "val").is_dir() else path
        classes = [p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
        n = sum(1 for c in classes for f in c.rglob("*") if f.is_file())
        return f"{len(classes)} class folder(s), {n} file(s) in {base}."
    spec = _TV[name]
    base = data_root(root)
    where = base / spec.folder
    legacy = name in ("mnist", "fashion_mnist") and (base / spec.folder.split("/")[0] / "processed"
                                                     / "training.pt").is_file()
    if legacy or all((where / f).is_file() for f in spec.files):
        return f"On disk at {where}."
    return (f"Not on disk (looked in {where}); tick 'Download if missing' to fetch it "
            f"({spec.size}).")


def make_loader(dataset: Dataset, batch_size: int, *, shuffle: bool = True, seed: int = 0,
                drop_last: bool = False, num_workers: int = 0) -> DataLoader:
    """A DataLoader whose batch order depends only on `seed` (its own torch.Generator)."""
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
    return DataLoader(
        dataset, batch_size=int(batch_size), shuffle=shuffle, drop_last=drop_last,
        num_workers=num_workers, generator=generator,
        worker_init_fn=_seed_worker if num_workers else None,
        persistent_workers=False,
    )


def _seed_worker(worker_id: int) -> None:
    """Augmentation in workers draws from torch's RNG, which the loader seeds per worker;
    numpy's is seeded from it too so any numpy-based transform is reproducible."""
    np.random.seed(torch.initial_seed() % 2**32)
