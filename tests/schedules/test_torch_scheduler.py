"""ScheduleLR in real training loops: values, momentum, param groups, checkpoints."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import LRScheduler

from clr_core.errors import ScheduleError
from clr_core.schedules import POLICIES, make_schedule
from clr_core.schedules.torch_adapter import ScheduleLR

SMALL = {
    "triangular": {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 7, "step_size_down": 5,
                   "base_momentum": 0.85, "max_momentum": 0.95},
    "triangular2": {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 6},
    "exp_range": {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 6, "gamma": 0.99,
                  "base_momentum": 0.8, "max_momentum": 0.9},
    "welch": {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 5, "step_size_down": 9,
              "base_momentum": 0.85, "max_momentum": 0.95},
    "hann": {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 8, "scale_mode": "triangular2"},
    "one_cycle": {"max_lr": 0.05, "total_steps": 60},
    "cosine_restarts": {"max_lr": 0.05, "base_lr": 0.001, "T_0": 5, "T_mult": 2},
    "decay": {"base_lr": 0.001, "max_lr": 0.006, "step_size": 20},
    "exp": {"base_lr": 0.01, "gamma": 0.97},
    "step": {"base_lr": 0.01, "gamma": 0.5, "step_size": 10},
    "fixed": {"lr": 0.003},
    "warmup_linear": {"max_lr": 0.01, "total_steps": 30, "warmup_steps": 5},
    "warmup_cosine": {"max_lr": 0.01, "total_steps": 30, "warmup_steps": 5, "min_lr": 0.001},
    "warmup_constant": {"max_lr": 0.01, "warmup_steps": 5},
    "polynomial": {"max_lr": 0.01, "total_steps": 30, "warmup_steps": 5, "power": 2.0},
    "inverse_sqrt": {"max_lr": 0.01, "warmup_steps": 5},
    "wsd": {"max_lr": 0.01, "total_steps": 30, "warmup_steps": 5, "decay_steps": 6},
    "timm_cosine": {"max_lr": 0.01, "t_initial": 10, "warmup_t": 3, "cycle_limit": 3},
    "phases": {"phases": [{"shape": "linear", "start": 0.0, "end": 0.01, "steps": 8},
                          {"shape": "cos", "start": 0.01, "end": 0.001, "steps": 20}]},
}
N = 40


def test_every_policy_is_covered():
    assert set(SMALL) == set(POLICIES)


def _model_and_data(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    return model, x, y


def _optimizer(kind: str, params, lr: float = 0.1):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    return torch.optim.RMSprop(params, lr=lr, momentum=0.5)


def _momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def _train(model, x, y, opt, sched, steps: int, record: list, moms: list):
    for _ in range(steps):
        record.append(opt.param_groups[0]["lr"])
        moms.append(_momentum(opt.param_groups[0]))
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw", "rmsprop"])
@pytest.mark.parametrize("policy", list(SMALL))
def test_training_loop_follows_the_schedule(policy, kind):
    schedule = make_schedule(policy, **SMALL[policy])
    model, x, y = _model_and_data()
    opt = _optimizer(kind, model.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torch warnings about step order
        sched = schedule.to_torch(opt)
        assert isinstance(sched, LRScheduler) and isinstance(sched, ScheduleLR)
        assert opt.param_groups[0]["lr"] == schedule.lr(0)
        lrs, moms = [], []
        _train(model, x, y, opt, sched, N, lrs, moms)
    k = np.arange(N)
    assert np.array_equal(np.array(lrs), schedule.lr(k))  # exact: same closed form
    assert opt.param_groups[0]["lr"] == schedule.lr(N)
    assert sched.get_last_lr() == [float(schedule.lr(N))]
    if schedule.has_momentum:
        assert np.array_equal(np.array(moms), schedule.momentum(k))
    if kind in ("adam", "adamw"):
        assert opt.param_groups[0]["betas"][1] == 0.999
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("policy", ["one_cycle", "welch", "cosine_restarts", "exp_range"])
def test_state_dict_round_trip_mid_run(policy, kind):
    schedule = make_schedule(policy, **SMALL[policy])
    model, x, y = _model_and_data()
    opt = _optimizer(kind, model.parameters())
    sched = ScheduleLR(opt, schedule)
    lrs, moms = [], []
    _train(model, x, y, opt, sched, 17, lrs, moms)

    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict()}, buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)  # plain data only: no lambdas, no objects
    assert ckpt["sched"]["schedule_config"] == schedule.to_dict()

    model2, _, _ = _model_and_data(seed=1)
    model2.load_state_dict(ckpt["model"])
    opt2 = _optimizer(kind, model2.parameters(), lr=0.5)
    # built with a different schedule: the checkpoint's one must win
    sched2 = ScheduleLR(opt2, make_schedule("fixed", lr=0.5))
    sched2.load_state_dict(ckpt["sched"])
    opt2.load_state_dict(ckpt["opt"])
    assert sched2.schedule == schedule and sched2.last_epoch == 17
    assert opt2.param_groups[0]["lr"] == schedule.lr(17)

    _train(model, x, y, opt, sched, 20, lrs, moms)
    lrs2, moms2 = lrs[:17], moms[:17]
    _train(model2, x, y, opt2, sched2, 20, lrs2, moms2)
    assert lrs2 == lrs
    assert moms2 == moms
    assert np.array_equal(np.array(lrs), schedule.lr(np.arange(37)))
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_load_state_dict_without_optimizer_state_still_sets_the_values():
    schedule = make_schedule("one_cycle", **SMALL["one_cycle"])
    model, x, y = _model_and_data()
    opt = _optimizer("sgd", model.parameters())
    sched = ScheduleLR(opt, schedule)
    _train(model, x, y, opt, sched, 9, [], [])
    opt2 = _optimizer("sgd", model.parameters())
    sched2 = ScheduleLR(opt2, schedule)
    sched2.load_state_dict(sched.state_dict())
    assert opt2.param_groups[0]["lr"] == schedule.lr(9)
    assert opt2.param_groups[0]["momentum"] == schedule.momentum(9)


def test_param_groups_keep_their_ratios_by_default():
    model, x, y = _model_and_data()
    body, head = model[0], model[2]
    opt = torch.optim.SGD([{"params": body.parameters(), "lr": 0.001},
                           {"params": head.parameters(), "lr": 0.01}], lr=0.01, momentum=0.9)
    schedule = make_schedule("triangular", **SMALL["triangular"])
    sched = ScheduleLR(opt, schedule)
    assert sched.lr_scale == [pytest.approx(0.1), 1.0]
    lrs0, lrs1 = [], []
    for _ in range(25):
        lrs0.append(opt.param_groups[0]["lr"])
        lrs1.append(opt.param_groups[1]["lr"])
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
    k = np.arange(25)
    assert np.array_equal(lrs1, schedule.lr(k))  # the largest group follows exactly
    np.testing.assert_allclose(lrs0, schedule.lr(k) * 0.1, rtol=1e-12)
    assert all(g["momentum"] == schedule.momentum(25) for g in opt.param_groups)


def test_explicit_lr_scale():
    model, _, _ = _model_and_data()
    opt = torch.optim.Adam([{"params": model[0].parameters(), "lr": 0.3},
                            {"params": model[2].parameters(), "lr": 0.1}])
    schedule = make_schedule("exp", base_lr=0.01, gamma=0.9)
    ScheduleLR(opt, schedule, lr_scale=[1.0, 1.0])
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.01]
    ScheduleLR(opt, schedule, lr_scale=[0.25, 1.0])
    assert [g["lr"] for g in opt.param_groups] == [0.0025, 0.01]
    for bad in ([1.0], [1.0, 0.0], [1.0, float("nan")], [1.0, -2.0]):
        with pytest.raises(ScheduleError, match="lr_scale"):
            ScheduleLR(opt, schedule, lr_scale=bad)


def test_accepts_a_config_dict_and_rejects_other_things():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = ScheduleLR(opt, {"policy": "fixed", "lr": 0.02})
    assert opt.param_groups[0]["lr"] == 0.02 and sched.schedule.policy == "fixed"
    with pytest.raises(ScheduleError, match="lr"):
        ScheduleLR(opt, {"policy": "fixed", "lr": -1.0})
    with pytest.raises(ScheduleError, match="schedule"):
        ScheduleLR(opt, "triangular")


def test_momentum_schedule_needs_an_optimizer_with_momentum():
    opt = torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ScheduleError, match="momentum"):
        ScheduleLR(opt, make_schedule("one_cycle", **SMALL["one_cycle"]))
    ScheduleLR(opt, make_schedule("one_cycle", **SMALL["one_cycle"], cycle_momentum=False))


def test_stepping_past_total_steps_raises_like_torch():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    schedule = make_schedule("one_cycle", max_lr=0.1, total_steps=5)
    sched = schedule.to_torch(opt)
    p.grad = torch.zeros(1)
    for _ in range(5):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == schedule.lr(5)
    with pytest.raises(ScheduleError, match="total_steps"):
        sched.step()
