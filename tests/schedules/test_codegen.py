"""to_code(): the exported source, exec'd with a real optimizer, reproduces lr() and momentum()."""

from __future__ import annotations

import ast
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from clr_core.schedules import POLICIES, PRESETS, make_schedule
from clr_core.schedules.codegen import schedule_to_code

RTOL = 1e-12
CASES = [
    ("triangular", {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 7}, "CyclicLR"),
    ("triangular", {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 7, "step_size_down": 3,
                    "base_momentum": 0.85, "max_momentum": 0.95}, "CyclicLR"),
    ("triangular2", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}, "CyclicLR"),
    ("exp_range", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "gamma": 0.98,
                   "base_momentum": 0.8, "max_momentum": 0.9}, "CyclicLR"),
    ("welch", {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 6, "step_size_down": 11},
     "LambdaLR"),
    ("welch", {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 6, "scale_mode": "exp_range",
               "gamma": 0.97, "base_momentum": 0.85, "max_momentum": 0.95}, "LambdaLR"),
    ("hann", {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 9, "scale_mode": "triangular2"},
     "LambdaLR"),
    ("hann", {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 9, "step_size_down": 4,
              "base_momentum": 0.9, "max_momentum": 0.99}, "LambdaLR"),
    ("one_cycle", {"max_lr": 0.1, "total_steps": 80}, "OneCycleLR"),
    ("one_cycle", {"max_lr": 0.1, "total_steps": 80, "three_phase": True, "pct_start": 0.45,
                   "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0},
     "OneCycleLR"),
    ("one_cycle", {"max_lr": 0.1, "total_steps": 80, "cycle_momentum": False}, "OneCycleLR"),
    ("cosine_restarts", {"max_lr": 0.1, "T_0": 5}, "CosineAnnealingWarmRestarts"),
    ("cosine_restarts", {"max_lr": 0.1, "base_lr": 0.01, "T_0": 3, "T_mult": 2},
     "CosineAnnealingWarmRestarts"),
    ("decay", {"base_lr": 0.001, "max_lr": 0.006, "step_size": 30}, "LambdaLR"),
    ("exp", {"base_lr": 0.1, "gamma": 0.95}, "LambdaLR"),
    ("step", {"base_lr": 0.1, "gamma": 0.5, "step_size": 7}, "LambdaLR"),
    ("fixed", {"lr": 0.02}, "LambdaLR"),
    ("warmup_linear", {"max_lr": 0.1, "total_steps": 100, "warmup_steps": 7}, "LambdaLR"),
    ("warmup_cosine", {"max_lr": 0.1, "total_steps": 100, "warmup_steps": 7}, "LambdaLR"),
    ("warmup_cosine", {"max_lr": 0.1, "total_steps": 90, "warmup_steps": 0, "min_lr": 0.01,
                       "num_cycles": 1.5}, "LambdaLR"),
    ("warmup_constant", {"max_lr": 0.1, "warmup_steps": 9}, "LambdaLR"),
    ("polynomial", {"max_lr": 0.1, "total_steps": 100, "warmup_steps": 5, "end_lr": 0.001,
                    "power": 2.0}, "LambdaLR"),
    ("inverse_sqrt", {"max_lr": 0.1, "warmup_steps": 10}, "LambdaLR"),
    ("inverse_sqrt", {"max_lr": 0.1, "warmup_steps": 0, "timescale": 7}, "LambdaLR"),
    ("wsd", {"max_lr": 0.1, "total_steps": 100, "warmup_steps": 10, "decay_steps": 20,
             "min_lr": 0.001, "warmup_shape": "cosine"}, "LambdaLR"),
    ("wsd", {"max_lr": 0.1, "total_steps": 100, "warmup_steps": 10, "decay_steps": 20,
             "warmup_shape": "1-sqrt", "decay_shape": "cosine"}, "LambdaLR"),
    ("timm_cosine", {"max_lr": 0.1, "t_initial": 30, "warmup_t": 5, "cycle_mul": 1.5,
                     "cycle_decay": 0.5, "cycle_limit": 3, "k_decay": 1.5}, "LambdaLR"),
    ("timm_cosine", {"max_lr": 0.1, "t_initial": 30, "warmup_t": 0, "cycle_limit": 2,
                     "noise_range_t": 10, "noise_range_end": 50, "noise_seed": 3}, "LambdaLR"),
    ("phases", {"phases": [{"shape": "linear", "start": 0.0, "end": 0.1, "steps": 10},
                           {"shape": "constant", "start": 0.1, "steps": 5},
                           {"shape": "exp", "start": 0.1, "end": 0.001, "pct": 0.3},
                           {"shape": "cos", "start": 0.001, "end": 0.0, "pct": 0.4}],
                "total_steps": 100}, "LambdaLR"),
]
N = 120


def _optimizer(kind: str, groups: int = 1):
    params = [{"params": [torch.nn.Parameter(torch.zeros(3))]} for _ in range(groups)]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.5, momentum=0.3)
    return torch.optim.Adam(params, lr=0.5)


def run_code(code: str, optimizer, n: int) -> tuple[np.ndarray, np.ndarray]:
    namespace = {"optimizer": optimizer}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code, "<schedule>", "exec"), namespace)
        scheduler = namespace["scheduler"]
        assert isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler)
        lrs, moms = [], []
        for i in range(n):
            g = optimizer.param_groups[-1]
            lrs.append(g["lr"])
            moms.append(g["betas"][0] if "betas" in g else g["momentum"])
            if i < n - 1:
                optimizer.step()
                scheduler.step()
    return np.array(lrs), np.array(moms)


def test_every_policy_has_a_case():
    assert {c[0] for c in CASES} == set(POLICIES)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize(("policy", "params", "builtin"), CASES)
def test_generated_code_reproduces_the_schedule(policy, params, builtin, kind):
    schedule = make_schedule(policy, **params)
    code = schedule.to_code()
    assert code == schedule_to_code(schedule)
    assert f"torch.optim.lr_scheduler.{builtin}" in code
    n = min(N, (schedule.total_steps or N) + 1)
    lrs, moms = run_code(code, _optimizer(kind), n)
    k = np.arange(n)
    np.testing.assert_allclose(lrs, schedule.lr(k), rtol=RTOL, atol=0)
    if schedule.has_momentum:
        np.testing.assert_allclose(moms, schedule.momentum(k), rtol=RTOL, atol=0)


@pytest.mark.parametrize(("policy", "params", "builtin"), CASES)
def test_code_is_standalone(policy, params, builtin):
    code = make_schedule(policy, **params).to_code()
    tree = ast.parse(code)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= {"torch", "math"}
    assert "clr_core" not in code
    assert ast.get_docstring(tree)  # says what it is and what it expects


def test_lambda_code_ignores_a_previous_schedulers_initial_lr():
    opt = _optimizer("sgd")
    torch.optim.lr_scheduler.StepLR(opt, step_size=3)  # leaves initial_lr = 0.5 behind
    schedule = make_schedule("decay", base_lr=0.001, max_lr=0.006, step_size=10)
    lrs, _ = run_code(schedule.to_code(), opt, 20)
    np.testing.assert_allclose(lrs, schedule.lr(np.arange(20)), rtol=RTOL)


def test_all_groups_get_the_same_values():
    schedule = make_schedule("welch", base_lr=0.001, max_lr=0.006, step_size_up=5,
                             base_momentum=0.85, max_momentum=0.95)
    opt = _optimizer("sgd", groups=3)
    run_code(schedule.to_code(), opt, 8)
    assert len({g["lr"] for g in opt.param_groups}) == 1
    assert len({g["momentum"] for g in opt.param_groups}) == 1


def test_presets_export():
    for preset in PRESETS.values():
        schedule = preset.schedule()
        n = min(60, (schedule.total_steps or 60) + 1)
        lrs, _ = run_code(schedule.to_code(), _optimizer("sgd"), n)
        np.testing.assert_allclose(lrs, schedule.lr(np.arange(n)), rtol=RTOL)


@settings(max_examples=25, deadline=None)
@given(policy=st.sampled_from(["welch", "hann"]), base=st.floats(1e-5, 0.1),
       ratio=st.floats(1.5, 20.0), up=st.integers(1, 20), down=st.integers(1, 20),
       mode=st.sampled_from(["triangular", "triangular2", "exp_range"]), gamma=st.floats(0.9, 1.0))
def test_window_code_matches_for_random_configs(policy, base, ratio, up, down, mode, gamma):
    schedule = make_schedule(policy, base_lr=base, max_lr=base * ratio, step_size_up=up,
                             step_size_down=down, scale_mode=mode, gamma=gamma,
                             base_momentum=0.85, max_momentum=0.95)
    lrs, moms = run_code(schedule.to_code(), _optimizer("sgd"), 100)
    k = np.arange(100)
    np.testing.assert_allclose(lrs, schedule.lr(k), rtol=RTOL)
    np.testing.assert_allclose(moms, schedule.momentum(k), rtol=RTOL)
