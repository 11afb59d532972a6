"""Models sized to the data: from logistic regression (seconds on a CPU) to ResNet-18.

Construction is seeded without touching the global RNG, so two runs that differ only in
their schedule start from identical weights and the comparison is about the schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from clr_core.errors import ConfigError
from clr_core.setup.sequence_models import CharLSTM, CharTransformer, ViT
from clr_core.validation import check_int

__all__ = ["MODELS", "ModelInfo", "make_model"]


@dataclass(frozen=True)
class ModelInfo:
    label: str
    description: str
    default_width: int | None
    inputs: str = "image"  # "image": (C, H, W) tensors; "text": (context,) character ids


MODELS: dict[str, ModelInfo] = {
    "logreg": ModelInfo(
        "Logistic regression", "Flatten + one linear layer: convex, the fastest sanity check.", None),
    "mlp": ModelInfo(
        "MLP (2 hidden layers)", "Flatten, two ReLU hidden layers of `width` units (default 256).",
        256),
    "cnn": ModelInfo(
        "Small CNN", "Three conv+BatchNorm stages (width, 2x, 4x channels; default 32), global "
        "average pooling; any input from 8x8 up, 1 or 3 channels.", 32),
    "resnet18": ModelInfo(
        "ResNet-18", "torchvision's ResNet-18, untrained; 3x3 stride-1 stem and no max-pool for "
        "small images (CIFAR style). Slow on a CPU.", None),
    "vit": ModelInfo(
        "Small ViT", "Vision transformer (Dosovitskiy et al. 2021): 2x2 patches on small images, "
        "a class token, 2 pre-norm blocks of `width` (default 64); train it with AdamW and "
        "warm-up.", 64),
    "char_transformer": ModelInfo(
        "Char transformer (GPT-style)", "2 causal pre-norm blocks of `width` (default 64), next-"
        "character prediction on the text data set; AdamW with warm-up.", 64, "text"),
    "char_lstm": ModelInfo(
        "Char LSTM", "One LSTM layer of `width` units (default 128), next-character prediction "
        "on the text data set.", 128, "text"),
}


def _flat(shape: Sequence[int]) -> int:
    c, h, w = shape
    return c * h * w


def _logreg(shape, num_classes, width):
    return nn.Sequential(nn.Flatten(), nn.Linear(_flat(shape), num_classes))


def _mlp(shape, num_classes, width):
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(_flat(shape), width), nn.ReLU(inplace=True),
        nn.Linear(width, width), nn.ReLU(inplace=True),
        nn.Linear(width, num_classes),
    )


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def _cnn(shape, num_classes, width):
    c, h, w = shape
    if min(h, w) < 4:
        raise ConfigError(f"the cnn needs images of at least 4x4 pixels, got {h}x{w}")
    return nn.Sequential(
        _conv_block(c, width), _conv_block(width, width), nn.MaxPool2d(2),
        _conv_block(width, 2 * width), nn.MaxPool2d(2),
        _conv_block(2 * width, 4 * width),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4 * width, num_classes),
    )


def _resnet18(shape, num_classes, width):
    c, h, w = shape
    from torchvision.models import resnet18  # deferred: torchvision costs ~2 s to import

    model = resnet18(weights=None, num_classes=num_classes)
    if min(h, w) < 64:  # the ImageNet stem would shrink 32x32 to 8x8 before the first block
        model.conv1 = nn.Conv2d(c, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif c != 3:
        model.conv1 = nn.Conv2d(c, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    return model


def _vit(shape, num_classes, width):
    if min(shape[1:]) < 4:
        raise ConfigError(f"the vit needs images of at least 4x4 pixels, got {shape[1]}x{shape[2]}")
    return ViT(shape, num_classes, width)


_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "logreg": _logreg, "mlp": _mlp, "cnn": _cnn, "resnet18": _resnet18, "vit": _vit,
    "char_transformer": lambda shape, vocab, width: CharTransformer(vocab, shape[0], width),
    "char_lstm": lambda shape, vocab, width: CharLSTM(vocab, width),
}


def _check_shape(input_shape, inputs: str) -> tuple[int, ...]:
    size = 3 if inputs == "image" else 1
    try:
        shape = tuple(int(v) for v in input_shape)
        ok = len(shape) == size and all(v > 0 for v in shape) and \
            all(not isinstance(v, bool) and int(v) == v for v in input_shape)
    except (TypeError, ValueError):
        ok = False
    if not ok and inputs == "text":
        raise ConfigError(f"this model reads text: input_shape must be (context,), got "
                          f"{input_shape!r}; choose the text data set (pydoc_text)")
    if not ok:
        hint = "; the text data set needs a text model (char_transformer, char_lstm)" \
            if isinstance(input_shape, tuple | list) and len(input_shape) == 1 else ""
        raise ConfigError(f"input_shape must be (channels, height, width) of positive integers, "
                          f"got {input_shape!r}{hint}")
    return shape


def make_model(name: str, input_shape: Sequence[int], num_classes: int, *, seed: int = 0,
               width: int | None = None) -> nn.Module:
    """A fresh model; the same seed gives identical weights (the global RNG is left alone).

    `width` sets hidden units (mlp, char_lstm), base channels (cnn) or the embedding
    (vit, char_transformer); logreg and resnet18 ignore it."""
    if name not in _BUILDERS:
        raise ConfigError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    shape = _check_shape(input_shape, MODELS[name].inputs)
    num_classes = check_int("num_classes", num_classes, lo=2)
    width = MODELS[name].default_width if width is None else check_int("width", width, lo=1)
    seed = check_int("seed", seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _BUILDERS[name](shape, num_classes, width)
