"""Every export snippet, executed against the real library (transformers, timm, Lightning),
reproduces the schedule step for step; where an export is not offered, the reason is given."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from clr_core.schedules import POLICIES, make_schedule
from clr_core.schedules.exports import exports, hf_code, lightning_code, timm_code

RTOL = 1e-12

HF_CASES = [
    ("warmup_linear", {"max_lr": 3e-5, "total_steps": 200, "warmup_steps": 12}),
    ("warmup_cosine", {"max_lr": 3e-4, "total_steps": 150, "warmup_steps": 10}),
    ("warmup_cosine", {"max_lr": 3e-4, "total_steps": 150, "warmup_steps": 10, "min_lr": 3e-5,
                       "num_cycles": 1.0}),
    ("warmup_constant", {"max_lr": 1e-3, "warmup_steps": 25}),
    ("polynomial", {"max_lr": 1e-3, "total_steps": 120, "warmup_steps": 10, "end_lr": 1e-5,
                    "power": 2.0}),
    ("inverse_sqrt", {"max_lr": 1e-3, "warmup_steps": 40}),
    ("inverse_sqrt", {"max_lr": 1e-3, "warmup_steps": 0, "timescale": 30}),
    ("wsd", {"max_lr": 3e-4, "total_steps": 200, "warmup_steps": 20, "decay_steps": 40,
             "min_lr": 3e-6}),
    ("wsd", {"max_lr": 3e-4, "total_steps": 200, "warmup_steps": 20, "decay_steps": 40,
             "warmup_shape": "cosine", "decay_shape": "linear"}),
    ("fixed", {"lr": 0.02}),
]


def _optimizer(lr: float = 0.5):
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(3))], lr=lr)


def run_torch(code: str, n: int, *, timm: bool = False) -> np.ndarray:
    opt = _optimizer()
    ns = {"optimizer": opt}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "<export>", "exec"), ns)
        sched, out = ns["scheduler"], []
        for k in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if timm:
                sched.step_update(num_updates=k + 1)
            else:
                sched.step()
    return np.array(out)


@pytest.mark.parametrize(("policy", "params"), HF_CASES)
def test_hugging_face_export_is_exact(policy, params):
    schedule = make_schedule(policy, **params)
    code = hf_code(schedule)
    assert "get_scheduler(" in code
    n = (schedule.planned_steps or 100) + 15
    np.testing.assert_allclose(run_torch(code, n), schedule.lr(np.arange(n)), rtol=RTOL)


@settings(max_examples=25, deadline=None)
@given(max_lr=st.floats(1e-5, 1.0), total=st.integers(2, 300), data=st.data(),
       policy=st.sampled_from(["warmup_linear", "warmup_cosine", "polynomial", "wsd"]))
def test_hugging_face_export_is_exact_for_random_configs(max_lr, total, data, policy):
    warm = data.draw(st.integers(0, total - 1))
    params = {"max_lr": max_lr, "total_steps": total, "warmup_steps": warm}
    if policy == "warmup_cosine":
        params.update(min_lr=max_lr * data.draw(st.floats(0.0, 0.9)),
                      num_cycles=data.draw(st.floats(0.2, 2.0)))
    elif policy == "polynomial":
        params.update(end_lr=max_lr * data.draw(st.floats(0.0, 0.9)),
                      power=data.draw(st.floats(0.3, 3.0)))
    elif policy == "wsd":
        params.update(decay_steps=data.draw(st.integers(1, total - warm)),
                      min_lr=max_lr * data.draw(st.floats(0.0, 0.9)),
                      decay_shape=data.draw(st.sampled_from(["linear", "cosine", "1-sqrt"])))
    schedule = make_schedule(policy, **params)
    n = total + 10
    np.testing.assert_allclose(run_torch(hf_code(schedule), n), schedule.lr(np.arange(n)),
                               rtol=RTOL, atol=1e-15 * max_lr)


@settings(max_examples=25, deadline=None)
@given(max_lr=st.floats(1e-5, 1.0), t0=st.integers(1, 60), warm=st.integers(0, 20),
       prefix=st.booleans(), mul=st.sampled_from([1.0, 1.5, 2.0]), decay=st.floats(0.2, 1.0),
       limit=st.integers(1, 3), k=st.sampled_from([1.0, 2.0]),
       noise=st.one_of(st.none(), st.tuples(st.integers(0, 60), st.integers(1, 60))),
       seed=st.integers(0, 99))
def test_timm_export_is_exact(max_lr, t0, warm, prefix, mul, decay, limit, k, noise, seed):
    params = {"max_lr": max_lr, "t_initial": t0, "min_lr": max_lr / 100, "warmup_t": warm,
              "warmup_lr_init": max_lr / 1000, "warmup_prefix": prefix, "cycle_mul": mul,
              "cycle_decay": decay, "cycle_limit": limit, "k_decay": k, "noise_seed": seed}
    if noise is not None:
        params.update(noise_range_t=noise[0], noise_range_end=noise[0] + noise[1])
    schedule = make_schedule("timm_cosine", **params)
    code = timm_code(schedule)
    assert "create_scheduler_v2(" in code
    n = 3 * t0 + warm + 5
    np.testing.assert_allclose(run_torch(code, n, timm=True), schedule.lr(np.arange(n)),
                               rtol=RTOL, atol=1e-15 * max_lr)


LIGHTNING_CASES = [
    ("triangular", {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 4,
                    "base_momentum": 0.8, "max_momentum": 0.9}),
    ("one_cycle", {"max_lr": 0.05, "total_steps": 30}),
    ("wsd", {"max_lr": 3e-4, "total_steps": 30, "warmup_steps": 4, "decay_steps": 6}),
    ("timm_cosine", {"max_lr": 0.01, "t_initial": 10, "warmup_t": 3, "cycle_limit": 2,
                     "noise_range_t": 5}),
]


@pytest.mark.parametrize(("policy", "params"), LIGHTNING_CASES)
def test_lightning_export_runs_in_a_trainer_and_is_exact(policy, params):
    import lightning as L

    schedule = make_schedule(policy, **params)
    ns: dict = {}
    exec(compile(lightning_code(schedule), "<lightning>", "exec"), ns)
    seen: list[float] = []

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            seen.append(self.trainer.optimizers[0].param_groups[0]["lr"])
            return self.layer(batch[0]).pow(2).mean()

    Module.configure_optimizers = ns["configure_optimizers"]
    n = 25
    data = torch.utils.data.TensorDataset(torch.randn(n, 2))
    trainer = L.Trainer(max_steps=n, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(Module(), torch.utils.data.DataLoader(data, batch_size=1))
    np.testing.assert_allclose(seen, schedule.lr(np.arange(n)), rtol=RTOL)


def test_every_policy_lists_every_export_and_says_why_one_is_missing():
    for policy, spec in POLICIES.items():
        params = {p.name: p.default for p in spec.params if p.default is not None}
        found = {e.name: e for e in exports(make_schedule(policy, **params))}
        assert list(found) == ["pytorch", "huggingface", "timm", "lightning", "json"]
        for e in found.values():
            assert e.note
            if e.code is None:
                assert e.note.startswith("Not offered") and policy in e.note
    assert exports(make_schedule("wsd", max_lr=0.1, total_steps=10, warmup_steps=1,
                                 decay_steps=2))[1].code
    assert exports(make_schedule("triangular", base_lr=0.1, max_lr=0.2,
                                 step_size_up=3))[1].code is None
