"""Everything a range test knew travels to what checks its suggestion (issue 32, item 2):
Verify's training and the Confirm trials get the test's data, model, optimizer settings and
loop settings (gradient accumulation, precision, clipping), compared field by field."""

from __future__ import annotations

import numpy as np

from clr_core.engine.results import RangeTestResult
from clr_core.jobs.confirm_job import ConfirmConfig, confirm_config
from clr_core.jobs.runners import verify_config
from clr_core.setup.configs import LOOP_SETTINGS, RangeTestConfig, TrainConfig

#: Names both configs hold that mean another thing in a training: the sweep's length, its
#: validation interval and its smoothed-loss stop (a training gets Verify's own).
NOT_THE_SAME_SETTING = {"num_iter", "eval_every", "diverge_threshold"}

#: A range test with every setting a training shares away from its default.
RANGE_TEST = {"dataset": "cifar10", "model": "vit", "optimizer": "adamw", "batch_size": 32,
              "weight_decay": 0.05, "momentum": 0.85, "beta2": 0.98, "nesterov": True,
              "device": "cpu", "seed": 3, "data_root": "somewhere", "download": True,
              "loss": "my_loss", "batch_to_inputs": "my_split", "accumulation_steps": 4,
              "amp": "bf16", "grad_clip_norm": 1.0, "grad_clip_value": 0.5,
              "start_lr": 1e-5, "end_lr": 1.0, "num_iter": 50}


def test_the_test_covers_every_setting_a_training_shares_with_a_range_test():
    """A setting added to both configs later is checked here without being listed."""
    shared = set(RangeTestConfig().to_dict()) & set(TrainConfig().to_dict())
    assert shared - NOT_THE_SAME_SETTING <= set(RANGE_TEST)
    defaults = RangeTestConfig().to_dict()
    assert all(RANGE_TEST[k] != defaults[k] for k in shared - NOT_THE_SAME_SETTING)


def test_verify_trains_with_every_setting_the_range_test_had():
    """Accumulation was dropped: Verify trained with one batch per update after a test
    that accumulated four."""
    shared = (set(RangeTestConfig().to_dict()) & set(TrainConfig().to_dict())) \
        - NOT_THE_SAME_SETTING
    plan = verify_config(RANGE_TEST, max_lr=0.01, policy="warmup_cosine")
    assert {k: plan.get(k) for k in sorted(shared)} == {k: RANGE_TEST[k] for k in sorted(shared)}
    assert plan["accumulation_steps"] == 4
    for run in plan["runs"]:  # no run overrides what the test had
        assert not set(run) & shared


def test_confirm_trials_train_with_the_range_test_s_loop_settings():
    assert set(LOOP_SETTINGS) >= {"accumulation_steps", "amp", "grad_clip_norm",
                                  "grad_clip_value"}
    lrs = np.logspace(-4, 0, 30)
    losses = 2.0 - np.tanh(np.linspace(0, 3, 30))
    result = RangeTestResult(lrs, losses, losses, False, "completed", num_iter=30,
                             start_lr=1e-4, end_lr=1.0)
    rt = {**{k: v for k, v in RANGE_TEST.items() if k not in ("loss", "batch_to_inputs",
                                                             "data_root", "download")},
          "amp": False}  # a registered loss, a data folder and bf16 are checked on this machine
    config = confirm_config(rt, result)
    spec = ConfirmConfig.from_dict(config).loop_spec()
    for name in LOOP_SETTINGS:
        assert config[name] == rt[name] and getattr(spec, name) == rt[name], name
