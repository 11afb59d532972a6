"""Schedules: the contract's shapes and types, validation, JSON round trips, presets."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clr_core.errors import ScheduleError
from clr_core.schedules import (
    POLICIES,
    PRESETS,
    ParamSpec,
    PolicySpec,
    Preset,
    Schedule,
    from_dict,
    make_schedule,
)

CYCLIC = ("triangular", "triangular2", "exp_range", "welch", "hann")
WINDOWS = ("welch", "hann")
TRI = {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 20}
ONE = {"max_lr": 0.1, "total_steps": 100}


def defaults(policy: str) -> dict:
    return {s.name: s.default for s in POLICIES[policy].params}


@st.composite
def configs(draw, policy: str) -> dict:
    """Valid parameters for `policy`, mixing given and defaulted optional ones."""
    lr = st.floats(1e-6, 1.0)
    d: dict = {}
    if policy in CYCLIC or policy == "decay":
        base = draw(lr)
        d.update(base_lr=base, max_lr=base * draw(st.floats(1.01, 100.0)))
    if policy in CYCLIC:
        d["step_size_up"] = draw(st.integers(1, 5000))
        if draw(st.booleans()):
            d["step_size_down"] = draw(st.integers(1, 5000))
        if policy == "exp_range" or policy in WINDOWS:
            d["gamma"] = draw(st.floats(0.5, 1.0))
        if policy in WINDOWS:
            d["scale_mode"] = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
        if draw(st.booleans()):
            lo = draw(st.floats(0.0, 0.98))
            d.update(base_momentum=lo, max_momentum=draw(st.floats(lo, 0.99)))
    elif policy == "decay":
        d["step_size"] = draw(st.integers(1, 5000))
    elif policy in ("exp", "step"):
        d.update(base_lr=draw(lr), gamma=draw(st.floats(0.01, 1.0)))
        if policy == "step":
            d["step_size"] = draw(st.integers(1, 5000))
    elif policy == "fixed":
        d["lr"] = draw(lr)
    elif policy == "cosine_restarts":
        mx = draw(lr)
        d.update(max_lr=mx, base_lr=mx * draw(st.floats(0.0, 0.9)), T_0=draw(st.integers(1, 500)),
                 T_mult=draw(st.integers(1, 4)))
    elif policy == "one_cycle":
        lo = draw(st.floats(0.0, 0.98))
        d.update(max_lr=draw(lr), total_steps=draw(st.integers(3, 10_000)),
                 pct_start=draw(st.floats(0.05, 0.45)),
                 anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
                 div_factor=draw(st.floats(1.0, 100.0)), final_div_factor=draw(st.floats(1.0, 1e5)),
                 three_phase=draw(st.booleans()), cycle_momentum=draw(st.booleans()),
                 base_momentum=lo, max_momentum=draw(st.floats(lo, 0.99)))
        phase_end = d["pct_start"] * d["total_steps"] - 1
        assume(phase_end != 0)  # a zero-length phase is refused (torch divides by zero)
    elif not d:  # the newer policies: their spec defaults (their parity tests draw the rest)
        d = {s.name: s.default for s in POLICIES[policy].params if s.default is not None}
    return d


# --------------------------------------------------------------------------- contract


def test_every_policy_builds_from_its_spec_defaults():
    for name, spec in POLICIES.items():
        assert isinstance(spec, PolicySpec) and spec.name == name
        assert spec.label and spec.description
        for p in spec.params:
            assert isinstance(p, ParamSpec)
            assert p.kind in ("float", "int", "bool", "choice", "phases")
            assert p.help
            if p.kind == "choice":
                assert p.default in p.choices
            if p.default is None:
                assert p.optional
        sched = make_schedule(name, **{k: v for k, v in defaults(name).items() if v is not None})
        assert sched.policy == name
        assert set(sched.params) == {p.name for p in spec.params}
        lrs = sched.lr(np.arange(min(500, sched.total_steps or 500)))
        assert lrs.dtype == np.float64 and np.all(lrs >= 0) and np.all(np.isfinite(lrs))


def test_smiths_cifar_numbers_are_the_cyclic_defaults():
    d = defaults("triangular")
    assert (d["base_lr"], d["max_lr"], d["step_size_up"]) == (0.001, 0.006, 2000)
    assert defaults("one_cycle")["total_steps"] == 1000


@pytest.mark.parametrize("policy", list(POLICIES))
def test_lr_shapes_and_dtypes(policy):
    sched = make_schedule(policy, **{k: v for k, v in defaults(policy).items() if v is not None})
    scalar = sched.lr(7)
    assert isinstance(scalar, np.ndarray) and scalar.shape == () and scalar.dtype == np.float64
    grid = np.arange(12, dtype=np.int32).reshape(3, 4)
    out = sched.lr(grid)
    assert out.shape == (3, 4) and out.dtype == np.float64
    assert out[1, 3] == sched.lr(7)
    assert sched.lr(np.array([], dtype=np.int64)).shape == (0,)
    assert np.array_equal(sched.lr(np.arange(5.0)), sched.lr(np.arange(5)))  # integral floats
    mom = sched.momentum(grid)
    if sched.has_momentum:
        assert mom.shape == (3, 4) and mom.dtype == np.float64
        assert sched.momentum(3).shape == ()
    else:
        assert mom is None


def test_momentum_only_when_configured():
    assert make_schedule("triangular", **TRI).momentum(np.arange(3)) is None
    m = make_schedule("triangular", **TRI, base_momentum=0.85, max_momentum=0.95)
    assert m.momentum(0) == 0.95 and m.momentum(20) == pytest.approx(0.85)
    assert make_schedule("one_cycle", **ONE, cycle_momentum=False).momentum(3) is None
    for policy in ("decay", "exp", "step", "fixed", "cosine_restarts"):
        spec = {k: v for k, v in defaults(policy).items() if v is not None}
        assert make_schedule(policy, **spec).momentum(np.arange(3)) is None


def test_key_numbers():
    tri = make_schedule("triangular", **TRI, step_size_down=30)
    assert tri.cycle_length == 50 and tri.total_steps is None
    assert make_schedule("one_cycle", **ONE).total_steps == 100
    assert make_schedule("cosine_restarts", max_lr=0.1, T_0=40).cycle_length == 40
    assert make_schedule("cosine_restarts", max_lr=0.1, T_0=40, T_mult=2).cycle_length is None
    assert make_schedule("fixed", lr=0.1).cycle_length is None


def test_closed_form_handles_a_million_iterations_at_once():
    k = np.arange(1_000_000)
    for policy in POLICIES:
        spec = {k_: v for k_, v in defaults(policy).items() if v is not None}
        if policy == "one_cycle":
            spec["total_steps"] = 1_000_000
        sched = make_schedule(policy, **spec)
        assert sched.lr(k).shape == (1_000_000,)


def test_schedules_are_immutable_values():
    a = make_schedule("triangular", **TRI)
    b = from_dict(a.to_dict())
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != make_schedule("triangular2", **TRI)
    with pytest.raises(AttributeError):
        a.policy = "x"
    a.params["base_lr"] = 5.0  # a copy
    assert a.params["base_lr"] == 0.001
    assert pickle.loads(pickle.dumps(a)) == a
    assert "triangular" in repr(a)
    assert isinstance(a, Schedule)
    assert Schedule("triangular", TRI) == a  # the class itself dispatches on the policy
    with pytest.raises(ScheduleError, match="policy"):
        Schedule("nope", {})


def test_params_include_defaults_and_normalise_types():
    s = make_schedule("triangular", base_lr=1, max_lr=np.float32(2.5), step_size_up=np.int64(10))
    p = s.params
    assert p == {"base_lr": 1.0, "max_lr": 2.5, "step_size_up": 10, "step_size_down": None,
                 "base_momentum": None, "max_momentum": None}
    assert type(p["base_lr"]) is float and type(p["step_size_up"]) is int
    assert make_schedule("triangular", **{**TRI, "step_size_up": 20.0}).params["step_size_up"] == 20
    assert make_schedule("exp_range", **TRI).params["gamma"] == 0.99994


@pytest.mark.parametrize("policy", list(POLICIES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_json_round_trip(policy, data):
    cfg = data.draw(configs(policy))
    sched = make_schedule(policy, **cfg)
    text = json.dumps(sched.to_dict())
    back = from_dict(json.loads(text))
    assert back == sched
    assert back.to_dict() == sched.to_dict()
    k = np.arange(0, min(3000, sched.total_steps or 3000), 7)
    assert np.array_equal(back.lr(k), sched.lr(k))


def test_presets():
    assert any(p.config["policy"] == "one_cycle" and p.config.get("three_phase")
               for p in PRESETS.values())
    for name, preset in PRESETS.items():
        assert isinstance(preset, Preset) and preset.label and preset.description, name
        sched = from_dict(preset.config)
        assert sched == preset.schedule()
        json.dumps(preset.config)
    smith = PRESETS["smith2018_one_cycle"].schedule()
    lrs = smith.lr(np.arange(smith.total_steps))
    assert lrs[0] == pytest.approx(0.01)  # max / 10
    assert lrs.max() == pytest.approx(0.1)
    assert lrs[-1] == pytest.approx(0.1 / 1000)  # annihilation
    fastai = PRESETS["fastai_fit_one_cycle"].schedule()
    assert fastai.lr(fastai.total_steps - 1) == pytest.approx(0.001 / 1e5)


# --------------------------------------------------------------------------- bad input

BAD = [
    ("nope", {}, "policy"),
    ("triangular", {**TRI, "foo": 1}, "foo"),
    ("triangular", {"base_lr": 0.001, "step_size_up": 10}, "max_lr"),
    ("triangular", {"base_lr": 0.001, "max_lr": 0.006}, "step_size_up"),
    ("triangular", {**TRI, "base_lr": 0.01}, "base_lr"),
    ("triangular", {**TRI, "base_lr": 0.006}, "base_lr"),
    ("triangular", {**TRI, "max_lr": -1.0}, "max_lr"),
    ("triangular", {**TRI, "base_lr": 0.0}, "base_lr"),
    ("triangular", {**TRI, "base_lr": float("nan")}, "base_lr"),
    ("triangular", {**TRI, "max_lr": float("inf")}, "max_lr"),
    ("triangular", {**TRI, "base_lr": "0.001"}, "base_lr"),
    ("triangular", {**TRI, "max_lr": None}, "max_lr"),
    ("triangular", {**TRI, "max_lr": [0.1]}, "max_lr"),
    ("triangular", {**TRI, "step_size_up": True}, "step_size_up"),
    ("triangular", {**TRI, "step_size_up": 2.5}, "step_size_up"),
    ("triangular", {**TRI, "step_size_up": 0}, "step_size_up"),
    ("triangular", {**TRI, "step_size_up": -3}, "step_size_up"),
    ("triangular", {**TRI, "step_size_down": 0}, "step_size_down"),
    ("triangular", {**TRI, "step_size_down": "5"}, "step_size_down"),
    ("triangular", {**TRI, "gamma": 0.9}, "gamma"),  # only exp_range/windows take gamma
    ("triangular", {**TRI, "base_momentum": 0.85}, "max_momentum"),
    ("triangular", {**TRI, "max_momentum": 0.95}, "base_momentum"),
    ("triangular", {**TRI, "base_momentum": 0.96, "max_momentum": 0.95}, "base_momentum"),
    ("triangular", {**TRI, "base_momentum": -0.1, "max_momentum": 0.95}, "base_momentum"),
    ("triangular", {**TRI, "base_momentum": 0.8, "max_momentum": 1.0}, "max_momentum"),
    ("exp_range", {**TRI, "gamma": 0.0}, "gamma"),
    ("exp_range", {**TRI, "gamma": 1.5}, "gamma"),
    ("exp_range", {**TRI, "gamma": float("nan")}, "gamma"),
    ("welch", {**TRI, "scale_mode": "cosine"}, "scale_mode"),
    ("hann", {**TRI, "gamma": -0.5}, "gamma"),
    ("decay", {"base_lr": 0.01, "max_lr": 0.001, "step_size": 10}, "base_lr"),
    ("decay", {"base_lr": 0.001, "max_lr": 0.01, "step_size": 0}, "step_size"),
    ("exp", {"base_lr": 0.1, "gamma": 0.0}, "gamma"),
    ("exp", {"base_lr": 0.1}, "gamma"),
    ("exp", {"base_lr": -0.1, "gamma": 0.9}, "base_lr"),
    ("step", {"base_lr": 0.1, "gamma": 1.01, "step_size": 10}, "gamma"),
    ("step", {"base_lr": 0.1, "gamma": 0.5, "step_size": 0.5}, "step_size"),
    ("fixed", {"lr": 0}, "lr"),
    ("fixed", {"lr": False}, "lr"),
    ("cosine_restarts", {"max_lr": 0.1, "T_0": 0}, "T_0"),
    ("cosine_restarts", {"max_lr": 0.1, "T_0": 10, "T_mult": 0}, "T_mult"),
    ("cosine_restarts", {"max_lr": 0.1, "T_0": 10, "T_mult": 1.5}, "T_mult"),
    ("cosine_restarts", {"max_lr": 0.1, "T_0": 10, "base_lr": -0.01}, "base_lr"),
    ("cosine_restarts", {"max_lr": 0.1, "T_0": 10, "base_lr": 0.1}, "base_lr"),
    ("one_cycle", {"max_lr": 0.1}, "total_steps"),
    ("one_cycle", {**ONE, "total_steps": 0}, "total_steps"),
    ("one_cycle", {**ONE, "total_steps": 10.5}, "total_steps"),
    ("one_cycle", {**ONE, "pct_start": 0.0}, "pct_start"),
    ("one_cycle", {**ONE, "pct_start": 1.0}, "pct_start"),
    ("one_cycle", {**ONE, "pct_start": 0.01}, "pct_start"),  # 0.01 * 100 - 1 == 0: empty phase
    ("one_cycle", {**ONE, "anneal_strategy": "cosine"}, "anneal_strategy"),
    ("one_cycle", {**ONE, "three_phase": "yes"}, "three_phase"),
    ("one_cycle", {**ONE, "cycle_momentum": 1}, "cycle_momentum"),
    ("one_cycle", {**ONE, "div_factor": 0.5}, "div_factor"),
    ("one_cycle", {**ONE, "final_div_factor": 0.0}, "final_div_factor"),
    ("one_cycle", {**ONE, "base_momentum": 0.99}, "base_momentum"),
    ("one_cycle", {**ONE, "max_momentum": 1.2}, "max_momentum"),
]


@pytest.mark.parametrize(("policy", "params", "needle"), BAD)
def test_bad_parameters_raise_schedule_error_naming_the_parameter(policy, params, needle):
    with pytest.raises(ScheduleError, match=needle) as info:
        make_schedule(policy, **params)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ScheduleError, match=needle):
        from_dict({"policy": policy, **params})


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ScheduleError, match="step_size_up") as info:
        make_schedule("triangular", **TRI, stepsize=3)
    assert "stepsize" in str(info.value)
    with pytest.raises(ScheduleError, match="one_cycle"):
        make_schedule("one-cycle")


@pytest.mark.parametrize(
    "iterations",
    [-1, np.array([0, 5, -2]), 1.5, np.array([0.0, 0.5]), "3", np.array([True, False]),
     np.array([0.0, np.nan]), [1, "a"], None],
)
def test_bad_iterations(iterations):
    sched = make_schedule("triangular", **TRI, base_momentum=0.8, max_momentum=0.9)
    with pytest.raises(ScheduleError, match="iterations"):
        sched.lr(iterations)
    with pytest.raises(ScheduleError, match="iterations"):
        sched.momentum(iterations)


def test_iterations_past_total_steps():
    sched = make_schedule("one_cycle", **ONE)
    sched.lr(100)  # torch allows exactly total_steps steps
    with pytest.raises(ScheduleError, match="total_steps"):
        sched.lr(np.arange(102))
    with pytest.raises(ScheduleError, match="iterations"):
        sched.momentum(101)


@pytest.mark.parametrize("bad", [None, [], "triangular", {"base_lr": 0.1}])
def test_from_dict_refuses_non_configs(bad):
    with pytest.raises(ScheduleError, match="policy"):
        from_dict(bad)
