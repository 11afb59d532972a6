"""Gradient clipping in the engine: the range test and training clip each update as
``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` would in a hand-written loop,
and the result says which clipping ran."""

import numpy as np
import pytest
import torch
from torch import nn

from clr_core.engine.range_test import lr_sequence, run_range_test
from clr_core.engine.results import RangeTestResult
from clr_core.engine.train import run_training
from clr_core.errors import ConfigError
from clr_core.present.summary import summarize
from clr_core.setup.configs import RangeTestConfig

torch.set_num_threads(1)


def data(n=8, bs=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(6, 3, generator=g)
    out = []
    for _ in range(n):
        x = torch.randn(bs, 6, generator=g) * 3
        out.append((x, (x @ w).argmax(1)))
    return out


def toy(seed=0):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(6, 10), nn.Tanh(), nn.Linear(10, 3))
    return m, torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9)


def manual(lrs, batches, *, norm=None, value=None, accumulate=1):
    """The hand-written loop the engine must equal: backward, clip, step."""
    m, o = toy()
    loss_fn = nn.CrossEntropyLoss()
    it = iter(batches * 10)
    losses = []
    for lr in lrs:
        for g in o.param_groups:
            g["lr"] = lr
        o.zero_grad()
        total = 0.0
        for _ in range(accumulate):
            x, y = next(it)
            loss = loss_fn(m(x), y) / accumulate
            loss.backward()
            total += loss.item()
        if value is not None:
            torch.nn.utils.clip_grad_value_(m.parameters(), value)
        if norm is not None:
            torch.nn.utils.clip_grad_norm_(m.parameters(), norm)
        o.step()
        losses.append(total)
    return m, losses


@pytest.mark.parametrize(("norm", "value", "accumulate"),
                         [(0.05, None, 1), (None, 0.01, 1), (0.3, 0.02, 2)])
def test_range_test_clips_as_a_hand_written_loop(norm, value, accumulate):
    batches = data()
    m, o = toy()
    res = run_range_test(m, o, nn.CrossEntropyLoss(), batches, start_lr=1e-3, end_lr=1.0,
                         num_iter=12, diverge_threshold=None, restore=False,
                         grad_clip_norm=norm, grad_clip_value=value,
                         accumulation_steps=accumulate)
    ref, ref_losses = manual(lr_sequence(1e-3, 1.0, 12).tolist(), batches, norm=norm,
                             value=value, accumulate=accumulate)
    np.testing.assert_allclose(res.losses, ref_losses, rtol=1e-5, atol=1e-6)
    for p, q in zip(m.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    assert res.settings_used["grad_clip_norm"] == norm
    assert res.settings_used["grad_clip_value"] == value
    assert res.settings_used["accumulation_steps"] == accumulate


def test_clipping_at_a_tiny_norm_changes_the_curve():
    batches = data(n=1)  # one batch: the loss moves only because the weights do
    kw = {"start_lr": 1e-2, "end_lr": 10.0, "num_iter": 15, "diverge_threshold": None}
    m, o = toy()
    plain = run_range_test(m, o, nn.CrossEntropyLoss(), batches, **kw)
    m, o = toy()
    clipped = run_range_test(m, o, nn.CrossEntropyLoss(), batches, grad_clip_norm=1e-4, **kw)
    assert plain.losses[0] == pytest.approx(clipped.losses[0])  # same weights before any step
    # a 1e-4 norm bounds every gradient at 1e-4, so the weights (and the loss) barely
    # move; unclipped at LRs up to 10 they move far more
    clipped_move = np.abs(clipped.losses - clipped.losses[0]).max()
    plain_move = np.abs(plain.losses - plain.losses[0]).max()
    assert clipped_move < plain_move / 10
    assert plain.settings_used["grad_clip_norm"] is None
    assert "grad_clip_norm=0.0001" in str(summarize(clipped))
    assert "grad_clip_norm=off" in str(summarize(plain))


def test_training_clips_and_records_it():
    batches = data()
    m, o = toy()
    res = run_training(m, o, nn.CrossEntropyLoss(), batches, num_iter=6,
                       schedule={"policy": "fixed", "lr": 0.5}, grad_clip_norm=0.1)
    ref, ref_losses = manual([0.5] * 6, batches, norm=0.1)
    np.testing.assert_allclose(res.losses, ref_losses, rtol=1e-5, atol=1e-6)
    for p, q in zip(m.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    assert res.settings_used["grad_clip_norm"] == 0.1


def test_clipping_round_trips_and_is_checked():
    m, o = toy()
    res = run_range_test(m, o, nn.CrossEntropyLoss(), data(), num_iter=5, grad_clip_norm=2.0)
    back = RangeTestResult.from_dict(res.to_dict())
    assert back.settings_used == res.settings_used
    for bad in (-1.0, float("nan"), "big"):
        with pytest.raises(ConfigError, match="grad_clip_norm"):
            run_range_test(m, o, nn.CrossEntropyLoss(), data(), num_iter=5, grad_clip_norm=bad)
    with pytest.raises(ConfigError, match="grad_clip_value"):
        RangeTestConfig.from_dict({"grad_clip_value": -0.5})
    assert RangeTestConfig.from_dict({"grad_clip_norm": 0}).grad_clip_norm is None  # 0 = off
    assert RangeTestConfig.from_dict({"grad_clip_norm": 1.0}).to_dict()["grad_clip_norm"] == 1.0
