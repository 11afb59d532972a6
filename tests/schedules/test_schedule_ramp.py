"""The warm-up modifier: a ramp in front of any policy, in the closed form, the JSON, the
torch adapter and the code export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_codegen import run_code

from clr_core.errors import ScheduleError
from clr_core.schedules import POLICIES, from_dict, make_schedule
from clr_core.schedules.exports import exports


def _defaults(policy: str) -> dict:
    return {p.name: p.default for p in POLICIES[policy].params if p.default is not None}


@settings(max_examples=40, deadline=None)
@given(policy=st.sampled_from(sorted(POLICIES)), n=st.integers(1, 50),
       shape=st.sampled_from(["linear", "cos", "exp"]), start=st.floats(0.01, 0.9))
def test_the_ramp_rises_to_the_policys_own_lr_and_leaves_the_rest(policy, n, shape, start):
    plain = make_schedule(policy, **_defaults(policy))
    ramped = make_schedule(policy, **_defaults(policy), ramp_steps=n, ramp_shape=shape,
                           ramp_from=start)
    k = np.arange(min(n + 60, plain.total_steps or n + 60))
    a, b = plain.lr(k), ramped.lr(k)
    np.testing.assert_array_equal(b[n:], a[n:])
    target = float(plain.lr(n))
    assert b[0] == pytest.approx(start * target, rel=1e-12)
    assert np.all(np.diff(b[: n + 1]) * np.sign(target) >= -1e-15)  # monotone up to the target
    assert from_dict(ramped.to_dict()) == ramped and ramped != plain


def test_ramp_keys_appear_only_when_on():
    plain = make_schedule("fixed", lr=0.1)
    assert "ramp_steps" not in plain.to_dict()
    assert make_schedule("fixed", lr=0.1, ramp_steps=0) == plain
    on = make_schedule("fixed", lr=0.1, ramp_steps=5)
    assert on.to_dict() == {"policy": "fixed", "lr": 0.1, "ramp_steps": 5,
                            "ramp_shape": "linear", "ramp_from": 0.0}
    np.testing.assert_allclose(on.lr(np.arange(7)), [0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.1])


@pytest.mark.parametrize(("params", "needle"), [
    ({"ramp_steps": -1}, "ramp_steps must be >= 0"),
    ({"ramp_steps": 5, "ramp_shape": "exp"}, "ramp_from must be in \\(0, 1\\) for an exp"),
    ({"ramp_steps": 5, "ramp_from": 1.0}, "ramp_from must be in \\[0, 1\\)"),
    ({"ramp_steps": 5, "ramp_shape": "sine"}, "ramp_shape must be one of"),
])
def test_bad_ramps_name_the_parameter(params, needle):
    with pytest.raises(ScheduleError, match=needle):
        make_schedule("fixed", lr=0.1, **params)


def test_a_ramp_longer_than_a_hard_end_is_refused():
    with pytest.raises(ScheduleError, match="ramp_steps \\(200\\) must be <= total_steps"):
        make_schedule("one_cycle", max_lr=0.1, total_steps=100, ramp_steps=200)


def test_an_exp_ramp_onto_an_lr_of_zero_is_refused():
    # warmup_linear is 0 at total_steps; gamma**k underflows to 0: a ratio of 0 has no log
    with pytest.raises(ScheduleError, match="exp ramp needs an LR above 0 at step ramp_steps"):
        make_schedule("warmup_linear", max_lr=0.1, total_steps=100, warmup_steps=0,
                      ramp_steps=100, ramp_shape="exp", ramp_from=0.1)
    with pytest.raises(ScheduleError, match="use a linear or cos ramp"):
        make_schedule("exp", base_lr=1.0, gamma=0.0625, ramp_steps=269, ramp_shape="exp",
                      ramp_from=0.5)
    ok = make_schedule("exp", base_lr=1.0, gamma=0.0625, ramp_steps=269, ramp_shape="cos")
    assert ok.lr(0) == 0.0


@pytest.mark.parametrize(("policy", "params"), [
    ("warmup_cosine", {"max_lr": 0.1, "total_steps": 60, "warmup_steps": 0}),
    ("hann", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 9, "base_momentum": 0.8,
              "max_momentum": 0.9}),
    ("cosine_restarts", {"max_lr": 0.1, "T_0": 20}),  # a built-in: exported through clr_core
])
def test_code_export_and_torch_adapter_keep_the_ramp(policy, params):
    schedule = make_schedule(policy, **params, ramp_steps=12, ramp_shape="cos", ramp_from=0.1)
    code = schedule.to_code()
    assert ("clr_core" in code) == (policy == "cosine_restarts")
    lrs, _ = run_code(code, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0,
                                            momentum=0.5), 50)
    np.testing.assert_allclose(lrs, schedule.lr(np.arange(50)), rtol=1e-12)
    found = {e.name: e for e in exports(schedule)}
    assert found["huggingface"].code is None and "warm-up modifier" in found["huggingface"].note
