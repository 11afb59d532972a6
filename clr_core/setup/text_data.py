"""A character-level text data set that needs no download: the documentation every
CPython ships in ``pydoc_data.topics`` (about 465,000 characters of English prose and
code), for language models trained the way transformers are trained today.

Characters are mapped to 96 symbols (printable ASCII and newline; anything else becomes
"?"), cut into windows of ``context`` characters; the target is the window shifted by one
character. The last tenth of the text is the validation set, so no validation window
overlaps a training one.
"""

from __future__ import annotations

from functools import lru_cache
from pydoc_data.topics import topics

import numpy as np
import torch
from torch.utils.data import TensorDataset

from clr_core.errors import ConfigError
from clr_core.setup.data_catalogue import DataBundle

__all__ = ["CONTEXT", "VOCAB", "encode", "load_text", "text_status"]

#: The 96 symbols: newline then printable ASCII; the unknown symbol is "?".
VOCAB = "\n" + "".join(chr(i) for i in range(32, 127))
_INDEX = {c: i for i, c in enumerate(VOCAB)}
CONTEXT = 64  # characters per window: a few words, enough for a 2-layer model to use
MAX_VAL_WINDOWS = 256  # 16k characters of validation text: a pass costs a few batches


def encode(text: str) -> np.ndarray:
    unknown = _INDEX["?"]
    return np.fromiter((_INDEX.get(c, unknown) for c in text), dtype=np.int64, count=len(text))


@lru_cache(maxsize=1)
def _corpus() -> np.ndarray:
    return encode("\n\n".join(topics[k] for k in sorted(topics)))


def _windows(tokens: np.ndarray, context: int, limit: int | None = None) -> TensorDataset:
    n = (len(tokens) - 1) // context
    if limit is not None:
        n = min(n, limit)
    idx = np.arange(n)[:, None] * context + np.arange(context)[None, :]
    x = torch.from_numpy(tokens[idx])
    y = torch.from_numpy(tokens[idx + 1])
    return TensorDataset(x, y)


def load_text(context: int = CONTEXT, val_fraction: float = 0.1) -> DataBundle:
    """Train and validation windows of the pydoc text; input_shape is (context,)."""
    if isinstance(context, bool) or not isinstance(context, int) or not 2 <= context <= 1024:
        raise ConfigError(f"context must be an integer between 2 and 1024, got {context!r}")
    tokens = _corpus()
    cut = int(len(tokens) * (1 - val_fraction))
    return DataBundle(
        name="pydoc_text", train=_windows(tokens[:cut], context),
        val=_windows(tokens[cut:], context, MAX_VAL_WINDOWS),
        input_shape=(context,), num_classes=len(VOCAB), classes=list(VOCAB))


def text_status() -> str:
    return "Ships with Python (pydoc_data): always available, no download needed."
