"""The Lightning range test trains as the fit will: the Trainer's gradient clipping,
precision and accumulation, and every optimizer ``configure_optimizers`` returns (one
test each, or the one named); the result names what it took."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_stacks import DigitsModule, TwoOptimizerModule, quiet_trainer

from clr_core.engine.range_test import run_range_test
from clr_core.errors import ConfigError
from clr_core.integrations.lightning import all_optimizers, range_test
from clr_core.runs.store import RunStore


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _loss(module, batch):
    return module.loss(batch)


def test_two_optimizers_give_one_range_test_each_and_restore_the_module(tmp_path):
    module = TwoOptimizerModule()
    before = _state(module)
    results = range_test(module, step_loss=_loss, start_lr=1e-5, end_lr=10, num_iter=25,
                         seed=0, record="gan-like", store=tmp_path / "runs.db")
    assert isinstance(results, list) and len(results) == 2
    assert [r.settings_used["optimizer"] for r in results] == ["SGD", "Adam"]
    assert [r.settings_used["optimizer_index"] for r in results] == [0, 1]
    assert all(r.iterations >= 2 for r in results)
    assert all(torch.equal(before[k], v) for k, v in _state(module).items())
    # each optimizer swept its own parameters: the curves are not the same
    n = min(results[0].iterations, results[1].iterations)
    assert not np.allclose(results[0].losses[1:n], results[1].losses[1:n])
    labels = sorted(r.label for r in RunStore(tmp_path / "runs.db").list_runs())
    assert labels == ["gan-like (optimizer 0)", "gan-like (optimizer 1)"]
    # the one the user names, the same as its test among all
    only = range_test(module, step_loss=_loss, optimizer_index=1, start_lr=1e-5, end_lr=10,
                      num_iter=25, seed=0)
    np.testing.assert_array_equal(only.losses, results[1].losses)
    with pytest.raises(ConfigError, match="optimizer_index"):
        range_test(module, step_loss=_loss, optimizer_index=2, num_iter=10)
    with pytest.raises(ConfigError, match="step_loss"):
        range_test(module, num_iter=10)  # manual optimization without a loss to sweep


def test_all_optimizers_reads_every_form_configure_optimizers_returns():
    a, b = (torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1) for _ in range(2))
    sched = torch.optim.lr_scheduler.StepLR(a, 1)
    assert all_optimizers(a) == [a]
    assert all_optimizers([a, b]) == [a, b]
    assert all_optimizers(([a, b], [sched])) == [a, b]
    assert all_optimizers([{"optimizer": a, "lr_scheduler": sched}, {"optimizer": b}]) == [a, b]
    with pytest.raises(ConfigError, match="no optimizer"):
        all_optimizers([])


@pytest.mark.parametrize(("algorithm", "engine_key"), [("norm", "grad_clip_norm"),
                                                       ("value", "grad_clip_value")])
def test_the_trainers_clipping_precision_and_accumulation_are_used(tmp_path, algorithm,
                                                                   engine_key):
    trainer = quiet_trainer(tmp_path, gradient_clip_val=0.05, gradient_clip_algorithm=algorithm,
                            precision="bf16-mixed", accumulate_grad_batches=2)
    module = DigitsModule()
    result = range_test(module, trainer=trainer, start_lr=1e-4, end_lr=10, num_iter=12, seed=0)
    used = result.settings_used
    assert used[engine_key] == 0.05
    assert used["precision"] == "bfloat16" and used["accumulation_steps"] == 2
    assert used["taken_from_trainer"][engine_key] == f"gradient_clip_val ({algorithm})"
    assert used["optimizer_steps_per_epoch"] == 4  # 8 batches, 2 per update
    # the engine with the same settings on the same module and batches
    direct = run_range_test(module, all_optimizers(module.configure_optimizers())[0],
                            torch.nn.CrossEntropyLoss(), module.train_dataloader(),
                            start_lr=1e-4, end_lr=10, num_iter=12, seed=0, amp="bf16",
                            accumulation_steps=2, **{engine_key: 0.05})
    np.testing.assert_array_equal(result.losses, direct.losses)
    plain = range_test(module, start_lr=1e-4, end_lr=10, num_iter=12, seed=0)
    assert plain.settings_used[engine_key] is None and plain.settings_used["precision"] == "float32"
    assert "settings used" in str(result.summary()) and "bfloat16" in str(result.summary())


@pytest.mark.parametrize("strategy", ["ddp_spawn", "ddp_fork"])
def test_a_spawning_strategy_is_refused_before_any_process_starts(tmp_path, strategy):
    """Their processes would hand nothing back: refused with the way to do it, at once."""
    import lightning.pytorch as pl

    trainer = pl.Trainer(strategy=strategy, devices=2, accelerator="cpu", logger=False,
                         default_root_dir=str(tmp_path), enable_progress_bar=False)
    module = DigitsModule()
    before = _state(module)
    with pytest.raises(ConfigError, match=rf"strategy='ddp'.*not {strategy}"):
        range_test(module, trainer=trainer, num_iter=5, record="never",
                   store=tmp_path / "runs.db")
    assert all(torch.equal(before[k], v) for k, v in _state(module).items())
    assert not (tmp_path / "runs.db").exists() or not RunStore(tmp_path / "runs.db").list_runs()
    assert not torch.distributed.is_initialized()
