"""Schedules whose parameters validate one by one but would overflow, go negative or count
past what a float holds are refused at construction, naming the parameter."""

from __future__ import annotations

import numpy as np
import pytest

from clr_core.errors import ScheduleError
from clr_core.schedules import make_schedule
from clr_core.setup.configs import TrainConfig


@pytest.mark.parametrize(("policy", "params", "message"), [
    ("wsd", {"max_lr": 1e-3, "total_steps": 10**300, "warmup_steps": 10, "decay_steps": 10},
     r"wsd: total_steps must be at most 2\*\*53"),
    ("triangular", {"base_lr": 1e-3, "max_lr": 1e-2, "step_size_up": 1e300},
     r"triangular: step_size_up must be at most 2\*\*53"),
    ("timm_cosine", {"max_lr": 1e-3, "t_initial": 100, "k_decay": 1e300},
     r"timm_cosine: .*check k_decay=1e\+300"),
    ("timm_cosine", {"max_lr": 1e-3, "t_initial": 1000, "noise_pct": 5.0, "noise_range_t": 0},
     "noise_pct must be <= 1, got 5.0: noise beyond -100% puts negative LRs"),
    ("wsd", {"max_lr": 1e-3, "total_steps": 10**400, "warmup_steps": 1, "decay_steps": 1},
     "total_steps must be finite"),
])
def test_overflowing_parameters_are_refused_naming_the_key(policy, params, message):
    with pytest.raises(ScheduleError, match=message):
        make_schedule(policy, **params)


def test_a_huge_cycle_mul_is_computed_not_overflowed():
    s = make_schedule("timm_cosine", max_lr=1e-3, t_initial=100, cycle_mul=1e300, cycle_limit=5)
    lrs = s.trace(1000)
    assert np.isfinite(lrs).all() and np.allclose(lrs, s.lr(np.arange(1000)), rtol=0, atol=1e-12)


def test_noise_at_most_100_percent_never_makes_a_negative_lr():
    s = make_schedule("timm_cosine", max_lr=1e-3, t_initial=1000, noise_pct=1.0, noise_range_t=0)
    lrs = s.trace(1000)
    assert np.isfinite(lrs).all() and (lrs >= 0).all()


def test_a_training_config_with_an_lr_a_float32_optimizer_cannot_hold_is_refused():
    with pytest.raises(ValueError, match=r"the schedule's LR is 4e\+298 at step 0: an LR must"):
        TrainConfig.from_dict({"schedule": {"policy": "one_cycle", "max_lr": 1e300,
                                            "total_steps": 300}, "num_iter": 300})
