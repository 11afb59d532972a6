"""Schedule-free optimizers (Defazio et al. 2024) in the training loop: stepped in train mode,
evaluated in eval mode (the averaged weights), left in eval mode; and as baselines."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from clr_core.engine.baselines import BASELINES, SF_ADAMW_LR, baseline_plan
from clr_core.engine.train import run_training
from clr_core.jobs.runners import baseline_runs, run_train_job
from clr_core.schedules import make_schedule
from clr_core.setup.optim import make_optimizer


def _data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 10, generator=g)
    y = (x[:, 0] > 0).long()
    return [(x[i:i + 32], y[i:i + 32]) for i in range(0, n, 32)], [(x, y)]


@pytest.mark.parametrize("name", ["sgd_schedulefree", "adamw_schedulefree"])
def test_the_loop_swaps_train_and_eval_around_every_evaluation(name):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = make_optimizer(name, model, lr=0.05)
    modes = []
    for mode in ("train", "eval"):
        original = getattr(opt, mode)

        def spy(original=original, mode=mode):
            modes.append(mode)
            original()
        setattr(opt, mode, spy)
    loader, val = _data()
    seen = []

    def loss_fn(out, y):
        seen.append(opt.param_groups[0]["train_mode"] if torch.is_grad_enabled() else None)
        return nn.functional.cross_entropy(out, y)

    r = run_training(model, opt, loss_fn, loader, num_iter=20, val_loader=val, eval_every=10,
                     schedule=make_schedule("warmup_constant", max_lr=0.05, warmup_steps=2))
    assert all(flag is True for flag in seen if flag is not None)  # every step in train mode
    assert modes == ["train", "eval", "train", "eval", "train", "eval"]
    assert opt.param_groups[0]["train_mode"] is False  # the model holds the averaged weights
    # the final evaluation is the averaged weights' (eval mode), as the model now holds them
    x, y = val[0]
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    assert r.final_val_accuracy == pytest.approx(acc)


def test_the_schedule_free_baselines_are_sized_to_the_run():
    sched, opt = baseline_plan("sf_sgd", max_lr=0.3, base_lr=0.03, num_iter=200)
    assert (sched["policy"], sched["max_lr"], sched["warmup_steps"], opt) == (
        "warmup_constant", 0.3, 10, "sgd_schedulefree")
    sched, opt = baseline_plan("sf_adamw", max_lr=0.3, base_lr=0.03, num_iter=200)
    assert (sched["max_lr"], opt) == (SF_ADAMW_LR, "adamw_schedulefree")
    assert {"sf_sgd", "sf_adamw"} <= set(BASELINES)


def test_a_training_job_compares_a_schedule_with_schedule_free_baselines():
    schedule = make_schedule("one_cycle", max_lr=0.3, total_steps=40).to_dict()
    config = {"dataset": "digits", "model": "logreg", "batch_size": 64, "num_iter": 40,
              "eval_every": 40, "device": "cpu", "schedule": schedule,
              "runs": baseline_runs(schedule=schedule, baselines=["sf_sgd", "sf_adamw"],
                                    num_iter=40)}
    out = run_train_job(config, lambda *a, **k: None, lambda: False)
    curves = {c["label"]: c["train"] for c in out["runs"]}
    assert set(curves) == {"designed: one_cycle", "baseline: sf_sgd", "baseline: sf_adamw"}
    for label in ("baseline: sf_sgd", "baseline: sf_adamw"):
        assert curves[label]["final_val_accuracy"] > 0.5
        assert curves[label]["lrs"][0] == 0.0 and curves[label]["lrs"][-1] > 0
