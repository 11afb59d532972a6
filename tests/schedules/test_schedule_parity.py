"""Step-for-step parity with torch's own schedulers, stepped on a dummy optimizer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR

from clr_core.schedules import make_schedule

RTOL = 1e-12


def _optimizer(kind: str, lr: float = 0.1):
    params = [torch.nn.Parameter(torch.zeros(2))]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.AdamW(params, lr=lr)


def _momentum(group: dict) -> float:
    return group["betas"][0] if "betas" in group else group["momentum"]


def drive(optimizer, scheduler, n: int) -> tuple[np.ndarray, np.ndarray]:
    """lr and momentum after 0, 1, ..., n-1 scheduler steps (optimizer.step() first, as
    torch asks)."""
    lrs, moms = [], []
    for i in range(n):
        group = optimizer.param_groups[0]
        lrs.append(group["lr"])
        moms.append(_momentum(group))
        if i < n - 1:
            optimizer.step()
            scheduler.step()
    return np.array(lrs), np.array(moms)


@st.composite
def cyclic_configs(draw):
    base = draw(st.floats(1e-5, 1.0))
    up = draw(st.integers(1, 40))
    down = draw(st.one_of(st.none(), st.integers(1, 40)))
    lo = draw(st.floats(0.5, 0.95))
    return {
        "mode": draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
        "base_lr": base,
        "max_lr": base * draw(st.floats(1.01, 20.0)),
        "step_size_up": up,
        "step_size_down": down,
        "gamma": draw(st.floats(0.9, 1.0)),
        "momentum": draw(st.booleans()),
        "base_momentum": lo,
        "max_momentum": draw(st.floats(lo, 0.99)),
        "optimizer": draw(st.sampled_from(["sgd", "adam"])),
    }


@settings(max_examples=60, deadline=None)
@given(cfg=cyclic_configs())
def test_cyclic_lr_parity(cfg):
    mode, with_m = cfg["mode"], cfg["momentum"]
    params = {k: cfg[k] for k in ("base_lr", "max_lr", "step_size_up", "step_size_down")}
    if mode == "exp_range":
        params["gamma"] = cfg["gamma"]
    if with_m:
        params.update(base_momentum=cfg["base_momentum"], max_momentum=cfg["max_momentum"])
    ours = make_schedule(mode, **params)
    opt = _optimizer(cfg["optimizer"])
    ref = CyclicLR(opt, cfg["base_lr"], cfg["max_lr"], step_size_up=cfg["step_size_up"],
                   step_size_down=cfg["step_size_down"], mode=mode, gamma=cfg["gamma"],
                   cycle_momentum=with_m, base_momentum=cfg["base_momentum"],
                   max_momentum=cfg["max_momentum"])
    n = 3 * ours.cycle_length + 5
    lrs, moms = drive(opt, ref, n)
    k = np.arange(n)
    np.testing.assert_allclose(ours.lr(k), lrs, rtol=RTOL, atol=0)
    if with_m:
        np.testing.assert_allclose(ours.momentum(k), moms, rtol=RTOL, atol=0)
    else:
        assert ours.momentum(k) is None


@st.composite
def one_cycle_configs(draw):
    lo = draw(st.floats(0.5, 0.9))
    return {
        "max_lr": draw(st.floats(1e-4, 3.0)),
        "total_steps": draw(st.integers(2, 300)),
        "pct_start": draw(st.floats(0.05, 0.45)),
        "anneal_strategy": draw(st.sampled_from(["cos", "linear"])),
        "div_factor": draw(st.floats(1.0, 100.0)),
        "final_div_factor": draw(st.floats(1.0, 1e5)),
        "three_phase": draw(st.booleans()),
        "cycle_momentum": draw(st.booleans()),
        "base_momentum": lo,
        "max_momentum": draw(st.floats(lo, 0.99)),
    }


@settings(max_examples=60, deadline=None)
@given(cfg=one_cycle_configs(), kind=st.sampled_from(["sgd", "adam", "adamw"]))
def test_one_cycle_parity(cfg, kind):
    try:
        ours = make_schedule("one_cycle", **cfg)
    except ValueError:  # a zero-length phase: torch would divide by zero
        assume(False)
    opt = _optimizer(kind)
    ref = OneCycleLR(opt, **cfg)
    n = cfg["total_steps"] + 1  # torch allows exactly total_steps steps
    lrs, moms = drive(opt, ref, n)
    k = np.arange(n)
    np.testing.assert_allclose(ours.lr(k), lrs, rtol=RTOL, atol=1e-300)
    if cfg["cycle_momentum"]:
        np.testing.assert_allclose(ours.momentum(k), moms, rtol=RTOL)
    with pytest.raises(ValueError):
        ref.step()  # past total_steps: torch raises, and so do we
    with pytest.raises(ValueError):
        ours.lr(n)


@pytest.mark.parametrize(("three_phase", "strategy"),
                         [(False, "cos"), (False, "linear"), (True, "cos"), (True, "linear")])
def test_one_cycle_parity_long_with_adam_betas(three_phase, strategy):
    cfg = {"max_lr": 0.01, "total_steps": 2000, "pct_start": 0.3, "anneal_strategy": strategy,
           "three_phase": three_phase}
    ours = make_schedule("one_cycle", **cfg)
    opt = _optimizer("adam")
    lrs, moms = drive(opt, OneCycleLR(opt, **cfg), 2000)
    k = np.arange(2000)
    np.testing.assert_allclose(ours.lr(k), lrs, rtol=RTOL)
    np.testing.assert_allclose(ours.momentum(k), moms, rtol=RTOL)
    assert opt.param_groups[0]["betas"][1] == 0.999  # beta2 untouched


@settings(max_examples=50, deadline=None)
@given(max_lr=st.floats(1e-4, 2.0), eta_frac=st.floats(0.0, 0.9), T_0=st.integers(1, 30),
       T_mult=st.sampled_from([1, 1, 2, 3]))
def test_cosine_restarts_parity(max_lr, eta_frac, T_0, T_mult):
    base = max_lr * eta_frac
    ours = make_schedule("cosine_restarts", max_lr=max_lr, base_lr=base, T_0=T_0, T_mult=T_mult)
    opt = _optimizer("sgd", lr=max_lr)
    ref = CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_mult, eta_min=base)
    n = 400
    lrs, _ = drive(opt, ref, n)
    np.testing.assert_allclose(ours.lr(np.arange(n)), lrs, rtol=RTOL, atol=1e-300)


def test_cosine_restarts_far_out_with_t_mult_2():
    """The cycle index comes from a float log; check it at many exact restart points."""
    ours = make_schedule("cosine_restarts", max_lr=1.0, T_0=3, T_mult=2)
    starts = np.array([3 * (2**n - 1) for n in range(1, 45)])
    assert np.all(ours.lr(starts) == 1.0)  # a restart
    assert np.all(ours.lr(starts - 1) < 0.26)  # the last iteration of the previous cycle
    assert np.all(ours.lr(starts + 1) > 0.5)  # just after the restart


def test_zero_length_phase_is_refused_where_torch_divides_by_zero():
    with pytest.raises(ZeroDivisionError):
        OneCycleLR(_optimizer("sgd"), max_lr=0.1, total_steps=100, pct_start=0.01)
    with pytest.raises(ValueError, match="pct_start"):
        make_schedule("one_cycle", max_lr=0.1, total_steps=100, pct_start=0.01)
