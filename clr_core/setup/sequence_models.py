"""The models people train with AdamW today, at a size a CPU trains in seconds: a
GPT-style character transformer, a character LSTM, and a vision transformer (ViT).

The language models return logits shaped (batch, vocabulary, time), the layout
``nn.CrossEntropyLoss`` reads against (batch, time) targets, so the engine's loss, its
validation loss and its divergence test work unchanged; accuracy does not apply (the
validation loss is the score).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CharLSTM", "CharTransformer", "ViT"]


def _pre_norm_blocks(width: int, heads: int, hidden: int, layers: int) -> nn.TransformerEncoder:
    """The GPT-2 / ViT block stack both transformers share: pre-norm, GELU, no dropout (a
    range test reads the optimizer, not the regulariser)."""
    layer = nn.TransformerEncoderLayer(width, heads, hidden, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class CharTransformer(nn.Module):
    """Pre-norm causal transformer (Radford et al., "Language Models are Unsupervised
    Multitask Learners", 2019, the GPT-2 layout) over character ids."""

    def __init__(self, vocab: int, context: int, width: int = 64, layers: int = 2,
                 heads: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.zeros(1, context, width))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = _pre_norm_blocks(width, heads, 4 * width, layers)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)
        mask = torch.triu(torch.full((context, context), float("-inf")), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        h = self.embed(x) + self.pos[:, :t]
        h = self.blocks(h, mask=self.mask[:t, :t], is_causal=True)
        return self.head(self.norm(h)).transpose(1, 2)


class CharLSTM(nn.Module):
    """One-layer LSTM over character ids: the recurrent baseline of language modelling."""

    def __init__(self, vocab: int, width: int = 128) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.rnn = nn.LSTM(width, width, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.embed(x))
        return self.head(h).transpose(1, 2)


class ViT(nn.Module):
    """Dosovitskiy et al., "An Image is Worth 16x16 Words", 2021, scaled down: square
    patches (2x2 on images up to 16 pixels, 4x4 above), a class token, pre-norm blocks."""

    def __init__(self, shape: tuple[int, int, int], num_classes: int, width: int = 64,
                 layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        c, h, w = shape
        patch = 2 if min(h, w) <= 16 else 4
        self.patches = nn.Conv2d(c, width, patch, stride=patch)
        n = (h // patch) * (w // patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(torch.zeros(1, n + 1, width))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = _pre_norm_blocks(width, heads, 2 * width, layers)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.patches(x).flatten(2).transpose(1, 2)
        h = torch.cat([self.cls.expand(h.shape[0], -1, -1), h], dim=1) + self.pos
        return self.head(self.norm(self.blocks(h))[:, 0])
