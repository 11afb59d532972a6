"""The modern battery of ``bench/suggestions.py``: the models people use a range test on
today, built only from what ships offline.

* a GPT-style character transformer and a character LSTM on the text every CPython carries
  (``pydoc_data.topics``), scored by validation loss (regret in % of the optimum's loss);
* a small ViT on digits (2x2 patches), scored by accuracy;
* fine-tuning: a small CNN pretrained on digits 0-4 (fixed seed, Adam, 300 steps), then
  every weight trained on digits 5-9 with a new head, scored by accuracy;

each with AdamW (decoupled weight decay; beta2 0.95 to 0.999) or Adam and the schedules
paired with them today: linear warm-up + cosine, WSD (warm-up, stable, 1-sqrt cool-down),
1cycle; at two budgets per family.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from clr_core.schedules import make_schedule
from clr_core.setup.data import load_dataset
from clr_core.setup.models import make_model
from clr_core.setup.optim import make_optimizer
from clr_core.setup.text_data import load_text

CONTEXT = 32  # characters per window in the bench (the app's default is 64): 2x cheaper
TEXT_BATCH = 16
PRETRAIN_STEPS = 300


def schedule_for(kind: str, max_lr: float, steps: int, adaptive: bool) -> dict:
    """The schedule a task trains with at ``max_lr``: 10 % warm-up, WSD's cool-down 20 %."""
    warm = max(1, steps // 10)
    if kind == "cosine":
        return {"policy": "warmup_cosine", "max_lr": float(max_lr), "total_steps": steps,
                "warmup_steps": warm}
    if kind == "wsd":
        return {"policy": "wsd", "max_lr": float(max_lr), "total_steps": steps,
                "warmup_steps": warm, "decay_steps": max(1, steps // 5)}
    return {"policy": "one_cycle", "max_lr": float(max_lr), "total_steps": steps,
            "cycle_momentum": not adaptive}


def text_tensors():
    b = load_text(CONTEXT)
    x, y = b.train.tensors
    xv, yv = b.val.tensors
    return x, y, xv, yv, b.input_shape, b.num_classes


def vit_tensors():
    b = load_dataset("digits")
    x, y = b.train.tensors
    xv, yv = b.val.tensors
    return x, y, xv, yv, tuple(b.input_shape), b.num_classes


def _split(low: bool):
    b = load_dataset("digits")
    x, y = b.train.tensors
    xv, yv = b.val.tensors
    keep, keep_v = (y < 5, yv < 5) if low else (y >= 5, yv >= 5)
    off = 0 if low else 5
    return x[keep], y[keep] - off, xv[keep_v], yv[keep_v] - off


@lru_cache(maxsize=1)
def pretrained_state() -> dict:
    """The CNN (width 16) trained on digits 0-4: the same backbone for every seed."""
    x, y, _, _ = _split(True)
    model = make_model("cnn", (1, 8, 8), 5, seed=123, width=16)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(123)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(PRETRAIN_STEPS):
        idx = torch.randint(0, len(x), (64,), generator=gen)
        opt.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def finetune_tensors():
    x, y, xv, yv = _split(False)
    return x, y, xv, yv, (1, 8, 8), 5


def finetune_model(seed: int) -> nn.Module:
    model = make_model("cnn", (1, 8, 8), 5, seed=123, width=16)
    model.load_state_dict(pretrained_state())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model[-1] = nn.Linear(model[-1].in_features, 5)  # the new head
    return model


def model_for(problem: str, name: str, shape, classes: int, seed: int) -> nn.Module:
    if problem == "finetune":
        return finetune_model(seed)
    width = {"vit": 32, "char_transformer": 64, "char_lstm": 64}[name]
    return make_model(name, shape, classes, seed=seed, width=width)


def adam_optimizer(name: str, model: nn.Module, lr: float, beta2: float,
                   weight_decay: float) -> torch.optim.Optimizer:
    return make_optimizer(name, model, lr=lr, betas=(0.9, beta2), weight_decay=weight_decay)


def make(schedule: dict):
    return make_schedule(**schedule)
