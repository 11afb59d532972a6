"""The one spec of a range test's and a training's settings (issue 30, item 1): built from
keywords, a dict and a job's flat config; checked once with one set of bounds, which the
config, the engine and the page all read; carried unchanged into the result."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from clr_core.engine.range_test import lr_sequence, run_range_test
from clr_core.engine.results import RangeTestResult, TrainResult
from clr_core.engine.spec import BOUNDS, RangeTestSpec, TrainSpec
from clr_core.engine.train import run_training
from clr_core.errors import ConfigError
from clr_core.setup.configs import RangeTestConfig, TrainConfig

torch.set_num_threads(1)

LOSS = nn.CrossEntropyLoss()


def data(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 6, generator=g), torch.randint(0, 3, (16,), generator=g))
            for _ in range(n)]


def model_and_opt(lr=1e-3):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
    return m, torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)


finite = st.floats(1e-7, 1e3, allow_nan=False)
range_specs = st.builds(
    lambda start, factor, n, mode, beta, thr, ev, acc, sh, amp, seed, clip: RangeTestSpec(
        start_lr=start, end_lr=(start or 1e-3) * factor, num_iter=n, mode=mode,
        smooth_beta=beta, diverge_threshold=thr, eval_every=ev, accumulation_steps=acc,
        sharpness_every=sh, amp=amp, seed=seed, grad_clip_norm=clip),
    st.none() | st.floats(1e-7, 1e-2), st.floats(1.5, 1e6), st.integers(2, 10_000),
    st.sampled_from(["exp", "linear", "Exponential", "LINEAR"]), st.floats(0.0, 0.999),
    st.none() | st.floats(1.01, 100.0), st.none() | st.integers(0, 50), st.integers(1, 8),
    st.integers(0, 50), st.booleans() | st.sampled_from(["bf16", "fp16"]),
    st.none() | st.integers(0, 2**64 - 1), st.none() | finite)


@settings(max_examples=60, deadline=None)
@given(spec=range_specs)
def test_a_range_test_spec_round_trips_through_json(spec):
    d = spec.to_dict()
    assert RangeTestSpec.from_dict(json.loads(json.dumps(d, allow_nan=False))) == spec
    assert set(d) == set(RangeTestSpec.names())
    assert spec.mode in ("exp", "linear")  # aliases are read once, at construction


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 400), ev=st.integers(0, 100), acc=st.integers(1, 4),
       thr=st.none() | st.floats(1.01, 10.0), lr=st.floats(1e-4, 1.0))
def test_a_train_spec_round_trips_through_json(n, ev, acc, thr, lr):
    spec = TrainSpec(num_iter=n, schedule={"policy": "fixed", "lr": lr}, eval_every=ev,
                     accumulation_steps=acc, diverge_threshold=thr)
    assert TrainSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


@settings(max_examples=60, deadline=None)
@given(n=st.integers(-5, 40))
def test_num_iter_has_one_bound_in_the_spec_the_config_and_the_engine(n):
    """The engine used to take 2 iterations and the config and the page only 10."""
    lo = BOUNDS["num_iter"].lo
    verdicts = []
    for make in (lambda: RangeTestSpec(num_iter=n, start_lr=1e-3),
                 lambda: RangeTestConfig.from_dict({"num_iter": n}),
                 lambda: lr_sequence(1e-3, 1.0, n)):
        try:
            make()
            verdicts.append(True)
        except ConfigError as exc:
            assert "num_iter" in str(exc)
            verdicts.append(False)
    assert verdicts == [n >= lo] * 3


@pytest.mark.parametrize(("name", "bad"), [
    ("smooth_beta", 1.0), ("diverge_threshold", 1.0), ("eval_every", -1),
    ("accumulation_steps", 0), ("sharpness_every", -1), ("grad_clip_norm", -0.5),
    ("seed", -1), ("num_iter", 10_000_001), ("mode", "log"), ("amp", 3)])
def test_every_bad_value_is_refused_by_name_the_same_way_in_spec_config_and_engine(name, bad):
    messages = []
    for make in (lambda: RangeTestSpec(**{name: bad}),
                 lambda: run_range_test(*model_and_opt(), LOSS, data(), **{name: bad})):
        with pytest.raises(ConfigError, match=name) as info:
            make()
        messages.append(str(info.value))
    if name != "seed":  # a config's seed is the data and model's (DataModelConfig's check)
        with pytest.raises(ConfigError, match=name) as info:
            RangeTestConfig.from_dict({name: bad})
        messages.append(str(info.value))
    assert len(set(messages)) == 1, messages


def test_the_spec_is_frozen_and_replace_checks_again():
    spec = RangeTestSpec(start_lr=1e-4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.num_iter = 5  # type: ignore[misc]
    assert spec.replace(num_iter=7).num_iter == 7 and spec.num_iter == 100
    with pytest.raises(ConfigError, match="start_lr"):
        spec.replace(end_lr=1e-5)


def test_unknown_and_renamed_settings():
    with pytest.raises(ConfigError, match="bogus"):
        RangeTestSpec.from_dict({"bogus": 1})
    assert RangeTestSpec.from_dict({"val_every": 3}).eval_every == 3  # an old stored name
    assert TrainSpec.from_dict({"diverge_factor": 3.0}).diverge_threshold == 3.0


def test_a_config_is_its_data_and_model_beside_one_spec_and_writes_flat():
    cfg = RangeTestConfig.from_dict({"num_iter": 40, "batch_size": 32, "val_every": 5,
                                     "grad_clip_norm": 1.0})
    assert cfg.spec == RangeTestSpec(start_lr=1e-5, num_iter=40, eval_every=5,
                                     grad_clip_norm=1.0)
    assert (cfg.num_iter, cfg.eval_every, cfg.batch_size) == (40, 5, 32)  # read through
    flat = cfg.to_dict()
    assert "spec" not in flat and flat["num_iter"] == 40 and flat["seed"] == 0
    assert RangeTestConfig.from_dict(flat) == cfg
    with pytest.raises(AttributeError, match="frozen"):
        cfg.num_iter = 3
    train = TrainConfig.from_dict({"num_iter": 20, "label": "x", "amp": False})
    assert train.spec.num_iter == 20 and train.label == "x"
    assert TrainConfig.from_dict(train.to_dict()) == train


def test_keywords_and_a_spec_give_the_same_curve_and_the_result_carries_the_spec():
    kw = {"start_lr": 1e-3, "end_lr": 1.0, "num_iter": 6, "smooth_beta": 0.9, "seed": 3}
    by_kw = run_range_test(*model_and_opt(), LOSS, data(), **kw)
    spec = RangeTestSpec(**kw)
    by_spec = run_range_test(*model_and_opt(), LOSS, data(), spec)
    assert by_kw.losses.tolist() == by_spec.losses.tolist()
    assert by_kw.spec == by_spec.spec == spec
    # an override on top of a spec wins, and is what the result says ran
    shorter = run_range_test(*model_and_opt(), LOSS, data(), spec, num_iter=4)
    assert shorter.iterations == 4 and shorter.spec == spec.replace(num_iter=4)
    back = RangeTestResult.from_dict(json.loads(json.dumps(by_spec.to_dict(), allow_nan=False)))
    assert back.spec == spec
    old = by_spec.to_dict()
    del old["spec"]  # a run stored before specs still opens
    assert RangeTestResult.from_dict(old).spec is None


def test_run_training_takes_a_spec_and_its_result_carries_it():
    spec = TrainSpec(num_iter=5, schedule={"policy": "fixed", "lr": 0.05}, eval_every=0)
    m, o = model_and_opt()
    r = run_training(m, o, LOSS, data(), spec)
    assert r.completed_iterations == 5 and r.spec == spec
    assert TrainResult.from_dict(json.loads(json.dumps(r.to_dict()))).spec == spec
    with pytest.raises(TypeError, match="num_iter"):  # as before: no spec, no num_iter
        run_training(*model_and_opt(), LOSS, data())
    with pytest.raises(ConfigError, match="total_steps"):
        TrainSpec(num_iter=20, schedule={"policy": "one_cycle", "max_lr": 0.1,
                                         "total_steps": 10})
