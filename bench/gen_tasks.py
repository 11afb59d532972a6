"""The task generator of the generated benchmark (``bench/gen_bench.py``): one training task
per integer seed, CPU-sized and offline.

A task is a family (character / byte transformer LM and RNN LM on stdlib source, ViT, CNN
with and without BatchNorm on sklearn's digits, MLP on tabular data, an MSE autoencoder, a
fine-tune of a network pretrained in the task on another split with or without
discriminative LRs, a sorting transformer) and every knob drawn from the seed: width,
depth, init scale, batch size, budget (100-1500 steps, shorter for the costlier families so
that one training takes about a second on one core), optimizer (SGD with and without
Nesterov, Adam, AdamW, NAdam, RAdam, RMSprop, Adagrad), beta2, weight decay and schedule
(1cycle, warm-up + cosine, WSD, linear decay, inverse square root, triangular CLR; built
with ``clr_core.schedules``). ``train(task, peak, fraction, seed)`` trains the task's own
schedule at ``peak`` for ``fraction`` of its budget (the schedule compressed, as a
confirming training does) and returns the validation score.
"""

from __future__ import annotations

import math
import sysconfig
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch

FAMILIES = ("char_tf", "byte_tf", "rnn_lm", "vit", "cnn_bn", "cnn_plain", "mlp_tab",
            "autoencoder", "finetune", "sort")
#: Budget range per family (steps), chosen so one training takes ~0.3-2 s on one core.
BUDGETS = {"char_tf": (100, 200), "byte_tf": (100, 200), "rnn_lm": (100, 250),
           "vit": (100, 200), "cnn_bn": (100, 400), "cnn_plain": (100, 400),
           "mlp_tab": (150, 1500), "autoencoder": (150, 1500), "finetune": (100, 400),
           "sort": (150, 500)}
OPTIMIZERS = ("sgd", "sgd_nesterov", "adam", "adamw", "nadam", "radam", "rmsprop", "adagrad")
SCHEDULES = ("one_cycle", "warmup_cosine", "wsd", "linear", "inverse_sqrt", "triangular")
ADAPTIVE = {"adam", "adamw", "nadam", "radam", "rmsprop", "adagrad"}
#: Each optimizer's grid, in thirds of a decade (log10 peak = k / 3), 12 peaks.
GRID_K = {"sgd": (-9, 2), "sgd_nesterov": (-9, 2), "adagrad": (-10, 1), "rmsprop": (-14, -3)}
ADAPTIVE_K = (-13, -2)
TEXT_MODULES = ("textwrap.py", "string.py", "bisect.py", "heapq.py", "this.py")


@dataclass(frozen=True)
class Task:
    seed: int
    family: str
    variant: str  # the family's sub-kind (data set, cell, discriminative or not, ...)
    width: int
    depth: int
    init_scale: float
    batch: int
    budget: int
    optimizer: str
    beta2: float
    weight_decay: float
    schedule: str
    metric: str  # "acc" (points) or "loss" (% of the optimum's loss)

    @property
    def name(self) -> str:
        return (f"s{self.seed}-{self.family}-{self.variant}-{self.optimizer}-{self.schedule}"
                f"-{self.budget}")

    @property
    def adaptive(self) -> bool:
        return self.optimizer in ADAPTIVE

    def grid_k(self) -> list[int]:
        lo, hi = GRID_K.get(self.optimizer, ADAPTIVE_K)
        return list(range(lo, hi + 1))

    def to_dict(self) -> dict:
        return asdict(self)


def draw_task(seed: int) -> Task:
    """The task of ``seed``: family cycles with the seed so each split covers them all."""
    rng = np.random.default_rng(seed)
    family = FAMILIES[seed % len(FAMILIES)]
    variant = {"rnn_lm": rng.choice(["lstm", "gru"]),
               "mlp_tab": rng.choice(["classif", "regress", "digits"]),
               "finetune": rng.choice(["disc", "plain"]),
               "char_tf": "char", "byte_tf": "byte"}.get(family, "std")
    lo, hi = BUDGETS[family]
    budget = int(round(math.exp(rng.uniform(math.log(lo), math.log(hi))) / 10) * 10)
    opt = str(rng.choice(OPTIMIZERS))
    metric = "loss" if family in ("char_tf", "byte_tf", "rnn_lm", "autoencoder") or \
        variant == "regress" else "acc"
    width = {"char_tf": [16, 24, 32], "byte_tf": [16, 24, 32], "rnn_lm": [16, 32, 48],
             "vit": [16, 24, 32], "cnn_bn": [4, 6, 8], "cnn_plain": [4, 6, 8],
             "mlp_tab": [16, 32, 64, 128], "autoencoder": [8, 16, 32],
             "finetune": [16, 32, 64], "sort": [16, 24, 32]}[family]
    return Task(
        seed=seed, family=family, variant=str(variant), width=int(rng.choice(width)),
        depth=int(rng.integers(1, 3)), init_scale=float(np.exp(rng.uniform(np.log(0.5), np.log(2)))),
        batch=int(rng.choice([16, 32, 64])), budget=budget, optimizer=opt,
        beta2=float(rng.choice([0.95, 0.98, 0.99, 0.999])),
        weight_decay=float(rng.choice([0.0, 1e-4, 1e-2, 0.1]) if opt != "adagrad" else 0.0),
        schedule=str(rng.choice(SCHEDULES)), metric=metric)


# -------------------------------------------------------------------------- data


@dataclass
class Data:
    x: torch.Tensor
    y: torch.Tensor
    xv: torch.Tensor
    yv: torch.Tensor
    classes: int  # 0: regression
    guess: float  # validation loss of guessing (a diverged run's loss)


@cache
def _text(kind: str, context: int) -> Data:
    root = Path(sysconfig.get_paths()["stdlib"])
    raw = "".join((root / m).read_text(encoding="utf-8") for m in TEXT_MODULES)
    if kind == "byte":
        ids = np.frombuffer(raw.encode("utf-8"), dtype=np.uint8).astype(np.int64)
        vocab = 256
    else:
        chars = sorted(set(raw))
        index = {c: i for i, c in enumerate(chars)}
        ids = np.array([index[c] for c in raw], dtype=np.int64)
        vocab = len(chars)
    t = torch.from_numpy(ids)
    cut = int(0.9 * len(t))
    def windows(s: torch.Tensor, stride: int):
        starts = torch.arange(0, len(s) - context - 1, stride)
        idx = starts[:, None] + torch.arange(context + 1)[None]
        w = s[idx]
        return w[:, :-1], w[:, 1:]
    x, y = windows(t[:cut], 3)
    xv, yv = windows(t[cut:], context)
    return Data(x, y, xv[:256], yv[:256], vocab, math.log(vocab))


@cache
def _digits() -> tuple:
    from sklearn.datasets import load_digits  # deferred: only image tasks need sklearn

    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(d.target, dtype=torch.long)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[perm], y[perm]
    return x[:1400], y[:1400], x[1400:], y[1400:]


def _digit_data(low: bool | None = None) -> Data:
    x, y, xv, yv = _digits()
    if low is not None:
        k, kv = (y < 5, yv < 5) if low else (y >= 5, yv >= 5)
        off = 0 if low else 5
        x, y, xv, yv = x[k], y[k] - off, xv[kv], yv[kv] - off
    n = int(y.max()) + 1
    return Data(x, y, xv, yv, n, math.log(n))


@cache
def _tabular(variant: str, seed: int) -> Data:
    from sklearn.datasets import make_classification, make_regression  # deferred: tabular only

    if variant == "digits":
        x, y, xv, yv = _digits()
        return Data(x.flatten(1), y, xv.flatten(1), yv, 10, math.log(10))
    n = 3000
    if variant == "classif":
        xa, ya = make_classification(n, 20, n_informative=10, n_classes=4, flip_y=0.05,
                                     class_sep=1.0, random_state=seed)
        ya_t = torch.tensor(ya, dtype=torch.long)
        classes, guess = 4, math.log(4)
    else:
        xa, ya = make_regression(n, 20, n_informative=10, noise=10.0, random_state=seed)
        ya = (ya - ya[:1000].mean()) / ya[:1000].std()
        ya_t = torch.tensor(ya, dtype=torch.float32)[:, None]
        classes, guess = 0, float((ya_t[1000:] ** 2).mean()) * 4
    xa_t = torch.tensor(xa, dtype=torch.float32)
    return Data(xa_t[:1000], ya_t[:1000], xa_t[1000:], ya_t[1000:], classes, guess)


@cache
def _sorting(length: int) -> Data:
    g = torch.Generator().manual_seed(7)
    x = torch.randint(0, 10, (6000, length), generator=g)
    y = x.sort(dim=1).values
    return Data(x[:5000], y[:5000], x[5000:], y[5000:], 10, math.log(10))


def data_for(task: Task) -> Data:
    f = task.family
    if f in ("char_tf", "byte_tf", "rnn_lm"):
        return _text("byte" if f == "byte_tf" else "char", 16)
    if f == "mlp_tab":
        return _tabular(task.variant, task.seed)
    if f == "finetune":
        return _digit_data(low=False)
    if f == "sort":
        return _sorting(8)
    d = _digit_data()
    if f == "autoencoder":
        guess = float(((d.xv - d.x.mean(0)) ** 2).mean()) * 2
        return Data(d.x.flatten(1), d.x.flatten(1), d.xv.flatten(1), d.xv.flatten(1), 0, guess)
    return d
