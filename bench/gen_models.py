"""Models, optimizers, schedules and the bare training loop of the generated benchmark.

The loop is the plainest one (set the LR, forward, backward, step): a grid of 12 peaks x 2
seeds over 60 tasks must fit a session on one core, and ``run_training``'s events and
checks cost more than these tiny models. The LR each step is the task's schedule built by
``clr_core.schedules.make_schedule`` at max_lr 1, times the peak. 1cycle runs without its
momentum cycle (the grid measures the peak LR alone).
"""

from __future__ import annotations

import math
from functools import cache, lru_cache

import numpy as np
import torch
from torch import nn

from clr_core.engine.range_test import run_range_test
from clr_core.schedules import make_schedule

try:  # run as ``python -m bench.gen_bench`` or loaded from its file by the tests
    from bench.gen_tasks import Data, Task, _digit_data, data_for
except ImportError:  # pragma: no cover - loaded as a sibling script
    from gen_tasks import Data, Task, _digit_data, data_for  # type: ignore[no-redef]

DIVERGED = 1e3  # a training loss this many times its first is a blow-up
DISC_BODY = 0.1  # discriminative fine-tune: the backbone's LR over the head's (Howard & Ruder 2018)
RANGE = {"start_lr": 1e-7, "end_lr": 10.0, "num_iter": 100, "mode": "exp"}


class SeqModel(nn.Module):
    """Token model: transformer (causal for LMs, bidirectional for sorting) or RNN."""

    def __init__(self, vocab: int, out: int, context: int, width: int, depth: int, kind: str):
        super().__init__()
        self.kind = kind
        self.embed = nn.Embedding(vocab, width)
        if kind in ("lstm", "gru"):
            self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(width, width, batch_first=True)
        else:
            self.pos = nn.Parameter(0.02 * torch.randn(1, context, width))
            layer = nn.TransformerEncoderLayer(width, 2, 2 * width, dropout=0.0,
                                               activation="gelu", batch_first=True,
                                               norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
            mask = torch.triu(torch.full((context, context), float("-inf")), diagonal=1)
            self.register_buffer("mask", mask if kind == "causal" else None, persistent=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, out)

    def forward(self, x):
        h = self.embed(x)
        if self.kind in ("lstm", "gru"):
            h, _ = self.rnn(h)
        else:
            t = x.shape[1]
            h = h + self.pos[:, :t]
            if self.mask is not None:
                h = self.blocks(h, mask=self.mask[:t, :t], is_causal=True)
            else:
                h = self.blocks(h)
        return self.head(self.norm(h)).transpose(1, 2)


def _cnn(width: int, depth: int, bn: bool, classes: int) -> nn.Sequential:
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=not bn), *([nn.BatchNorm2d(o)] if bn else []),
                nn.ReLU()]
    layers = [*block(1, width), nn.MaxPool2d(2), *block(width, 2 * width)]
    for _ in range(depth - 1):
        layers += block(2 * width, 2 * width)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, classes)]
    return nn.Sequential(*layers)


def _mlp(d_in: int, width: int, depth: int, d_out: int) -> nn.Sequential:
    layers, d = [], d_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, d_out))


class TinyViT(nn.Module):
    """Dosovitskiy et al. 2021 at 8x8: 4x4 patches (4 tokens and a class token), pre-norm
    blocks; CPU-sized."""

    def __init__(self, width: int, depth: int):
        super().__init__()
        self.patches = nn.Conv2d(1, width, 4, stride=4)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(0.02 * torch.randn(1, 5, width))
        layer = nn.TransformerEncoderLayer(width, 2, 2 * width, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        h = self.patches(x).flatten(2).transpose(1, 2)
        h = torch.cat([self.cls.expand(len(h), -1, -1), h], 1) + self.pos
        return self.head(self.norm(self.blocks(h))[:, 0])


def _vit(width: int, depth: int) -> nn.Module:
    return TinyViT(width, depth)


def _scale_init(model: nn.Module, scale: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(scale)


@cache
def _pretrained(width: int, depth: int) -> dict:
    """A CNN trained on digits 0-4 (Adam, 200 steps, fixed seed): the backbone every
    fine-tune of this width starts from."""
    d = _digit_data(low=True)
    torch.manual_seed(123)
    model = _cnn(width, depth, True, 5)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(123)
    for _ in range(200):
        idx = torch.randint(0, len(d.x), (64,), generator=g)
        opt.zero_grad()
        nn.functional.cross_entropy(model(d.x[idx]), d.y[idx]).backward()
        opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def build(task: Task, data: Data, seed: int) -> tuple[nn.Module, list[dict]]:
    """The model at ``seed`` and its param groups (``mult``: LR over the peak)."""
    torch.manual_seed(seed)
    f, w, dep = task.family, task.width, task.depth
    if f in ("char_tf", "byte_tf", "rnn_lm", "sort"):
        kind = {"rnn_lm": task.variant, "sort": "bidir"}.get(f, "causal")
        model = SeqModel(data.classes, data.classes, data.x.shape[1], w, dep, kind)
    elif f == "vit":
        model = _vit(w, dep)
    elif f in ("cnn_bn", "cnn_plain"):
        model = _cnn(w, dep, f == "cnn_bn", 10)
    elif f == "mlp_tab":
        model = _mlp(data.x.shape[1], w, dep, max(data.classes, 1))
    elif f == "autoencoder":
        model = _mlp(64, w, dep + 1, 64)
    else:  # finetune: the pretrained CNN, a new head
        cw = max(4, w // 4)
        model = _cnn(cw, dep, True, 5)
        model.load_state_dict(_pretrained(cw, dep))
        model[-1] = nn.Linear(model[-1].in_features, 5)
        _scale_init(model[-1], task.init_scale)
        body = [p for n, p in model.named_parameters() if not n.startswith(f"{len(model) - 1}.")]
        mult = DISC_BODY if task.variant == "disc" else 1.0
        return model, [{"params": body, "mult": mult},
                       {"params": list(model[-1].parameters()), "mult": 1.0}]
    _scale_init(model, task.init_scale)
    return model, [{"params": list(model.parameters()), "mult": 1.0}]


def make_opt(task: Task, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    gs = [{"params": g["params"], "lr": lr * g["mult"], "mult": g["mult"]} for g in groups]
    wd = task.weight_decay if task.optimizer == "adamw" else min(task.weight_decay, 5e-4)
    betas = (0.9, task.beta2)
    o = task.optimizer
    if o in ("sgd", "sgd_nesterov"):
        return torch.optim.SGD(gs, lr=lr, momentum=0.9, nesterov=o == "sgd_nesterov",
                               weight_decay=wd)
    if o == "rmsprop":
        return torch.optim.RMSprop(gs, lr=lr, alpha=task.beta2, weight_decay=wd)
    if o == "adagrad":
        return torch.optim.Adagrad(gs, lr=lr, weight_decay=wd)
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "nadam": torch.optim.NAdam,
           "radam": torch.optim.RAdam}[o]
    return cls(gs, lr=lr, betas=betas, weight_decay=wd)


def schedule_dict(task: Task, steps: int, max_lr: float = 1.0) -> dict:
    """The task's schedule over ``steps`` (a shorter run: the same shape, compressed)."""
    warm = max(1, steps // 10)
    s = task.schedule
    if s == "one_cycle":
        return {"policy": "one_cycle", "max_lr": max_lr, "total_steps": steps,
                "cycle_momentum": False}
    if s == "warmup_cosine":
        return {"policy": "warmup_cosine", "max_lr": max_lr, "total_steps": steps,
                "warmup_steps": warm}
    if s == "wsd":
        return {"policy": "wsd", "max_lr": max_lr, "total_steps": steps, "warmup_steps": warm,
                "decay_steps": max(1, steps // 5)}
    if s == "linear":
        return {"policy": "warmup_linear", "max_lr": max_lr, "total_steps": steps,
                "warmup_steps": max(1, steps // 20)}
    if s == "inverse_sqrt":
        return {"policy": "inverse_sqrt", "max_lr": max_lr, "warmup_steps": warm}
    return {"policy": "triangular", "base_lr": max_lr / 4, "max_lr": max_lr,
            "step_size_up": max(1, steps // 4)}


@lru_cache(maxsize=256)
def _trace(task: Task, steps: int) -> np.ndarray:
    tr = np.asarray(make_schedule(**schedule_dict(task, steps)).trace(steps), float)
    return tr / tr.max()


def _loss_fn(data: Data):
    return nn.functional.cross_entropy if data.classes else nn.functional.mse_loss


def evaluate(model: nn.Module, data: Data) -> tuple[float, float]:
    """(validation loss, accuracy in % or nan for a regression)."""
    model.eval()
    with torch.no_grad():
        out = model(data.xv)
        loss = float(_loss_fn(data)(out, data.yv))
        acc = float((out.argmax(1) == data.yv).float().mean()) * 100 if data.classes else math.nan
    return loss, acc


def train(task: Task, peak: float, fraction: float = 1.0, seed: int = 0) -> list[float]:
    """[score, validation loss]: score = accuracy (points) or the validation loss; a
    diverged run scores what guessing does (chance accuracy, the guessing loss)."""
    torch.set_num_threads(1)
    data = data_for(task)
    model, groups = build(task, data, seed)
    opt = make_opt(task, groups, peak)
    steps = max(8, int(round(task.budget * fraction)))
    lrs = _trace(task, steps) * peak
    g = torch.Generator().manual_seed(10_000 + seed)
    idx = torch.randint(0, len(data.x), (steps, task.batch), generator=g)
    loss_fn = _loss_fn(data)
    first = None
    model.train()
    for k in range(steps):
        for grp in opt.param_groups:
            grp["lr"] = float(lrs[k]) * grp["mult"]
        b = idx[k]
        loss = loss_fn(model(data.x[b]), data.y[b])
        v = float(loss.detach())
        first = v if first is None else first
        if not math.isfinite(v) or v > DIVERGED * max(first, 1e-3):
            return _guess(task, data)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    loss, acc = evaluate(model, data)
    if not math.isfinite(loss) or loss > data.guess:
        return _guess(task, data)
    return [acc if task.metric == "acc" else loss, loss]


def _guess(task: Task, data: Data) -> list[float]:
    return [100.0 / data.classes if task.metric == "acc" else data.guess, data.guess]


class _Batches:
    def __init__(self, data: Data, batch: int, seed: int):
        self.data, self.batch = data, batch
        self.g = torch.Generator().manual_seed(20_000 + seed)

    def __iter__(self):
        while True:
            idx = torch.randint(0, len(self.data.x), (self.batch,), generator=self.g)
            yield self.data.x[idx], self.data.y[idx]


def range_curve(task: Task, seed: int) -> dict:
    """The README's call: ``run_range_test(start_lr=1e-7, end_lr=10, num_iter=100, exp)``."""
    torch.set_num_threads(1)
    data = data_for(task)
    model, groups = build(task, data, seed)
    opt = make_opt(task, groups, RANGE["start_lr"])
    r = run_range_test(model, opt, _loss_fn(data), _Batches(data, task.batch, seed),
                       start_lr=RANGE["start_lr"], end_lr=RANGE["end_lr"],
                       num_iter=RANGE["num_iter"], mode=RANGE["mode"], seed=seed)
    return {"lrs": r.lrs.tolist(), "smoothed": [v if math.isfinite(v) else None
                                               for v in r.smoothed.tolist()],
            "stop_reason": r.stop_reason}
