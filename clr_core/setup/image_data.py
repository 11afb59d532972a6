"""Image data sets: torchvision's, read from a data root, and the user's image folders.

The torchvision sets are fetched only when asked; missing files raise
`DatasetUnavailable` that says where we looked and how to get them. Their images are
held as uint8 tensors and normalised per item, so no PIL decode or transform runs in the
training loop. An image folder holds one subfolder per class (or train/ and val/ folders
of those) and is read through torchvision's ``ImageFolder``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from clr_core.errors import ConfigError, DatasetUnavailable
from clr_core.settings import env_name, get_settings
from clr_core.setup.data_catalogue import DATASETS, SPLIT_SEED, DataBundle
from clr_core.setup.data_roots import confine, scan_folder, shown

__all__ = ["DATA_ROOT_ENV", "ImageTensorDataset", "data_root", "image_folder_status",
           "load_image_folder", "load_torchvision", "torchvision_status"]

#: Environment variable naming the data root; the default is below.
DATA_ROOT_ENV = env_name("data")


# --------------------------------------------------------------------------- torchvision
@dataclass(frozen=True)
class _TorchvisionSpec:
    cls_name: str
    folder: str  # what torchvision expects under the root
    files: tuple[str, ...]  # presence check (not integrity) for torchvision_status
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
    """`root`, else $CLR_STUDIO_DATA, else the user cache folder (Linux: ~/.cache/clr_studio;
    expanded, not created).
    A given `root` must lie under the roots the operator allows (`data_roots.confine`)."""
    if root not in (None, ""):
        return confine(root)
    return get_settings().data_root


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


def load_torchvision(name: str, root: str | os.PathLike | None, *, download: bool,
                     image_size: int | None, augment: bool) -> DataBundle:
    """A torchvision set under `data_root(root)`; its official test split is the
    validation set."""
    root = data_root(root)
    spec = _TV[name]
    # deferred: importing torchvision costs about 2 s; digits runs and the designer never need it
    import torchvision.datasets

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


def torchvision_status(name: str, root: str | os.PathLike | None) -> str:
    """Whether a torchvision set's files are on disk (a presence check, no loading)."""
    spec = _TV[name]
    try:
        base = data_root(root)
    except ConfigError as exc:
        return str(exc)
    where = base / spec.folder
    legacy = name in ("mnist", "fashion_mnist") and (base / spec.folder.split("/")[0] / "processed"
                                                     / "training.pt").is_file()
    if legacy or all((where / f).is_file() for f in spec.files):
        return f"On disk: {shown(where)}."
    return (f"Not on disk (looked in {shown(where)}); tick 'Download if missing' to fetch it "
            f"({spec.size}).")


# --------------------------------------------------------------------------- image folder
_FOLDER_MEAN = (0.5, 0.5, 0.5)
_FOLDER_STD = (0.5, 0.5, 0.5)


def _image_folder(path: Path, size: int, augment: bool) -> Dataset:
    # deferred: importing torchvision costs about 2 s; digits runs and the designer never need it
    import torchvision.datasets
    from torchvision import transforms

    steps = [transforms.Resize((size, size))]
    if augment:
        steps += [transforms.RandomCrop(size, padding=max(1, size // 8)),
                  transforms.RandomHorizontalFlip()]
    steps += [transforms.ToTensor(), transforms.Normalize(_FOLDER_MEAN, _FOLDER_STD)]
    try:
        return torchvision.datasets.ImageFolder(str(path), transform=transforms.Compose(steps))
    except (FileNotFoundError, OSError) as exc:  # its text lists folder names: not shown
        raise DatasetUnavailable(
            f"No images found in {shown(path)} ({type(exc).__name__}).\nAn image folder needs one "
            "subfolder per class "
            "with images inside (e.g. cats/1.png, dogs/2.jpg), or train/ and val/ folders laid "
            "out that way."
        ) from exc


def load_image_folder(root, *, image_size: int | None, val_fraction: float,
                      augment: bool) -> DataBundle:
    """root/train + root/val if both exist, else a seeded split of root."""
    if root in (None, ""):
        raise DatasetUnavailable(
            "The 'image_folder' data set needs a folder: pass root=<folder> (or type it in the "
            "app). It must hold one subfolder per class with the images inside.")
    path = confine(root)
    if not path.is_dir():
        raise DatasetUnavailable(
            f"Image folder {shown(path)} does not exist (or is not a folder). It must hold one subfolder "
            "per class with the images inside.")
    size = 32 if image_size is None else image_size
    if (path / "train").is_dir() and (path / "val").is_dir():
        train = _image_folder(path / "train", size, augment)
        val = _image_folder(path / "val", size, False)
        if train.classes != val.classes:
            raise DatasetUnavailable(
                f"{shown(path / 'train')} and {shown(path / 'val')} have different class "
                "folders: "
                f"{train.classes} vs {val.classes}")
        classes = train.classes
    else:
        full = _image_folder(path, size, augment)
        plain = _image_folder(path, size, False) if augment else full
        targets = np.asarray(full.targets)
        train_idx, val_idx = _split_indices(targets, val_fraction)
        if len(train_idx) == 0 or len(val_idx) == 0:
            raise DatasetUnavailable(
                f"{shown(path)} holds only {len(targets)} image(s): too few to split into training and "
                "validation sets")
        train, val, classes = Subset(full, train_idx), Subset(plain, val_idx), full.classes
    if len(classes) < 2:
        raise DatasetUnavailable(f"{shown(path)} has {len(classes)} class folder(s); a classifier "
                                 "needs 2+")
    return DataBundle(name="image_folder", train=train, val=val, input_shape=(3, size, size),
                      num_classes=len(classes), classes=list(classes), root=str(path))


def image_folder_status(root: str | os.PathLike | None) -> str:
    """How many class folders and files a folder holds (cheap: no image is opened)."""
    if root in (None, ""):
        return "Choose a folder with one subfolder of images per class."
    try:
        path = confine(root)
    except ConfigError as exc:
        return str(exc)
    if not path.is_dir():
        return f"Not found: {shown(path)} is not a folder."
    scan = scan_folder(path)
    more = "" if scan.complete else " (counting stopped there: a big folder)"
    return f"{scan.classes} class folder(s), {scan.files} file(s){more} in {shown(scan.base)}."


def _split_indices(targets: np.ndarray, val_fraction: float) -> tuple[list[int], list[int]]:
    """Seeded split, stratified when the class counts allow it."""
    idx = np.arange(len(targets))
    if len(idx) < 2:
        return idx.tolist(), []
    n_val = min(max(1, round(val_fraction * len(idx))), len(idx) - 1)
    # deferred: importing scikit-learn costs about 1 s, paid only when a split is made
    from sklearn.model_selection import train_test_split

    try:
        tr, va = train_test_split(idx, test_size=n_val, stratify=targets, random_state=SPLIT_SEED)
    except ValueError:  # a class with one image, or fewer val slots than classes
        tr, va = train_test_split(idx, test_size=n_val, random_state=SPLIT_SEED)
    return sorted(tr.tolist()), sorted(va.tolist())
