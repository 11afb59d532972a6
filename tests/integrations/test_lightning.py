"""The Lightning integration against the real library, on a tiny digits module: a fit
recorded live (another process sees it while it trains), a failed or interrupted fit
marked with what it recorded, the range test on the module as it is (restored bit for
bit, the same suggestion as the engine's on the same model and batches), and the
recommendation trained as a designed schedule."""

from __future__ import annotations

import math
import signal

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from store_probe import probe
from tiny_stacks import DigitsData, DigitsModule, quiet_trainer

from clr_core.engine.range_test import run_range_test
from clr_core.errors import ConfigError
from clr_core.integrations.common import schedule_for
from clr_core.integrations.lightning import StudioCallback, first_optimizer, range_test
from clr_core.runs.store import RunStore


class _Probe(pl.Callback):
    """Asks a separate process what the store shows once the fit is at step ``at``."""

    def __init__(self, recorder: StudioCallback, db, at: int) -> None:
        self.recorder, self.db, self.at, self.seen = recorder, db, at, None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.at and self.seen is None:
            self.seen = probe(self.db, self.recorder.run_id)


def test_a_fit_is_recorded_live_with_every_group_and_the_validation(tmp_path):
    db = tmp_path / "runs.db"
    cb = StudioCallback("digits fit", store=db)
    seen = _Probe(cb, db, at=12)
    quiet_trainer(tmp_path, max_steps=24, val_check_interval=8,
                  callbacks=[cb, seen]).fit(DigitsModule())
    assert seen.seen["status"] == "running" and seen.seen["label"] == "digits fit"
    assert 1 <= seen.seen["steps"] <= 12 and seen.seen["kind"] == "train"
    store = RunStore(db)
    run = store.load_run(cb.run_id)
    assert run.status == "done"
    events, _ = store.read_events(cb.run_id)
    steps = [e for e in events if e["kind"] == "step"]
    assert [e["iteration"] for e in steps] == list(range(24))
    # the head's group (0.1) is the reference; the body's 0.01 rides along
    assert all(e["lr"] == 0.1 and e["group_lrs"] == [0.01, 0.1] for e in steps)
    assert all(e["momentum"] == 0.9 and e["group_momentums"] == [0.9, 0.9] for e in steps)
    assert all(math.isfinite(e["loss"]) for e in steps)
    evals = [e for e in events if e["kind"] == "eval"]
    assert [e["iteration"] for e in evals] == [8, 16, 24]
    assert all(0 <= e["val_accuracy"] <= 1 and e["val_loss"] > 0 for e in evals)
    train = run.result["runs"][0]["train"]
    assert train["lrs"] == [0.1] * 24 and len(train["losses"]) == 24
    assert run.result["headline"].startswith("best: digits fit")
    assert run.result["config"]["param_groups"] == 2 and run.result["config"]["source"] == "lightning"


def test_a_fit_that_raises_is_marked_failed_with_what_it_recorded(tmp_path):
    db = tmp_path / "runs.db"
    cb = StudioCallback("crash", store=db)
    with pytest.raises(RuntimeError, match="boom"):
        quiet_trainer(tmp_path, max_steps=20, limit_val_batches=0,
                      callbacks=[cb]).fit(DigitsModule(fail_at=5))
    run = RunStore(db).load_run(cb.run_id)
    assert run.status == "failed" and "boom at batch 5" in run.error
    assert len(run.result["runs"][0]["train"]["losses"]) == 5


def test_ctrl_c_in_a_fit_marks_the_run_cancelled(tmp_path):
    db = tmp_path / "runs.db"
    cb = StudioCallback("stopped", store=db)
    try:
        with pytest.raises(SystemExit):  # Lightning exits after a KeyboardInterrupt
            quiet_trainer(tmp_path, max_steps=20, limit_val_batches=0,
                          callbacks=[cb]).fit(DigitsModule(interrupt_at=3))
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Lightning ignores it after
    run = RunStore(db).load_run(cb.run_id)
    assert run.status == "cancelled"
    assert len(run.result["runs"][0]["train"]["losses"]) == 3


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_the_range_test_restores_the_module_and_matches_the_engine(tmp_path):
    module = DigitsModule()
    module.body[0].weight.grad = torch.full_like(module.body[0].weight, 0.5)
    module.eval()
    before = _state(module)
    result = range_test(module, start_lr=1e-5, end_lr=10, num_iter=40, seed=0,
                        record="lightning range test", store=tmp_path / "runs.db")
    after = _state(module)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(module.body[0].weight.grad, torch.full_like(module.body[0].weight, 0.5))
    assert not module.training
    rec = result.suggestions["recommended"]
    assert 1e-5 < rec.max_lr < 10 and rec.base_lr < rec.max_lr
    assert result.reference_group == 1  # the head's group, at 10x the body's

    # the engine on the same model, optimizer and batches, with the module's own loss
    optimizer = first_optimizer(module.configure_optimizers())
    direct = run_range_test(module, optimizer, torch.nn.CrossEntropyLoss(),
                            module.train_dataloader(), start_lr=1e-5, end_lr=10, num_iter=40,
                            seed=0)
    np.testing.assert_array_equal(result.losses, direct.losses)
    assert result.suggestions == direct.suggestions
    run = RunStore(tmp_path / "runs.db").list_runs()[0]
    assert (run.label, run.kind, run.status) == ("lightning range test", "range_test", "done")


def test_the_range_test_takes_a_datamodule_and_refuses_a_module_without_data(tmp_path):
    class NoData(DigitsModule):
        train_dataloader = pl.LightningModule.train_dataloader

    result = range_test(NoData(), datamodule=DigitsData(), num_iter=20, seed=0)
    assert result.iterations == 20
    with pytest.raises(ConfigError, match="no train_dataloader"):
        range_test(NoData(), num_iter=20)
    with pytest.raises(ConfigError, match="LightningModule"):
        range_test(torch.nn.Linear(2, 2))


def test_the_recommendation_trains_as_the_designed_schedule(tmp_path):
    result = range_test(DigitsModule(), start_lr=1e-5, num_iter=30, seed=0)
    db = tmp_path / "runs.db"
    cb = StudioCallback("one cycle", store=db)
    quiet_trainer(tmp_path, max_steps=16, limit_val_batches=0, callbacks=[cb]).fit(
        DigitsModule(schedule_from=result, policy="one_cycle"))
    lrs = RunStore(db).load_run(cb.run_id).result["runs"][0]["train"]["lrs"]
    designed = schedule_for(result, "one_cycle", total_steps=16)
    np.testing.assert_allclose(lrs, designed.lr(np.arange(16)), rtol=1e-12)
    assert designed.params["max_lr"] == result.suggestions["recommended"].max_lr
