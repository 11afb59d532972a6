"""A range test with every torch optimizer that can run one carries the family its suggestions
assumed, with or without the sharpness probe, through the store's dict; the stability limit is
measured only for the families that have one, and the others say why."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from clr_core.engine.range_test import run_range_test
from clr_core.engine.results import RangeTestResult
from clr_core.engine.sharpness import adam_preconditioner, limit_crossing
from clr_core.errors import ConfigError
from clr_core.present.summary import summarize
from clr_core.suggest.families import family_label

OPT = torch.optim
RUNS = [
    (OPT.SGD, {"momentum": 0.9}, "sgd", "gd"),
    (OPT.SGD, {"momentum": 0.9, "nesterov": True}, "sgd_nesterov", "nesterov"),
    (OPT.SGD, {"momentum": 0.9, "dampening": 0.1}, "sgd_dampened", "none"),
    (OPT.Adam, {}, "adam", "adam"),
    (OPT.Adam, {"amsgrad": True}, "adam", "adam"),
    (OPT.AdamW, {}, "adamw", "adam"),
    (OPT.NAdam, {}, "nadam", "none"),
    (OPT.RAdam, {}, "radam", "none"),
    (OPT.Adamax, {}, "adamax", "none"),
    (OPT.RMSprop, {"momentum": 0.5, "centered": True}, "rmsprop", "none"),
    (OPT.Adagrad, {}, "adagrad", "none"),
    (OPT.Adadelta, {}, "adadelta", "none"),
    (OPT.ASGD, {}, "asgd", "none"),
    (OPT.Rprop, {}, "rprop", "none"),
    (OPT.Adafactor, {}, "adafactor", "none"),
    (OPT.Muon, {}, "muon", "none"),
]


def _batches(x, y):
    while True:
        yield x, y


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(32, 4, generator=g), torch.randn(32, 2, generator=g)


@pytest.mark.parametrize(("cls", "kwargs", "key", "kind"), RUNS,
                         ids=[f"{r[0].__name__}-{r[2]}-{len(r[1])}" for r in RUNS])
@pytest.mark.parametrize("every", [0, 3])
def test_each_optimizer_runs_and_its_result_carries_the_family(cls, kwargs, key, kind, every):
    x, y = _data()
    torch.manual_seed(0)
    model = nn.Linear(4, 2, bias=False)  # 2-D weights only: Muon takes nothing else
    opt = cls(model.parameters(), lr=1e-4, **kwargs)
    r = run_range_test(model, opt, nn.MSELoss(), _batches(x, y), start_lr=1e-4, end_lr=1.0,
                       num_iter=10, sharpness_every=every, diverge_threshold=None)
    assert (r.optimizer_family, r.optimizer_class, r.sharpness_kind) == (key, cls.__name__, kind)
    back = RangeTestResult.from_dict(r.to_dict())
    assert (back.optimizer_family, back.optimizer_class) == (key, cls.__name__)
    assert family_label(back) == family_label(r) and "Optimizer family assumed:" in family_label(r)
    assert family_label(r) in str(summarize(r))  # the page, the CLI and a notebook print it
    if every and kind != "none":  # measured at updates 0, 3, 6, 9
        assert len(r.sharpness) == 4 and not r.sharpness_note
        assert np.isfinite(r.sharpness[1:, 2]).all()  # Adam's first has no second moment yet
    else:
        assert len(r.sharpness) == 0
        assert bool(r.sharpness_note) == bool(every)  # the reason, once a limit was asked for
        if every:
            assert cls.__name__ in r.sharpness_note and "no stability limit" in r.sharpness_note


def test_lbfgs_is_refused_with_a_clear_error_not_a_crash():
    x, y = _data()
    model = nn.Linear(4, 2)
    with pytest.raises(ConfigError, match="closure"):
        run_range_test(model, OPT.LBFGS(model.parameters(), lr=0.1), nn.MSELoss(),
                       _batches(x, y), end_lr=1.0, num_iter=5)


def test_sparse_adam_runs_on_a_sparse_embedding_and_carries_its_family():
    idx = torch.randint(0, 10, (16, 3), generator=torch.Generator().manual_seed(0))
    target = torch.randn(16, 3, 2)
    model = nn.Embedding(10, 2, sparse=True)
    r = run_range_test(model, OPT.SparseAdam(list(model.parameters()), lr=1e-3), nn.MSELoss(),
                       _batches(idx, target), end_lr=1.0, num_iter=8, sharpness_every=2)
    assert (r.optimizer_family, r.sharpness_kind) == ("sparse_adam", "none")
    assert "SparseAdam" in r.sharpness_note


def test_an_unknown_optimizer_runs_and_says_its_family_is_unknown():
    class Plain(OPT.Optimizer):
        """Gradient descent written by hand: a class CLR Studio has never heard of."""

        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self, closure=None):
            for g in self.param_groups:
                for p in g["params"]:
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-g["lr"])

    x, y = _data()
    model = nn.Linear(4, 2)
    r = run_range_test(model, Plain(model.parameters()), nn.MSELoss(), _batches(x, y),
                       start_lr=1e-4, end_lr=1.0, num_iter=8, sharpness_every=2)
    assert (r.optimizer_family, r.optimizer_class, r.sharpness_kind) == ("unknown", "Plain", "none")
    assert "Plain" in r.sharpness_note and "unknown" in r.sharpness_note
    assert "unknown (Plain)" in family_label(r)


@pytest.mark.parametrize("seed", [1])
def test_nesterovs_limit_is_crossed_before_the_loss_blows_up_and_heavy_balls_after(seed):
    """Least squares swept with Nesterov SGD: the loss reaches 10x its minimum (0.28 to 0.29
    decades past Nesterov's limit here, while the oscillation grows) before the LR reaches the
    heavy-ball limit that was drawn for Nesterov before families (0.16 to 0.17 decades later;
    seeds 0 to 3 measured): only Nesterov's own limit warns before the blow-up."""
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(32, 4, generator=g), torch.randn(32, 2, generator=g)
    torch.manual_seed(seed)
    model = nn.Linear(4, 2)
    opt = OPT.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    r = run_range_test(model, opt, nn.MSELoss(), _batches(x, y), start_lr=0.1, end_lr=10.0,
                       num_iter=200, sharpness_every=5, diverge_threshold=None)
    assert r.sharpness_kind == "nesterov" and r.sharpness_beta == pytest.approx(0.9)
    rows = r.sharpness.tolist()
    own, heavy_ball = limit_crossing(rows, 0.9, "nesterov"), limit_crossing(rows, 0.9, "gd")
    blown = r.lrs[int(np.argmax(r.losses > 10 * np.nanmin(r.losses)))]
    assert own < blown < heavy_ball


def test_amsgrad_is_preconditioned_by_its_running_maximum():
    """AMSGrad divides by the largest second moment seen, not the current one: after a big
    gradient then small ones, the two differ, and the measured preconditioner is the max's."""
    w = nn.Parameter(torch.ones(3))
    opt = OPT.Adam([w], lr=1e-3, betas=(0.9, 0.5), amsgrad=True)
    for scale in (100.0, 1.0, 1.0, 1.0):
        opt.zero_grad()
        (scale * w).sum().backward()
        opt.step()
    state = opt.state[w]
    assert (state["max_exp_avg_sq"] > 4 * state["exp_avg_sq"]).all()
    (d,) = adam_preconditioner(opt, [w])
    bias = 1 - 0.5 ** float(state["step"])
    want = (torch.sqrt(state["max_exp_avg_sq"] / bias) + 1e-8).rsqrt()
    assert torch.allclose(d, want) and math.isfinite(float(d.sum()))
