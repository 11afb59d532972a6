"""Which data sets exist and what loading one returns.

Kept apart from the loaders so that the catalogue the forms and the CLI list, and the
bundle every loader returns, are one definition that the digits, torchvision and
image-folder loaders (`clr_core.setup.data`, `clr_core.setup.image_data`) share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clr_core.present.summary import RangeTestSummary, summarize

if TYPE_CHECKING:  # the catalogue is read without torch (the page's tables, the designer)
    from torch.utils.data import Dataset

    from clr_core.engine.results import RangeTestResult

__all__ = ["DATASETS", "SPLIT_SEED", "DataBundle", "DatasetInfo", "scored_by_loss", "summary_of"]

#: Seed of the fixed digits / image-folder validation split (results comparable across runs).
SPLIT_SEED = 0


@dataclass(frozen=True)
class DatasetInfo:
    label: str
    input_shape: tuple[int, ...] | None  # None: depends on the folder / image_size
    num_classes: int | None
    source: str  # "sklearn" | "torchvision" | "folder" | "python"
    downloadable: bool
    description: str = ""
    kind: str = "image"  # "image" (C, H, W) or "text" (context,) of character ids


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
    "pydoc_text": DatasetInfo(
        "Text: Python's docs (characters, bundled)", (64,), 96, "python", False,
        "About 465,000 characters of the documentation every Python ships (pydoc_data), in "
        "windows of 64 characters: next-character prediction for the language models.",
        kind="text",
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
    input_shape: tuple[int, ...]  # (C, H, W) for images, (context,) for text
    num_classes: int
    classes: list[str]
    root: str | None = None


def scored_by_loss(range_test: RangeTestResult, config: Mapping | None = None) -> bool:
    """Whether the task has no accuracy to lose (a language model's next characters are
    scored by the validation loss): its validation rows carry no accuracy, or its dataset
    is text. The benchmark's regret, in accuracy points on classification tasks, says
    nothing about such a task (`clr_core.present.summary.summarize` takes the answer)."""
    if range_test.validated_without_accuracy:
        return True
    dataset = (config or {}).get("dataset")
    if not isinstance(dataset, str):
        return False
    info = DATASETS.get(dataset)
    return info is not None and info.kind == "text"


def summary_of(range_test: RangeTestResult, config: Mapping | None = None) -> RangeTestSummary:
    """The one summary of a run's range test that the page, the Runs page, the CLI and the
    trackers' figure print: `summarize` told what the dataset is scored by."""
    return summarize(range_test, config, scored_by_loss=scored_by_loss(range_test, config))
