"""The Hugging Face integration against the real library, on a 2-layer BERT and GPT-2
built from configs (offline): ``Trainer.train`` recorded live (another process sees it
while it trains), a run that raised marked, the range test on a Trainer as it is
(restored bit for bit, the same suggestion as the engine's on the same model and
batches), and the recommendation as transformers' own scheduler, step for step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from store_probe import probe
from tiny_stacks import LMDataset, hf_trainer, tiny_gpt2
from transformers import TrainerCallback

from clr_core.engine.range_test import run_range_test
from clr_core.errors import ConfigError
from clr_core.integrations.common import schedule_for
from clr_core.integrations.huggingface import (
    StudioCallback,
    optimizer_steps,
    range_test,
    scheduler_args,
)
from clr_core.runs.store import RunStore
from clr_core.suggest.types import Suggestion

# one worker runs this file (pytest-xdist --dist loadgroup): its module fixtures start once
pytestmark = pytest.mark.xdist_group("huggingface")


class _Probe(TrainerCallback):
    def __init__(self, recorder, db, at: int) -> None:
        self.recorder, self.db, self.at, self.seen = recorder, db, at, None

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at and self.seen is None:
            self.seen = probe(self.db, self.recorder.run_id)


class _Boom(TrainerCallback):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 4:
            raise self.exc


def test_trainer_train_is_recorded_live_with_its_evaluations(tmp_path):
    db = tmp_path / "runs.db"
    cb = StudioCallback("tiny bert", store=db)
    seen = _Probe(cb, db, at=8)
    trainer = hf_trainer(tmp_path, callbacks=[cb, seen], eval_strategy="steps", eval_steps=8)
    trainer.train()
    assert seen.seen["status"] == "running" and seen.seen["label"] == "tiny bert"
    assert 1 <= seen.seen["steps"] <= 8
    store = RunStore(db)
    run = store.load_run(cb.run_id)
    assert run.status == "done" and run.kind == "train"
    events, _ = store.read_events(cb.run_id)
    steps = [e for e in events if e["kind"] == "step"]
    assert [e["iteration"] for e in steps] == list(range(16))
    # transformers' default: linear decay from learning_rate, two groups (decay / no decay)
    np.testing.assert_allclose([e["lr"] for e in steps], 1e-3 * (1 - np.arange(16) / 16))
    assert all(e["group_lrs"] == [e["lr"]] * 2 and e["momentum"] == 0.9 for e in steps)
    assert all(math.isfinite(e["loss"]) and 0.3 < e["loss"] < 1.5 for e in steps)
    evals = [e for e in events if e["kind"] == "eval"]
    assert [e["iteration"] for e in evals] == [8, 16]
    assert all(e["val_loss"] > 0 and "eval_loss" in e["metrics"] for e in evals)
    assert len(run.result["runs"][0]["train"]["lrs"]) == 16
    assert run.result["config"]["source"] == "huggingface"


@pytest.mark.parametrize(("exc", "status"), [(RuntimeError("boom"), "failed"),
                                             (KeyboardInterrupt(), "cancelled")])
def test_a_run_that_raises_inside_the_context_is_marked(tmp_path, exc, status):
    db = tmp_path / "runs.db"
    cb = StudioCallback("raises", store=db)
    trainer = hf_trainer(tmp_path, callbacks=[cb, _Boom(exc)])
    with pytest.raises(type(exc)), cb:
        trainer.train()
    run = RunStore(db).load_run(cb.run_id)
    assert run.status == status
    assert len(run.result["runs"][0]["train"]["losses"]) == 4


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class _Loss(torch.nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch):
        return self.model(**batch).loss


def test_the_range_test_restores_the_trainer_and_matches_the_engine(tmp_path):
    trainer = hf_trainer(tmp_path)
    before = _state(trainer.model)
    result = range_test(trainer, start_lr=1e-5, end_lr=10, num_iter=20, seed=0)
    assert all(torch.equal(before[k], v) for k, v in _state(trainer.model).items())
    assert trainer.optimizer is None  # the Trainer still builds its own when it trains
    assert result.suggestions["recommended"].max_lr > 1e-5

    optimizer = trainer.create_optimizer()
    trainer.optimizer = None
    # the Trainer's max_grad_norm (1.0 by default) is the engine's grad_clip_norm
    direct = run_range_test(_Loss(trainer.model), optimizer, lambda out, _: out,
                            trainer.get_train_dataloader(), batch_to_inputs=lambda b: (b, None),
                            start_lr=1e-5, end_lr=10, num_iter=20, seed=0, grad_clip_norm=1.0)
    np.testing.assert_array_equal(result.losses, direct.losses)
    assert result.suggestions == direct.suggestions


def test_the_range_test_runs_on_a_tiny_gpt2_and_keeps_a_given_optimizer(tmp_path):
    model = tiny_gpt2()
    trainer = hf_trainer(tmp_path, model=model, train_dataset=LMDataset())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    trainer.optimizer = optimizer
    before = _state(model)
    result = range_test(trainer, num_iter=10, seed=0, record="gpt2", store=tmp_path / "r.db")
    assert result.iterations >= 2 and trainer.optimizer is optimizer
    assert optimizer.param_groups[0]["lr"] == 0.01 and not optimizer.state
    assert all(torch.equal(before[k], v) for k, v in _state(model).items())
    assert RunStore(tmp_path / "r.db").list_runs()[0].status == "done"
    with pytest.raises(ConfigError, match="Trainer"):
        range_test(object())


def test_the_range_test_clips_as_the_trainer_does_and_says_so(tmp_path):
    kw = {"start_lr": 1e-5, "end_lr": 10, "num_iter": 20, "seed": 0, "diverge_threshold": None}
    clipped = range_test(hf_trainer(tmp_path, max_grad_norm=1.0), **kw)
    unclipped = range_test(hf_trainer(tmp_path, max_grad_norm=0.0), **kw)
    assert clipped.settings_used["grad_clip_norm"] == 1.0
    assert unclipped.settings_used["grad_clip_norm"] is None  # transformers' 0: off
    assert clipped.settings_used["taken_from_trainer"]["grad_clip_norm"] == "max_grad_norm"
    assert "grad_clip_norm=1.0" in str(clipped.summary())
    assert "grad_clip_norm=off" in str(unclipped.summary())
    # AdamW's steps barely depend on the gradient's scale while they are small: the curves
    # agree at low LRs and part where the steps are large enough to matter
    low = clipped.lrs < 1e-2
    np.testing.assert_allclose(clipped.losses[low], unclipped.losses[low], rtol=1e-3)
    high = clipped.lrs > 0.5
    assert np.abs(clipped.losses[high] - unclipped.losses[high]).max() > 0.1


def test_the_range_test_takes_precision_and_counts_optimizer_steps(tmp_path):
    trainer = hf_trainer(tmp_path, bf16=True, gradient_accumulation_steps=2, max_steps=-1,
                         num_train_epochs=3)
    result = range_test(trainer, start_lr=1e-5, num_iter=10, seed=0)
    used = result.settings_used
    assert used["precision"] == "bfloat16"  # bf16 autocast, on the CPU as the Trainer does
    assert used["accumulation_steps"] == 2
    # 64 samples in batches of 8, two per update: 4 updates an epoch, 12 in 3 epochs
    assert used["optimizer_steps_per_epoch"] == 4 and used["optimizer_steps"] == 12
    assert optimizer_steps(trainer)["total"] == 12
    assert "ignored" in used["scheduler"]
    picked = Suggestion("recommended", base_lr=1e-4, max_lr=1e-3, explanation="", source="",
                        index=0, marker_lr=1e-3, marker_value=0.7)
    assert scheduler_args(picked, trainer=trainer,
                          policy="warmup_cosine").num_training_steps == 12
    # the caller's own setting wins over the Trainer's
    assert range_test(trainer, start_lr=1e-5, num_iter=10, amp=False,
                      grad_clip_norm=None).settings_used["precision"] == "float32"


@pytest.fixture(scope="module")
def lr_test(tmp_path_factory):
    return range_test(hf_trainer(tmp_path_factory.mktemp("hf")), start_lr=1e-5, num_iter=20,
                      seed=0)


@pytest.mark.parametrize("policy", ["warmup_cosine", "wsd"])
def test_the_recommendation_becomes_transformers_own_scheduler(tmp_path, policy, lr_test):
    result = lr_test
    hf = scheduler_args(result, policy, num_training_steps=40)
    designed = schedule_for(result, policy, total_steps=40)
    peak = result.suggestions["recommended"].max_lr
    # WSD holds its peak, so it gets a lower one (the same mean LR as 1cycle's)
    assert hf.learning_rate == (peak if policy == "warmup_cosine" else designed.params["max_lr"])
    assert policy == "warmup_cosine" or hf.learning_rate < 0.75 * peak
    # through TrainingArguments, as the Trainer builds it
    trainer = hf_trainer(tmp_path, **hf.training_args())
    trainer.create_optimizer_and_scheduler(num_training_steps=trainer.args.max_steps)
    lrs = []
    for _ in range(40):
        lrs.append(trainer.optimizer.param_groups[0]["lr"])
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    np.testing.assert_allclose(lrs, designed.lr(np.arange(40)), rtol=1e-9, atol=1e-15)
    # and through get_scheduler on an optimizer of one's own
    opt = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    sched = hf.get_scheduler(opt)
    assert opt.param_groups[0]["lr"] == pytest.approx(designed.lr(0), abs=1e-15)
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(designed.lr(1), rel=1e-9)
    with pytest.raises(ConfigError, match="no scheduler"):
        scheduler_args(result, "triangular", num_training_steps=40)
