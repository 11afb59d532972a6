"""Optimizer construction, validation, and the momentum knob (momentum vs betas[0])."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from clr_core.engine.param_groups import get_momentum
from clr_core.errors import ConfigError
from clr_core.setup.optim import OPTIMIZERS, make_optimizer


def _params():
    return nn.Linear(3, 2).parameters()


@pytest.mark.parametrize("name,cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam),
                                      ("adamw", torch.optim.AdamW),
                                      ("rmsprop", torch.optim.RMSprop)])
def test_builds_each(name, cls):
    assert name in OPTIMIZERS
    opt = make_optimizer(name, nn.Linear(3, 2), lr=0.01, weight_decay=1e-4)
    assert isinstance(opt, cls)
    assert opt.param_groups[0]["lr"] == 0.01
    assert opt.param_groups[0]["weight_decay"] == 1e-4


def test_default_momenta():
    assert make_optimizer("sgd", _params(), lr=0.1).param_groups[0]["momentum"] == 0.9
    assert make_optimizer("rmsprop", _params(), lr=0.1).param_groups[0]["momentum"] == 0.0
    adam = make_optimizer("adam", _params(), lr=0.1, betas=(0.8, 0.99))
    assert adam.param_groups[0]["betas"] == (0.8, 0.99)  # momentum not given: betas win
    adam = make_optimizer("adamw", _params(), lr=0.1, momentum=0.85, betas=(0.8, 0.99))
    assert adam.param_groups[0]["betas"] == (0.85, 0.99)


bad_numbers = st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf),
                        st.booleans(), st.text(max_size=3), st.none())


@given(lr=bad_numbers)
def test_bad_lr(lr):
    with pytest.raises(ConfigError, match="lr"):
        make_optimizer("sgd", _params(), lr=lr)


@given(lr=st.floats(min_value=1e-8, max_value=1e3), momentum=st.floats(0.0, 0.999),
       wd=st.floats(0.0, 1.0), name=st.sampled_from(sorted(OPTIMIZERS)))
def test_valid_values_build(lr, momentum, wd, name):
    if name == "sgd_schedulefree" and momentum == 0:  # it interpolates with momentum: (0, 1)
        with pytest.raises(ConfigError, match="momentum"):
            make_optimizer(name, _params(), lr=lr, momentum=momentum, weight_decay=wd)
        return
    opt = make_optimizer(name, _params(), lr=lr, momentum=momentum, weight_decay=wd)
    assert get_momentum(opt.param_groups[0]) == pytest.approx(momentum)


@given(momentum=st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1.0), st.just(math.nan)),
       name=st.sampled_from(sorted(OPTIMIZERS)))
def test_bad_momentum(momentum, name):
    with pytest.raises(ConfigError, match="momentum"):
        make_optimizer(name, _params(), lr=0.1, momentum=momentum)


@given(wd=st.one_of(st.floats(max_value=-1e-12), st.just(math.inf)))
def test_bad_weight_decay(wd):
    with pytest.raises(ConfigError, match="weight_decay"):
        make_optimizer("sgd", _params(), lr=0.1, weight_decay=wd)


def test_other_errors():
    with pytest.raises(ConfigError, match="nesterov needs momentum"):
        make_optimizer("sgd", _params(), lr=0.1, momentum=0.0, nesterov=True)
    with pytest.raises(ConfigError, match="SGD only"):
        make_optimizer("adam", _params(), lr=0.1, nesterov=True)
    with pytest.raises(ConfigError, match="unknown optimizer"):
        make_optimizer("lamb", _params(), lr=0.1)
    with pytest.raises(ConfigError, match="betas"):
        make_optimizer("adam", _params(), lr=0.1, betas=(0.9, 1.0))
    with pytest.raises(ConfigError, match="no parameters"):
        make_optimizer("sgd", [], lr=0.1)
    assert make_optimizer("sgd", _params(), lr=0.1, nesterov=True).param_groups[0]["nesterov"]


def test_get_momentum_sgd_adam_and_none():
    assert get_momentum(make_optimizer("sgd", _params(), lr=0.1, momentum=0.9).param_groups[0]) == 0.9
    assert get_momentum(make_optimizer("adam", _params(), lr=0.1).param_groups[0]) == 0.9
    assert get_momentum(torch.optim.Adagrad(_params(), lr=0.1).param_groups[0]) is None


def test_same_rule_as_torch_cyclic_lr():
    """torch's CyclicLR writes betas[0] on Adam; get_momentum must read what it wrote."""
    adam = make_optimizer("adam", _params(), lr=0.1)
    sched = torch.optim.lr_scheduler.CyclicLR(adam, 0.01, 0.1, step_size_up=4,
                                              base_momentum=0.8, max_momentum=0.9)
    for _ in range(2):
        adam.step()
        sched.step()
    assert get_momentum(adam.param_groups[0]) == pytest.approx(adam.param_groups[0]["betas"][0])
    assert get_momentum(adam.param_groups[0]) == pytest.approx(0.85)
