"""Training runs on digits: they learn, record exactly what the schedule said, stop
cleanly on cancel and divergence, and serialise to JSON."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from clr_core.engine.baselines import BASELINES, baseline_plan, compare_runs
from clr_core.engine.events import EVAL, STEP, Event
from clr_core.engine.results import TrainResult
from clr_core.engine.train import evaluate, run_training
from clr_core.errors import ConfigError
from clr_core.schedules import from_dict, make_schedule
from clr_core.setup import data, models, optim

# one worker runs this file (pytest-xdist --dist loadgroup): its module fixtures start once
pytestmark = pytest.mark.xdist_group("engine_train")


@pytest.fixture(scope="module")
def digits():
    return data.load_dataset("digits")


def _setup(bundle, *, model="mlp", opt="sgd", lr=0.01, seed=0, **opt_kwargs):
    m = models.make_model(model, bundle.input_shape, bundle.num_classes, seed=seed)
    o = optim.make_optimizer(opt, m, lr=lr, **opt_kwargs)
    loader = data.make_loader(bundle.train, 64, seed=seed, drop_last=True)
    val = data.make_loader(bundle.val, 512, shuffle=False)
    return m, o, loader, val


@pytest.mark.parametrize("schedule", [
    make_schedule("triangular", base_lr=0.01, max_lr=0.1, step_size_up=50),
    make_schedule("one_cycle", max_lr=0.2, total_steps=200),
], ids=["triangular", "one_cycle"])
def test_learns_digits_and_records_the_schedule(digits, schedule):
    m, o, loader, val = _setup(digits)
    events = []
    r = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=200, schedule=schedule,
                     val_loader=val, eval_every=50, emit=events.append)
    assert r.stop_reason == "completed" and r.completed_iterations == 200
    assert r.final_val_accuracy > 0.85 and r.best_val_accuracy >= r.final_val_accuracy
    k = np.arange(200)
    assert np.array_equal(np.array(r.lrs), schedule.lr(k))  # exactly, not approximately
    if schedule.has_momentum:
        assert np.array_equal(np.array(r.momentums), schedule.momentum(k))
    else:
        assert np.all(np.array(r.momentums) == 0.9)
    assert [e.iteration for e in r.evals] == [50, 100, 150, 200]
    assert r.iterations == list(range(200))
    assert r.epochs == pytest.approx(200 / len(loader))
    kinds = [e.kind for e in events]
    assert kinds.count(STEP) == 200 and kinds.count(EVAL) == 4
    assert [e.lr for e in events if e.kind == STEP] == r.lrs
    assert events[-1].val_accuracy == r.final_val_accuracy
    json.dumps([e.to_dict() for e in events], allow_nan=False)


def test_final_eval_and_schedule_dict(digits):
    m, o, loader, val = _setup(digits)
    r = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=30, eval_every=20,
                     schedule={"policy": "fixed", "lr": 0.05}, val_loader=val)
    assert [e.iteration for e in r.evals] == [20, 30]
    assert r.lrs == [0.05] * 30
    assert r.evals[-1].train_loss == pytest.approx(np.mean(r.losses[20:]))


def test_no_schedule_keeps_lr_and_no_val(digits):
    m, o, loader, _ = _setup(digits, lr=0.03)
    r = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=5, eval_every=0)
    assert r.lrs == [0.03] * 5 and r.evals == [] and r.final_val_accuracy is None


def test_cancel_stops_within_one_iteration(digits):
    m, o, loader, val = _setup(digits)
    seen = []
    r = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=1000, val_loader=val,
                     eval_every=5, emit=lambda e: seen.append(e.iteration),
                     should_stop=lambda: bool(seen) and seen[-1] >= 7)
    assert r.stop_reason == "cancelled"
    assert r.completed_iterations == 8  # iterations 0..7, then the check before 8 stops it
    assert [e.iteration for e in r.evals] == [5]
    assert r.final_val_accuracy == r.evals[-1].val_accuracy


def test_cancel_during_evaluation(digits):
    m, o, loader, _ = _setup(digits)
    val = data.make_loader(digits.val, 8, shuffle=False)  # 45 batches
    calls = []

    def stop():  # true from the 3rd check inside the first evaluation on
        calls.append(1)
        return len(calls) > 5 + 2

    r = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=50, val_loader=val,
                     eval_every=5, should_stop=stop)
    assert r.stop_reason == "cancelled" and r.completed_iterations == 5
    assert r.evals == [] and r.final_val_accuracy is None
    assert len(calls) == 9  # 5 loop checks, 2 + 1 inside the evaluation, then the loop's


def test_divergence_ends_cleanly(digits):
    m, o, loader, val = _setup(digits, lr=1e6)
    r = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=100, val_loader=val)
    assert r.stop_reason == "non-finite loss"
    assert r.completed_iterations < 100 and not math.isfinite(r.losses[-1])
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["losses"][-1] is None


def test_diverge_threshold_catches_finite_blowups(digits):
    m, o, loader, _ = _setup(digits, model="cnn", lr=1e4)
    r = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=50, diverge_threshold=100)
    assert r.stop_reason == "diverged" and r.completed_iterations < 10
    with pytest.raises(ConfigError, match="diverge_threshold"):
        run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=5, diverge_threshold=0.5)
    with pytest.warns(DeprecationWarning, match="diverge_factor"):  # the old name still works
        old = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=50, diverge_factor=100)
    assert old.stop_reason in ("diverged", "non-finite loss")


def test_to_dict_round_trip(digits):
    m = models.make_model("logreg", digits.input_shape, digits.num_classes)
    o = torch.optim.Adagrad(m.parameters(), lr=0.1)  # no momentum at all
    loader = data.make_loader(digits.train, 128)
    r = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=12, eval_every=6,
                     val_loader=data.make_loader(digits.val, 512, shuffle=False), amp=True)
    assert r.amp is False  # no AMP on a CPU: ignored, and the result says so
    assert all(math.isnan(v) for v in r.momentums)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["momentums"] == [None] * 12
    back = TrainResult.from_dict(d)
    assert back.to_dict() == d
    assert back.lrs == r.lrs and back.losses == r.losses and back.evals == r.evals
    assert back.stop_reason == "completed" and back.best_iteration == r.best_iteration


def test_adam_momentum_is_recorded_from_betas(digits):
    m, o, loader, _ = _setup(digits, opt="adam", lr=1e-3)
    s = make_schedule("one_cycle", max_lr=1e-2, total_steps=10)
    r = run_training(m, o, nn.CrossEntropyLoss(), loader, num_iter=10, schedule=s)
    assert np.array_equal(np.array(r.momentums), s.momentum(np.arange(10)))


def test_dict_batches_and_evaluate(digits):
    m, o, loader, val = _setup(digits)

    def to_dicts(batch):
        return batch["x"], batch["y"]

    class DictLoader:
        def __init__(self, inner):
            self.inner = inner

        def __iter__(self):
            return ({"x": x, "y": y} for x, y in self.inner)

        def __len__(self):
            return len(self.inner)

    r = run_training(m, o, nn.CrossEntropyLoss(), DictLoader(loader), num_iter=5,
                     val_loader=DictLoader(val), batch_to_inputs=to_dicts)
    assert r.completed_iterations == 5 and math.isfinite(r.evals[-1].val_accuracy)
    val_loss, val_accuracy = evaluate(m, val, nn.CrossEntropyLoss(), device="cpu")
    assert 0 <= val_accuracy <= 1 and val_loss > 0
    assert m.training  # evaluate restores the mode


def test_validation_errors(digits):
    m, o, loader, _ = _setup(digits)
    loss = nn.CrossEntropyLoss()
    with pytest.raises(ConfigError, match="num_iter"):
        run_training(m, o, loss, loader, num_iter=0)
    with pytest.raises(ConfigError, match="eval_every"):
        run_training(m, o, loss, loader, num_iter=5, eval_every=-1)
    with pytest.raises(ConfigError, match="total_steps"):
        run_training(m, o, loss, loader, num_iter=20,
                     schedule=make_schedule("one_cycle", max_lr=0.1, total_steps=10))
    with pytest.raises(ConfigError, match="device"):
        run_training(m, o, loss, loader, num_iter=5, device="tpu")
    with pytest.raises(ConfigError, match="no batches"):
        run_training(m, o, loss, [], num_iter=5)


# --------------------------------------------------------------------------- baselines
@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baseline_plans(name):
    sched_dict, opt_name = baseline_plan(name, max_lr=0.1, base_lr=0.01, num_iter=300)
    assert opt_name in optim.OPTIMIZERS
    s = from_dict(sched_dict)
    lrs = s.lr(np.arange(301))
    if name.startswith("sf_"):  # schedule-free: a 5% warm-up, then constant (Defazio et al.)
        assert lrs[0] == 0 and np.all(lrs[15:] == lrs[-1]) and np.all(np.diff(lrs) >= 0)
        return
    assert np.all(lrs > 0) and np.all(np.diff(lrs) <= 1e-15)  # none of them increases
    if name == "fixed":
        assert np.all(lrs == 0.01)
    elif name == "decay":
        assert lrs[0] == pytest.approx(0.1) and lrs[150] == pytest.approx(0.01)
    elif name == "exp":
        assert lrs[0] == pytest.approx(0.1) and lrs[300] == pytest.approx(0.01)
    elif name == "step":
        assert lrs[0] == pytest.approx(0.1) and lrs[299] == pytest.approx(0.001)
    else:
        assert opt_name == "adam" and np.all(lrs == 1e-3)


def test_baseline_plan_errors():
    with pytest.raises(ConfigError, match="unknown baseline"):
        baseline_plan("sgdr", max_lr=0.1, base_lr=0.01, num_iter=100)
    with pytest.raises(ConfigError, match="below max_lr"):
        baseline_plan("decay", max_lr=0.1, base_lr=0.1, num_iter=100)
    with pytest.raises(ConfigError, match="num_iter"):
        baseline_plan("decay", max_lr=0.1, base_lr=0.01, num_iter=1)


def _fake(accs, every=100, stop="completed"):
    evals = [Event(EVAL, every * (i + 1), val_accuracy=a, val_loss=1 - a)
             for i, a in enumerate(accs)]
    return TrainResult(iterations=list(range(every * len(accs))), evals=evals,
                       final_val_accuracy=accs[-1], best_val_accuracy=max(accs),
                       stop_reason=stop)


def test_compare_runs():
    runs = {
        "baseline: fixed": _fake([0.5, 0.7, 0.8, 0.9]),
        "triangular2": _fake([0.8, 0.91, 0.92, 0.92]),
        "decay": _fake([0.6, 0.7, 0.75, 0.78]).to_dict(),  # dicts from the store work too
    }
    df = compare_runs(runs)
    assert df.loc["baseline: fixed", "is_reference"]
    assert df.loc["baseline: fixed", "target_accuracy"] == pytest.approx(0.891)
    assert df.loc["baseline: fixed", "iters_to_target"] == 400
    assert df.loc["triangular2", "iters_to_target"] == 200
    assert df.loc["triangular2", "speedup"] == pytest.approx(2.0)
    assert df.loc["decay", "iters_to_target"] is pd_na()
    assert math.isnan(df.loc["decay", "speedup"])
    same = compare_runs(runs, reference="triangular2", fraction=1.0)
    assert same.loc["baseline: fixed", "iters_to_target"] is pd_na()
    with pytest.raises(ConfigError, match="reference"):
        compare_runs(runs, reference="nope")
    assert compare_runs({}).empty


def pd_na():
    import pandas as pd

    return pd.NA



def test_a_loss_nan_from_the_first_step_says_it_was_never_finite():
    from clr_core.errors import TrainingError

    model = nn.Linear(4, 2)
    batches = [(torch.randn(8, 4), torch.randint(0, 2, (8,))) for _ in range(4)]

    def nan_loss(out, target):
        return out.sum() * float("nan")

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TrainingError, match="never finite"):
        run_training(model, opt, nan_loss, batches, num_iter=3)


def test_a_run_too_long_for_memory_names_the_parameter_and_limit():
    from clr_core.engine.range_test import run_range_test

    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [(torch.randn(8, 4), torch.randint(0, 2, (8,)))]
    with pytest.raises(ConfigError, match=r"num_iter must be at most 10,000,000"):
        run_range_test(model, opt, nn.CrossEntropyLoss(), batches, num_iter=10**12)
    with pytest.raises(ConfigError, match=r"num_iter must be at most 10,000,000"):
        run_training(model, opt, nn.CrossEntropyLoss(), batches, num_iter=10**12)
