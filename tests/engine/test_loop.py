"""The shared training step: one AMP policy, loader exhaustion, the divergence rule,
evaluation, and the range test's torch-lr-finder-style defaults."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from test_range_test import make_data as data
from torch import nn

from clr_core.engine.device import available_devices, precision_for
from clr_core.engine.events import STEP
from clr_core.engine.loop import Batches, DivergenceCheck, LoaderExhausted, count_correct
from clr_core.engine.range_test import run_range_test
from clr_core.engine.train import evaluate, run_training
from clr_core.errors import ConfigError


def make(lr=0.05):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    return m, torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)


# ------------------------------------------------------------------ precision


@pytest.mark.parametrize("device", available_devices())
def test_range_test_and_training_use_the_same_amp_dtype(device):
    """An LR found by the range test is trained at the precision it was found at."""
    m, o = make()
    batches = [(x.to(device), y.to(device)) for x, y in data()]
    m.to(device)
    rt = run_range_test(m, o, F.cross_entropy, batches, start_lr=1e-3, end_lr=1.0, num_iter=10,
                        amp=True, device=device)
    tr = run_training(m, o, F.cross_entropy, batches, num_iter=5, amp=True, device=device)
    assert rt.amp_dtype == tr.amp_dtype == precision_for(torch.device(device), True).label
    assert tr.amp == (tr.amp_dtype is not None)
    if torch.device(device).type == "cuda":
        want = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        assert rt.amp_dtype == want
    if device == "cpu":  # float32 on a CPU for both (bf16 autocast is slower there)
        assert rt.amp_dtype is None
    assert np.isfinite(rt.losses).all() and np.isfinite(tr.losses).all()


def test_no_amp_is_full_precision_everywhere():
    for device in available_devices():
        p = precision_for(torch.device(device), False)
        assert p.dtype is None and p.scaler() is None and not p.enabled


# ------------------------------------------------------------------ loaders


def test_one_shot_iterator_exhausted_mid_sweep_keeps_the_partial_curve():
    m, o = make()
    r = run_range_test(m, o, F.cross_entropy, iter(data(n_batches=7)), start_lr=1e-4,
                       end_lr=1.0, num_iter=50)
    assert r.stop_reason == "loader exhausted" and not r.diverged
    assert r.lrs.size == r.losses.size == r.smoothed.size == 7
    assert r.num_iter == 50


def test_one_shot_iterator_with_no_batch_is_an_error():
    m, o = make()
    with pytest.raises(ConfigError, match="no batches"):
        run_range_test(m, o, F.cross_entropy, iter([]), start_lr=1e-4, end_lr=1.0, num_iter=50)


def test_training_on_a_one_shot_iterator_stops_the_same_way():
    m, o = make()
    r = run_training(m, o, F.cross_entropy, iter(data(n_batches=4)), num_iter=10)
    assert r.stop_reason == "loader exhausted"
    assert len(r.iterations) == len(r.lrs) == len(r.losses) == 4


def test_batches_restart_a_reiterable_loader():
    b = Batches(data(n_batches=2))
    assert len([next(b) for _ in range(5)]) == 5 and b.served == 5
    one_shot = Batches(iter(data(n_batches=2)))
    next(one_shot), next(one_shot)
    with pytest.raises(LoaderExhausted):
        next(one_shot)


# ------------------------------------------------------------------ divergence


class Scripted(nn.Module):
    """A model whose output (used as the loss) is ``loss_at(step)``, 1-based: a loss curve
    written down in advance."""

    def __init__(self, loss_at):
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.step, self.loss_at = 0, loss_at

    def forward(self, x):
        self.step += 1
        return self.w * 0 + self.loss_at(self.step)


def scripted_test(loss_at, **kw):
    m = Scripted(loss_at)
    return run_range_test(m, torch.optim.SGD(m.parameters(), lr=0.1), lambda out, y: out,
                          data(), start_lr=1e-4, end_lr=1.0, **kw)


def test_divergence_fires_at_the_first_step_that_can_show_it():
    """A loss growing 100x per step stops at step 1 (fastai tests every step), not after 5."""
    r = scripted_test(lambda step: 100.0 ** step, num_iter=50)
    assert r.stop_reason == "diverged" and r.lrs.size == 2
    assert r.smoothed[-1] < 1e5


def test_divergence_works_for_negative_losses():
    """A loss below zero that runs away upwards is still caught (e.g. a log-likelihood)."""
    # falls from -5 to -10, then climbs quickly past 0
    r = scripted_test(lambda step: -5.0 - step if step <= 5 else -10.0 + 20.0 * (step - 5),
                      num_iter=60, smooth_beta=0.0)
    assert r.stop_reason == "diverged" and r.lrs.size < 15 and r.divergence_note == ""


def test_a_loss_that_is_exactly_zero_says_why_the_test_could_not_run():
    m, o = make()
    r = run_range_test(m, o, lambda out, y: (out * 0).sum(), data(), start_lr=1e-4,
                       end_lr=1.0, num_iter=20)
    assert r.stop_reason == "completed" and "could not run" in r.divergence_note


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30), st.floats(1.1, 10))
def test_divergence_check_is_fastais_rule_for_positive_curves(values, threshold):
    check = DivergenceCheck(threshold)
    best = math.inf
    for v in values:
        fired = check(v)
        if v < best:
            assert not fired
            best = v
        elif best > 0:
            assert fired == (v > threshold * best)
        else:  # a loss <= 0: the rise is measured in the loss's own scale
            scale = max(abs(best), abs(values[0]))
            assert fired == (scale > 0 and v - best > (threshold - 1) * scale)


def test_divergence_check_relative_to_the_first_value():
    check = DivergenceCheck(100, relative_to="first")
    assert not check(1.0) and not check(50.0) and check(101.0)


# ------------------------------------------------------------------ evaluation


def test_binary_float_targets_are_counted():
    out = torch.tensor([2.0, -1.0, 0.5, -3.0])
    y = torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert int(count_correct(out, y)) == 3
    assert count_correct(torch.zeros(4, 1), torch.zeros(4, 2)) is None


def test_training_counts_binary_accuracy():
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).float()
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    m = nn.Linear(4, 1)
    loss = nn.BCEWithLogitsLoss()

    def split(b):
        return b[0], b[1].unsqueeze(1)

    r = run_training(m, torch.optim.SGD(m.parameters(), lr=0.5), loss, batches, num_iter=20,
                     val_loader=batches, batch_to_inputs=split)
    assert all(0 <= a <= 1 for a in r.batch_accuracies)
    assert r.final_val_accuracy is not None and r.final_val_accuracy > 0.7


def test_empty_validation_loader_is_refused_the_same_way_by_both():
    m, o = make()
    with pytest.raises(ConfigError, match="val_loader has no batches"):
        run_range_test(m, o, F.cross_entropy, data(), start_lr=1e-4, end_lr=1.0, num_iter=10,
                       val_loader=[])
    with pytest.raises(ConfigError, match="val_loader has no batches"):
        run_training(m, o, F.cross_entropy, data(), num_iter=5, val_loader=[])
    # a loader without a length that yields nothing: said, never a row of NaN metrics
    with pytest.raises(ConfigError, match="validation loader yielded no batches"):
        evaluate(m, iter([]), F.cross_entropy, device="cpu")
    spent = iter(data(n_batches=2))  # one-shot: the first validation pass uses it up
    with pytest.raises(ConfigError, match="one-shot iterator"):
        run_range_test(m, o, F.cross_entropy, data(), start_lr=1e-4, end_lr=1.0, num_iter=10,
                       val_loader=spent, eval_every=2)
    with pytest.raises(ConfigError, match="validation loader yielded no batches"):
        run_training(m, o, F.cross_entropy, data(), num_iter=5, val_loader=spent, eval_every=1)


# ------------------------------------------------------------------ the API


def test_torch_lr_finder_call_works_with_its_defaults():
    """`run_range_test(model, opt, criterion, loader, end_lr=100, num_iter=100)`: start at
    the optimizer's LR, exponential, as torch-lr-finder does."""
    m, o = make(lr=1e-5)
    r = run_range_test(m, o, F.cross_entropy, data(), end_lr=100, num_iter=100)
    assert r.start_lr == 1e-5 and r.end_lr == 100 and r.mode == "exp" and r.num_iter == 100
    m2, o2 = make(lr=1e-4)
    r2 = run_range_test(m2, o2, F.cross_entropy, data())
    assert r2.start_lr == 1e-4 and r2.end_lr == 10.0 and r2.num_iter == 100
    assert o2.param_groups[0]["lr"] == 1e-4  # restored


def test_old_keyword_names_warn_and_still_work():
    m, o = make()
    seen = []
    with pytest.warns(DeprecationWarning, match="'callback' is now called 'emit'"):
        run_range_test(m, o, F.cross_entropy, data(), start_lr=1e-4, end_lr=1.0, num_iter=10,
                       callback=seen.append)
    assert [e.kind for e in seen] == [STEP] * 10
    with pytest.raises(TypeError, match="no_such"):
        run_range_test(m, o, F.cross_entropy, data(), no_such=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new names do not warn
        run_range_test(m, o, F.cross_entropy, data(), start_lr=1e-4, num_iter=10, emit=seen.append)


def test_requested_num_iter_reaches_the_suggestions():
    """fastai cuts a tenth of the requested iterations, even when the test stops early."""
    m, o = make()
    r = run_range_test(m, o, F.cross_entropy, data(n_batches=40), start_lr=1e-4, end_lr=1e3,
                       num_iter=200)
    from clr_core.suggest.registry import suggest_all

    assert r.iterations < 200
    want = suggest_all(r.lrs, r.smoothed, mode="exp", num_iter=200)
    assert {k: s.max_lr for k, s in r.suggestions.items()} == {k: s.max_lr for k, s in want.items()}


def test_sequence_targets_have_no_accuracy():
    """A language model's (batch, vocab, time) logits against (batch, time) targets: the
    count would be per character while the mean divides per sequence, so none is given."""
    out = torch.randn(2, 5, 7)
    y = torch.randint(0, 5, (2, 7))
    assert count_correct(out, y) is None
    assert int(count_correct(torch.eye(3), torch.tensor([0, 1, 0]))) == 2
