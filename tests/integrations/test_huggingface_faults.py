"""Issue 29's probe, the Hugging Face part: the range test takes the Trainer's
``gradient_accumulation_steps`` (the suggestion is for the batch it trains with), and a
``StudioCallback`` used outside ``with`` ends a run whose ``train()`` raised as "failed"
while the process lives on, instead of leaving it "running"."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from tiny_stacks import hf_trainer
from transformers import TrainerCallback

from clr_core.engine.range_test import run_range_test
from clr_core.integrations.huggingface import StudioCallback, range_test
from clr_core.runs.store import RunStore


class _Loss(torch.nn.Module):
    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch):
        return self.model(**batch).loss


def _count_forwards(model) -> list[int]:
    calls: list[int] = []
    model.register_forward_hook(lambda m, a, o: calls.append(1) if m.training else None)
    return calls


def test_the_range_test_accumulates_the_trainers_micro_batches_per_lr_step(tmp_path):
    trainer = hf_trainer(tmp_path, per_device_train_batch_size=4, gradient_accumulation_steps=4)
    calls = _count_forwards(trainer.model)
    result = range_test(trainer, start_lr=1e-5, end_lr=10, num_iter=6, seed=0, record="acc",
                        store=tmp_path / "r.db")
    assert len(calls) == 6 * 4 and len(result.losses) == 6  # 4 micro-batches per LR
    run = RunStore(tmp_path / "r.db").list_runs()[0]
    assert RunStore(tmp_path / "r.db").load_run(run.id).config["accumulation_steps"] == 4

    # the same as the engine told to accumulate 4 batches on the same model and batches
    optimizer = trainer.create_optimizer()
    trainer.optimizer = None
    direct = run_range_test(_Loss(trainer.model), optimizer, lambda out, _: out,
                            trainer.get_train_dataloader(), batch_to_inputs=lambda b: (b, None),
                            start_lr=1e-5, end_lr=10, num_iter=6, seed=0, accumulation_steps=4)
    np.testing.assert_array_equal(result.losses, direct.losses)


def test_an_explicit_accumulation_count_wins_over_the_trainers(tmp_path):
    trainer = hf_trainer(tmp_path, per_device_train_batch_size=4, gradient_accumulation_steps=4)
    calls = _count_forwards(trainer.model)
    range_test(trainer, start_lr=1e-5, end_lr=10, num_iter=5, seed=0, accumulation_steps=1)
    assert len(calls) == 5


class _Boom(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise RuntimeError("boom")


def _status_once_settled(db, run_id, within_s=20.0):
    """The run's status once it is no longer "running" (polled, the watch ends it)."""
    store = RunStore(db)
    deadline = time.monotonic() + within_s
    while store.load_run(run_id).status == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    return store.load_run(run_id)


def test_a_run_that_raises_outside_with_is_ended_failed_while_the_process_lives(tmp_path):
    db = tmp_path / "runs.db"
    cb = StudioCallback("raises", store=db)
    trainer = hf_trainer(tmp_path, callbacks=[cb, _Boom()])
    with pytest.raises(RuntimeError, match="boom"):
        trainer.train()
    run = _status_once_settled(db, cb.run_id)
    assert run.status == "failed" and "Trainer.train raised" in run.error
    assert len(run.result["runs"][0]["train"]["losses"]) == 3  # what it recorded is kept


def test_a_second_train_after_one_that_raised_ends_the_first_failed_not_done(tmp_path,
                                                                           monkeypatch):
    import clr_core.integrations.huggingface as hf

    monkeypatch.setattr(hf, "WATCH_S", 60.0)  # the watch stays asleep: the restart decides
    db = tmp_path / "runs.db"
    cb = StudioCallback("twice", store=db)
    boom = _Boom()
    trainer = hf_trainer(tmp_path, callbacks=[cb, boom], max_steps=4)
    with pytest.raises(RuntimeError, match="boom"):
        trainer.train()
    first = cb.run_id
    trainer.remove_callback(boom)
    trainer.train()
    store = RunStore(db)
    assert store.load_run(first).status == "failed"
    assert store.load_run(cb.run_id).status == "done" and cb.run_id != first


def test_a_run_that_ends_normally_stays_done(tmp_path):
    db = tmp_path / "runs.db"
    cb = StudioCallback("fine", store=db)
    hf_trainer(tmp_path, callbacks=[cb], max_steps=4).train()
    time.sleep(1.5)  # three watch periods: the watch must not touch a finished run
    run = RunStore(db).load_run(cb.run_id)
    assert run.status == "done" and run.error is None
