"""The range test: sweep shape, stopping rules, loader handling, exact restore, events,
and a real run on scikit-learn's digits whose suggestions must train."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from clr_core.engine.events import EVAL, STEP
from clr_core.engine.range_test import lr_sequence, run_range_test
from clr_core.engine.results import VAL_COLUMNS, RangeTestResult
from clr_core.engine.smoothing import ema
from clr_core.errors import ConfigError, RangeTestError

torch.set_num_threads(1)


def make_data(n_batches=6, bs=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(8, 3, generator=g)
    out = []
    for _ in range(n_batches):
        x = torch.randn(bs, 8, generator=g)
        out.append((x, (x @ w).argmax(1)))
    return out


class Net(nn.Module):
    """Tiny MLP with a BatchNorm (buffers) and a non-persistent buffer."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 3)
        self.register_buffer("calls", torch.zeros(()), persistent=False)

    def forward(self, x):
        if self.training:
            self.calls += 1
        return self.fc2(F.relu(self.bn(self.fc1(x))))


def make(opt="sgd", seed=0):
    torch.manual_seed(seed)
    m = Net()
    if opt == "sgd":
        o = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    else:
        o = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.8, 0.95))
    return m, o


def warm_up(m, o, data, steps=3):
    """Give the optimizer real state (momentum buffers / Adam moments) to restore."""
    for x, y in data[:steps]:
        o.zero_grad()
        F.cross_entropy(m(x), y).backward()
        o.step()


def snapshot(m, o):
    tensors = {k: v.detach().clone() for k, v in m.named_parameters()}
    tensors.update({"buf:" + k: v.detach().clone() for k, v in m.named_buffers()})
    groups = [{k: v for k, v in g.items() if k != "params"} for g in o.param_groups]
    state = {
        id(p): {k: (v.clone() if torch.is_tensor(v) else v) for k, v in s.items()}
        for p, s in o.state.items()
    }
    grads = {k: None if v.grad is None else v.grad.clone() for k, v in m.named_parameters()}
    return tensors, groups, state, [mod.training for mod in m.modules()], grads


def assert_restored(m, o, snap):
    tensors, groups, state, training, grads = snap
    now = {k: v for k, v in m.named_parameters()}
    now.update({"buf:" + k: v for k, v in m.named_buffers()})
    assert now.keys() == tensors.keys()
    for k, v in tensors.items():
        assert now[k].dtype == v.dtype and torch.equal(now[k], v), k
    assert [{k: v for k, v in g.items() if k != "params"} for g in o.param_groups] == groups
    assert {id(p) for p in o.state} == set(state)
    for p, s in o.state.items():
        assert s.keys() == state[id(p)].keys()
        for k, v in s.items():
            want = state[id(p)][k]
            assert torch.equal(v, want) if torch.is_tensor(v) else v == want
    assert [mod.training for mod in m.modules()] == training
    for k, p in m.named_parameters():
        assert (p.grad is None) if grads[k] is None else torch.equal(p.grad, grads[k]), k


LOSS = F.cross_entropy


# ------------------------------------------------------------------ the sweep


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_sweep_hits_both_end_points(mode):
    m, o = make()
    seen = []
    r = run_range_test(
        m, o, LOSS, make_data(), start_lr=1e-4, end_lr=0.3, num_iter=25, mode=mode,
        diverge_threshold=None, emit=lambda e: seen.append((e.lr, o.param_groups[0]["lr"])),
    )  # fmt: skip
    assert r.stop_reason == "completed" and not r.diverged
    assert r.lrs.size == r.losses.size == r.smoothed.size == 25
    assert r.lrs[0] == 1e-4 and r.lrs[-1] == 0.3
    i = np.arange(25)
    want = 1e-4 * (0.3 / 1e-4) ** (i / 24) if mode == "exp" else 1e-4 + (0.3 - 1e-4) * i / 24
    assert np.allclose(r.lrs, want, rtol=1e-12)
    assert all(a == b for a, b in seen)  # the optimizer really ran at the recorded LR
    assert (r.mode, r.start_lr, r.end_lr, r.num_iter) == (mode, 1e-4, 0.3, 25)
    assert r.elapsed_s > 0 and r.accuracies.shape == (0, 4)
    assert np.allclose(r.smoothed, ema(r.losses, 0.98), rtol=1e-12)  # the loop's EMA is fastai's


@pytest.mark.parametrize(
    "kw",
    [
        {"start_lr": 1e-2, "end_lr": 1e-3},
        {"start_lr": 1e-2, "end_lr": 1e-2},
        {"start_lr": 0.0},
        {"start_lr": -1e-3},
        {"end_lr": math.inf},
        {"start_lr": math.nan},
        {"start_lr": "1e-3"},
        {"start_lr": True},
        {"num_iter": 1},
        {"num_iter": 10.0},
        {"mode": "cosine"},
        {"smooth_beta": 1.0},
        {"diverge_threshold": 0.5},
        {"accumulation_steps": 0},
        {"eval_every": 5},  # no val_loader
        {"eval_every": -1},
        {"seed": "x"},
        {"device": "no-such-device"},
    ],
)
def test_bad_config_raises_config_error(kw):
    m, o = make()
    args = {"start_lr": 1e-4, "end_lr": 1.0, "num_iter": 10} | kw
    with pytest.raises(ConfigError):
        run_range_test(m, o, LOSS, make_data(), **args)


def test_bad_objects_raise_config_error():
    m, o = make()
    kw = {"start_lr": 1e-4, "end_lr": 1.0, "num_iter": 10}
    with pytest.raises(ConfigError):
        run_range_test(lambda x: x, o, LOSS, make_data(), **kw)
    with pytest.raises(ConfigError):
        run_range_test(m, "sgd", LOSS, make_data(), **kw)
    with pytest.raises(ConfigError):
        run_range_test(m, o, LOSS, None, **kw)
    assert lr_sequence(1e-3, 1.0, 4, "exponential")[-1] == 1.0


# ------------------------------------------------------------------ stopping


def test_divergence_stops_early_and_keeps_the_curve():
    m, o = make()
    r = run_range_test(m, o, LOSS, make_data(), start_lr=1e-3, end_lr=1e4, num_iter=200)
    assert r.diverged and r.stop_reason in ("diverged", "non-finite loss")
    assert 5 < r.lrs.size < 200
    if r.stop_reason == "diverged":
        assert r.smoothed[-1] > 4.0 * np.nanmin(r.smoothed)


def test_non_finite_loss_is_stored_and_stops():
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        loss = LOSS(out, y)
        return loss * math.nan if calls["n"] == 8 else loss

    m, o = make()
    r = run_range_test(m, o, loss_fn, make_data(), start_lr=1e-4, end_lr=1e-2, num_iter=30)
    assert r.stop_reason == "non-finite loss" and r.diverged
    assert r.losses.size == 8 and math.isnan(r.losses[-1]) and np.isfinite(r.losses[:-1]).all()
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    back = RangeTestResult.from_dict(d)
    assert np.array_equal(back.losses, r.losses, equal_nan=True)


def test_first_loss_nan_raises_and_restores():
    m, o = make()
    snap = snapshot(m, o)
    with pytest.raises(RangeTestError):
        run_range_test(m, o, lambda out, y: LOSS(out, y) * math.nan, make_data(),
                       start_lr=1e-4, end_lr=1.0, num_iter=10)  # fmt: skip
    assert_restored(m, o, snap)


def test_should_stop_stops_within_one_iteration_and_keeps_the_partial_curve():
    m, o = make()
    flag = {"stop": False}

    def cb(ev):
        if ev.kind == STEP and ev.iteration == 29:
            flag["stop"] = True

    r = run_range_test(m, o, LOSS, make_data(), start_lr=1e-4, end_lr=1.0, num_iter=100,
                       emit=cb, should_stop=lambda: flag["stop"])  # fmt: skip
    assert r.stop_reason == "cancelled" and not r.diverged
    assert r.lrs.size == 30
    assert r.suggestions  # computed on what was run


# ------------------------------------------------------------------ restore


@pytest.mark.parametrize("opt", ["sgd", "adamw"])
def test_restore_is_bit_identical(opt):
    m, o = make(opt)
    data = make_data()
    warm_up(m, o, data)
    m.bn.eval()  # a mixed train/eval tree must come back as it was
    snap = snapshot(m, o)
    run_range_test(m, o, LOSS, data, start_lr=1e-5, end_lr=10.0, num_iter=40)
    assert_restored(m, o, snap)


def test_restore_after_an_exception_in_the_loss():
    m, o = make()
    data = make_data()
    warm_up(m, o, data)
    snap = snapshot(m, o)
    calls = {"n": 0}

    class Boom(Exception):
        pass

    def loss_fn(out, y):
        calls["n"] += 1
        if calls["n"] == 6:
            raise Boom("from inside the loss")
        return LOSS(out, y)

    with pytest.raises(Boom):
        run_range_test(m, o, loss_fn, data, start_lr=1e-3, end_lr=1.0, num_iter=20)
    assert_restored(m, o, snap)


def test_restore_after_cancel_and_restore_false():
    m, o = make()
    data = make_data()
    warm_up(m, o, data)
    snap = snapshot(m, o)
    n = {"i": 0}

    def stop():
        n["i"] += 1
        return n["i"] > 7

    r = run_range_test(m, o, LOSS, data, start_lr=1e-3, end_lr=1.0, num_iter=20, should_stop=stop)
    assert r.stop_reason == "cancelled" and r.lrs.size == 7
    assert_restored(m, o, snap)
    run_range_test(m, o, LOSS, data, start_lr=1e-3, end_lr=1.0, num_iter=5, restore=False)
    assert not torch.equal(m.fc1.weight, snap[0]["fc1.weight"])


# ------------------------------------------------------------------ batches


class CountingLoader:
    def __init__(self, batches):
        self.batches, self.epochs, self.served = batches, 0, 0

    def __iter__(self):
        self.epochs += 1
        for b in self.batches:
            self.served += 1
            yield b


def test_loader_is_cycled():
    loader = CountingLoader(make_data(n_batches=3))
    m, o = make()
    r = run_range_test(m, o, LOSS, loader, start_lr=1e-4, end_lr=1e-2, num_iter=10)
    assert r.lrs.size == 10 and loader.served == 10 and loader.epochs == 4
    with pytest.raises(ConfigError, match="no batches"):
        run_range_test(m, o, LOSS, [], start_lr=1e-4, end_lr=1e-2, num_iter=10)


def test_gradient_accumulation_averages_micro_batches():
    data = make_data(n_batches=6)
    loader = CountingLoader(data)
    m, o = make()
    o = torch.optim.SGD(m.parameters(), lr=0.1)  # no momentum: one step is easy to redo
    m2, _ = make()
    m2.load_state_dict(m.state_dict())
    after_first = {}

    def cb(ev):
        if ev.iteration == 0:
            after_first.update({k: v.detach().clone() for k, v in m.named_parameters()})

    r = run_range_test(m, o, LOSS, loader, start_lr=1e-2, end_lr=1e-1, num_iter=2,
                       accumulation_steps=3, emit=cb)  # fmt: skip
    assert loader.served == 6
    # by hand: mean of three micro-batch losses, one SGD step at lr 1e-2
    m2.train()
    losses = [LOSS(m2(x), y) for x, y in data[:3]]
    total = sum(losses) / 3
    assert r.losses[0] == pytest.approx(total.item(), rel=1e-6)
    total.backward()
    with torch.no_grad():
        for k, p in m2.named_parameters():
            assert torch.allclose(p - 1e-2 * p.grad, after_first[k], atol=1e-6), k


@pytest.mark.parametrize("keys", [("x", "y"), ("image", "label"), ("inputs", "targets")])
def test_dict_batches(keys):
    data = [{keys[0]: x, keys[1]: y, "meta": 1} for x, y in make_data()]
    m, o = make()
    r = run_range_test(m, o, LOSS, data, start_lr=1e-4, end_lr=1e-2, num_iter=8)
    assert r.lrs.size == 8 and np.isfinite(r.losses).all()


def test_unknown_batches_need_the_hook():
    class Batch:
        def __init__(self, x, y):
            self.features, self.target = x, y

    data = [Batch(x, y) for x, y in make_data()]
    m, o = make()
    with pytest.raises(ConfigError):
        run_range_test(m, o, LOSS, data, start_lr=1e-4, end_lr=1e-2, num_iter=4)
    with pytest.raises(ConfigError):
        run_range_test(m, o, LOSS, [{"a": 1}], start_lr=1e-4, end_lr=1e-2, num_iter=4)
    r = run_range_test(m, o, LOSS, data, start_lr=1e-4, end_lr=1e-2, num_iter=4,
                       batch_to_inputs=lambda b: (b.features, b.target), device="cpu")  # fmt: skip
    assert r.lrs.size == 4


# ------------------------------------------------------------------ param groups


@pytest.mark.parametrize("lrs, ref", [((0.1, 0.01), 0), ((0.001, 0.1, 0.05), 1)])
def test_param_groups_keep_their_ratios(lrs, ref):
    torch.manual_seed(0)
    m = Net()
    parts = [list(m.fc1.parameters()), list(m.bn.parameters()), list(m.fc2.parameters())]
    if len(lrs) == 2:
        parts = [parts[0] + parts[1], parts[2]]
    o = torch.optim.SGD([{"params": p, "lr": lr} for p, lr in zip(parts, lrs, strict=True)], momentum=0.9)
    seen = []
    r = run_range_test(m, o, LOSS, make_data(), start_lr=1e-4, end_lr=1e-1, num_iter=12,
                       emit=lambda e: seen.append([g["lr"] for g in o.param_groups]))  # fmt: skip
    assert r.reference_group == ref
    seen = np.array(seen)
    assert np.allclose(seen[:, ref], r.lrs, rtol=1e-15)
    assert np.allclose(seen / seen[:, [ref]], np.array(lrs) / lrs[ref], rtol=1e-12)
    assert [g["lr"] for g in o.param_groups] == list(lrs)  # restored


# ------------------------------------------------------------------ events, validation


def test_events_and_validation_rows():
    data = make_data(n_batches=8)
    val = make_data(n_batches=2, seed=1)
    m, o = make()
    modes = []
    m.register_forward_pre_hook(lambda mod, inp: modes.append(mod.training))
    events = []
    r = run_range_test(m, o, LOSS, data, start_lr=1e-3, end_lr=0.5, num_iter=21,
                       val_loader=val, eval_every=5, emit=events.append)  # fmt: skip
    points = [e for e in events if e.kind == STEP]
    vals = [e for e in events if e.kind == EVAL]
    assert [e.iteration for e in points] == list(range(21))
    assert all(math.isfinite(e.loss) and math.isfinite(e.smoothed) for e in points)
    assert all(math.isnan(e.val_loss) for e in points)
    assert all(math.isfinite(e.val_accuracy) and math.isfinite(e.val_loss) for e in vals)
    # training's cadence: after every 5th update and after the last; iteration = updates done
    assert [e.iteration for e in vals] == [5, 10, 15, 20, 21]
    assert r.accuracies.shape == (5, len(VAL_COLUMNS))
    assert np.array_equal(r.accuracies[:, 0], [5, 10, 15, 20, 21])
    assert np.allclose(r.accuracies[:, 1], r.lrs[[4, 9, 14, 19, 20]])
    assert ((r.val_accuracy >= 0) & (r.val_accuracy <= 1)).all() and (r.val_losses > 0).all()
    assert modes.count(False) == 5 * 2 and modes.count(True) == 21  # eval only to validate
    json.dumps([e.to_dict() for e in events], allow_nan=False)
    assert points[3].smoothed == pytest.approx(r.smoothed[3])
    assert m.training


def test_round_trip_to_dict():
    m, o = make()
    r = run_range_test(m, o, LOSS, make_data(), start_lr=1e-3, end_lr=1.0, num_iter=40,
                       val_loader=make_data(2, seed=3), eval_every=10, seed=3)  # fmt: skip
    r.losses[-1] = math.inf
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["losses"][-1] is None  # the JSON convention: non-finite is null, read back as NaN
    back = RangeTestResult.from_dict(d)
    assert math.isnan(back.losses[-1])
    r.losses[-1] = math.nan
    for f in ("lrs", "losses", "smoothed", "accuracies"):
        assert np.array_equal(getattr(back, f), getattr(r, f), equal_nan=True), f
    assert back.suggestions == r.suggestions
    for f in ("diverged", "stop_reason", "mode", "start_lr", "end_lr", "num_iter", "seed"):
        assert getattr(back, f) == getattr(r, f)


def test_seed_makes_runs_repeatable_and_leaves_global_rng_alone():
    data = torch.utils.data.TensorDataset(torch.randn(64, 8), torch.randint(0, 3, (64,)))
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
    out = []
    for _ in range(2):
        m, o = make()
        torch.manual_seed(123)
        r = run_range_test(m, o, LOSS, loader, start_lr=1e-3, end_lr=1.0, num_iter=12, seed=7)
        out.append((r.losses, torch.rand(1)))
    assert np.array_equal(out[0][0], out[1][0])
    torch.manual_seed(123)
    assert torch.equal(out[0][1], torch.rand(1))


def test_amp_on_cpu_runs():
    m, o = make()
    r = run_range_test(m, o, LOSS, make_data(), start_lr=1e-3, end_lr=1.0, num_iter=6, amp=True)
    assert np.isfinite(r.losses).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_restore_does_not_copy_the_model_on_the_device():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 10)).cuda()
    o = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    data = [(torch.randn(32, 1024), torch.randint(0, 10, (32,))) for _ in range(4)]
    before = {k: v.clone() for k, v in m.state_dict().items()}
    model_bytes = sum(p.numel() * p.element_size() for p in m.parameters())
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    run_range_test(m, o, LOSS, data, start_lr=1e-4, end_lr=1e-1, num_iter=10)
    peak = torch.cuda.max_memory_allocated() - base
    # weights' grads + momentum buffers (~2x) are the training itself; a device copy
    # of the weights would add a third.
    assert peak < 2.6 * model_bytes
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_model_swept_on_cuda_comes_back_to_cpu_unchanged():
    m, o = make()
    data = make_data()
    warm_up(m, o, data)
    snap = snapshot(m, o)
    r = run_range_test(m, o, LOSS, data, start_lr=1e-4, end_lr=1.0, num_iter=10, device="cuda")
    assert r.lrs.size == 10
    assert next(m.parameters()).device.type == "cpu"
    assert_restored(m, o, snap)


# ------------------------------------------------------------------ real data


def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[perm], y[perm]
    train = [(x[i : i + 64], y[i : i + 64]) for i in range(0, 1472, 64)]
    val = [(x[1472:], y[1472:])]
    return train, val


def digits_mlp(seed):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    return m, torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)


def train_at(lr, seed, batches, iters=300):
    m, o = digits_mlp(seed)
    for g in o.param_groups:
        g["lr"] = lr
    losses = []
    for i in range(iters):
        x, y = batches[i % len(batches)]
        o.zero_grad()
        loss = LOSS(m(x), y)
        loss.backward()
        o.step()
        losses.append(loss.item())
    return np.array(losses)


@pytest.mark.parametrize("seed", [0, 1])
def test_digits_suggestions_train(seed):
    train, val = digits()
    m, o = digits_mlp(seed)
    # fastai's defaults (1e-7 -> 10, 100 steps), plus Smith's accuracy readings
    r = run_range_test(m, o, LOSS, train, start_lr=1e-7, end_lr=10.0, num_iter=100,
                       val_loader=val, eval_every=5, seed=seed)  # fmt: skip
    assert {"valley", "steep", "minimum", "steepest_gradient", "min10_base6", "smith_accuracy"} <= set(
        r.suggestions
    )
    for name, s in r.suggestions.items():
        assert r.lrs[0] <= s.base_lr < s.max_lr <= r.lrs[-1]
        losses = train_at(s.max_lr, seed, train)
        assert np.isfinite(losses).all(), name
        assert losses[-50:].mean() < 0.5 * losses[:10].mean(), (name, s.max_lr)
