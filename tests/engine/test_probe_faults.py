"""Issue 29's held-out probe, the engine's part: each bad setup or bad batch gets a message
that names what to change (a `ClrError`), or the correct result; never a raw torch error,
a "completed" sweep that trained nothing, or a curve drawn against LRs never used."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_range_test import make_data
from torch import nn

from clr_core.engine.range_test import run_range_test
from clr_core.engine.train import run_training
from clr_core.errors import ClrError, ConfigError, RangeTestError


def make(lr=1e-3):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    return m, torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)


def weights(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_an_optimizer_holding_only_frozen_parameters_is_refused_before_the_sweep():
    m, _ = make()
    m[0].requires_grad_(False)  # the optimizer gets the frozen layer only; the head trains
    opt = torch.optim.SGD(m[0].parameters(), lr=1e-3)
    with pytest.raises(ConfigError, match="frozen"):
        run_range_test(m, opt, F.cross_entropy, make_data(), end_lr=1.0, num_iter=10)
    with pytest.raises(ConfigError, match="frozen"):
        run_training(m, opt, F.cross_entropy, make_data(), num_iter=5)
    # one trainable parameter among frozen ones is a real (partial) fine-tune: accepted
    m[2].requires_grad_(False)
    m[2].bias.requires_grad_(True)
    r = run_range_test(m, torch.optim.SGD(m.parameters(), lr=1e-3), F.cross_entropy,
                       make_data(), end_lr=1.0, num_iter=10)
    assert len(r.losses) == 10


@pytest.mark.parametrize("where", [0, 3])
@pytest.mark.parametrize(("bad", "said"), [
    ((torch.zeros(0, 8), torch.zeros(0, dtype=torch.long)), "inputs: no samples"),
    ((torch.full((16, 8), math.nan), torch.zeros(16, dtype=torch.long)),
     "inputs: 128 of 128 values are NaN"),
])
def test_an_empty_or_nan_batch_is_blamed_on_the_data_not_called_divergence(where, bad, said):
    m, o = make()
    before = weights(m)
    data = make_data(n_batches=6)
    data[where] = bad
    with pytest.raises(ConfigError, match=f"update {where + 1} and the data.*{said}"):
        run_range_test(m, o, F.cross_entropy, data, end_lr=1e-2, num_iter=6)
    assert all(torch.equal(v, before[k]) for k, v in m.state_dict().items())  # restored
    m, o = make()
    with pytest.raises(ConfigError, match=said):
        run_training(m, o, F.cross_entropy, data, num_iter=6)


def test_a_loss_that_blows_up_on_clean_data_is_still_divergence():
    m, o = make()
    r = run_range_test(m, o, F.cross_entropy, make_data(), start_lr=1e-3, end_lr=1e6,
                       num_iter=60)
    assert r.diverged and r.stop_reason in ("diverged", "non-finite loss")


class _SetsItsOwnLR(nn.Module):
    """A model that steps its own LR in forward (a scheduler hidden inside the model)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(8, 3)
        self.optimizer: torch.optim.Optimizer | None = None

    def forward(self, x):
        for g in self.optimizer.param_groups:
            g["lr"] = 0.01
        return self.net(x)


@pytest.mark.parametrize("tensor_lr", [False, True])
def test_a_model_that_sets_the_lr_itself_is_refused_not_recorded_against_lrs_never_used(
        tensor_lr):
    m = _SetsItsOwnLR()
    lr = torch.tensor(1e-3) if tensor_lr else 1e-3
    m.optimizer = opt = torch.optim.SGD(m.parameters(), lr=lr)
    before = weights(m)
    with pytest.raises(RangeTestError, match="learning rate changed during update 1.*0.01"):
        run_range_test(m, opt, F.cross_entropy, make_data(), end_lr=1.0, num_iter=10)
    assert all(torch.equal(v, before[k]) for k, v in m.state_dict().items())
    assert float(opt.param_groups[0]["lr"]) == pytest.approx(1e-3)


def test_the_sweep_lrs_of_every_group_are_used_when_nothing_interferes():
    m, _ = make()
    opt = torch.optim.SGD([{"params": m[0].parameters(), "lr": 1e-4},
                           {"params": m[2].parameters(), "lr": 1e-3}], lr=1e-3)
    tensor_opt = torch.optim.Adam(m.parameters(), lr=torch.tensor(1e-3))
    for o in (opt, tensor_opt):
        r = run_range_test(m, o, F.cross_entropy, make_data(), end_lr=1.0, num_iter=10)
        assert len(r.lrs) == 10


def test_empty_validation_loaders_are_said_never_nan_rows():
    m, o = make()

    class Empty:
        def __iter__(self):
            return iter(())

    for val in (Empty(), iter(())):
        with pytest.raises(ConfigError, match="validation loader yielded no batches"):
            run_range_test(m, o, F.cross_entropy, make_data(), end_lr=1.0, num_iter=10,
                           val_loader=val)


class _FreezesItself(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body, self.head = nn.Linear(8, 8), nn.Linear(8, 3)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3:  # freezes its body and unfreezes nothing: a mid-sweep change
            self.body.requires_grad_(False)
            self.head.weight.requires_grad_(True)
        return self.head(torch.relu(self.body(x)))


def test_requires_grad_changed_by_the_model_mid_sweep_is_restored():
    m = _FreezesItself()
    m.head.weight.requires_grad_(False)
    flags = {n: p.requires_grad for n, p in m.named_parameters()}
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    run_range_test(m, opt, F.cross_entropy, make_data(), end_lr=1.0, num_iter=6)
    assert {n: p.requires_grad for n, p in m.named_parameters()} == flags


def test_a_lazy_module_is_refused_with_what_to_do():
    m = nn.Sequential(nn.LazyLinear(3))
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    with pytest.raises(ConfigError, match="not initialised yet.*call the model once"):
        run_range_test(m, opt, F.cross_entropy, make_data(), end_lr=1.0, num_iter=10)
    m(make_data()[0][0])  # initialised the way the message says: then it runs
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    assert len(run_range_test(m, opt, F.cross_entropy, make_data(), end_lr=1.0,
                              num_iter=10).losses) == 10


@pytest.mark.parametrize("seed", [2**64, 10**30, -1, 1.5])
def test_a_seed_torch_cannot_take_is_a_config_error(seed):
    m, o = make()
    with pytest.raises(ConfigError, match="seed"):
        run_range_test(m, o, F.cross_entropy, make_data(), end_lr=1.0, num_iter=10, seed=seed)


def test_the_largest_seed_torch_takes_is_accepted():
    m, o = make()
    r = run_range_test(m, o, F.cross_entropy, make_data(), end_lr=1.0, num_iter=10,
                       seed=2**64 - 1)
    assert r.seed == 2**64 - 1


def test_numpy_batches_train_like_the_same_tensors():
    as_numpy = [(x.numpy().astype(np.float64), y.numpy()) for x, y in make_data()]
    m, o = make()
    r_np = run_range_test(m, o, F.cross_entropy, as_numpy, end_lr=1.0, num_iter=10,
                          val_loader=as_numpy[:2], eval_every=5)
    m, o = make()
    r_t = run_range_test(m, o, F.cross_entropy, make_data(), end_lr=1.0, num_iter=10,
                         val_loader=make_data()[:2], eval_every=5)
    np.testing.assert_allclose(r_np.losses, r_t.losses, rtol=1e-5)
    np.testing.assert_allclose(r_np.accuracies, r_t.accuracies, rtol=1e-5)


def test_a_numpy_batch_torch_cannot_hold_is_refused_by_name():
    m, o = make()
    strings = [(np.array([["a"] * 8] * 4), np.zeros(4, dtype=np.int64))]
    with pytest.raises(ClrError, match="numpy array of dtype"):
        run_range_test(m, o, F.cross_entropy, strings, end_lr=1.0, num_iter=10)


def test_training_records_the_lr_a_model_set_itself_not_the_planned_one():
    m = _SetsItsOwnLR()
    m.optimizer = opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    r = run_training(m, opt, F.cross_entropy, make_data(), num_iter=5)
    assert r.lrs == pytest.approx([0.01] * 5)
    m.optimizer = opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    r = run_training(m, opt, F.cross_entropy, make_data(), num_iter=5,
                     schedule={"policy": "triangular", "base_lr": 1e-3, "max_lr": 2e-3,
                               "step_size_up": 2})
    assert r.lrs == pytest.approx([0.01] * 5)


def test_numpy_batches_take_a_float64_models_dtype():
    m, _ = make()
    m = m.double()
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    as_numpy = [(x.numpy().astype(np.float64), y.numpy()) for x, y in make_data()]
    r = run_range_test(m, opt, F.cross_entropy, as_numpy, end_lr=1.0, num_iter=10)
    assert len(r.losses) == 10 and np.isfinite(r.losses).all()


@pytest.mark.parametrize("seed", [2**64, -1])
def test_a_run_config_with_a_seed_torch_cannot_take_is_refused_by_name(seed):
    from clr_core.setup.configs import RangeTestConfig

    with pytest.raises(ConfigError, match="seed"):
        RangeTestConfig.from_dict({"seed": seed})
    assert RangeTestConfig.from_dict({"seed": 2**64 - 1}).seed == 2**64 - 1
