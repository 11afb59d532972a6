"""Batch-size rescaling: the linear rule for SGD (Goyal et al. 2017), the square root for
Adam-family optimizers (Malladi et al. 2022), offered as text, never applied."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.errors import ConfigError
from clr_core.suggest.batch_size import OPTIMIZER_LABELS, OPTIMIZER_NAMES, rescale_lr, rule_for

lrs = st.floats(1e-6, 10.0)
batches = st.integers(1, 65_536)


def test_each_family_gets_its_rule():
    assert rule_for("sgd") == rule_for("sgd_schedulefree") == "linear"
    assert {rule_for(n) for n in ("adam", "adamw", "rmsprop", "adamw_schedulefree")} == {"sqrt"}
    assert set(OPTIMIZER_NAMES) >= {"sgd", "adam", "adamw", "rmsprop"}


def test_the_papers_examples():
    # Goyal et al.: 0.1 per 256 images, 8k batch -> 3.2
    sgd = rescale_lr(0.1, 256, 8192, "sgd")
    assert sgd.lr == pytest.approx(3.2) and "Goyal" in sgd.text and "not applied" in sgd.text
    assert "warm-up" in sgd.text
    adam = rescale_lr(1e-3, 64, 256, "adamw")
    assert adam.lr == pytest.approx(2e-3) and "Malladi" in adam.text and "√4" in adam.text
    assert adam.scale(1e-4) == pytest.approx(2e-4)
    same = rescale_lr(0.3, 128, 128, "sgd")
    assert same.lr == 0.3 and "stays" in same.text


@given(lrs, batches, batches, st.sampled_from(OPTIMIZER_NAMES))
def test_rescaling_there_and_back_is_the_identity(lr, b1, b2, optimizer):
    there = rescale_lr(lr, b1, b2, optimizer)
    back = rescale_lr(there.lr, b2, b1, optimizer)
    assert back.lr == pytest.approx(lr, rel=1e-9)
    power = 1.0 if there.rule == "linear" else 0.5
    assert math.log(there.factor) == pytest.approx(power * math.log(b2 / b1), abs=1e-12)
    assert (there.lr > lr) == (b2 > b1) or b1 == b2


@pytest.mark.parametrize("args", [(0.0, 32, 64, "sgd"), (0.1, 0, 64, "sgd"),
                                  (0.1, 32, 64.5, "sgd"), (0.1, 32, 64, "")])
def test_bad_input_is_a_config_error(args):
    with pytest.raises(ConfigError):
        rescale_lr(*args)


def test_the_square_root_rule_reads_as_one_product_and_names_the_optimizer():
    """Issue 32, item 16: "0.006 × √4 = × 2 = 0.012" and raw keys (`adamw_schedulefree`)."""
    out = rescale_lr(0.006, 128, 512, "adamw_schedulefree")
    assert "LR 0.006 × √4 = **0.012**" in out.text
    assert "= ×" not in out.text
    assert "with Schedule-free AdamW:" in out.text and "adamw_schedulefree" not in out.text
    assert "LR 0.1 × 4 = **0.4**" in rescale_lr(0.1, 32, 128, "sgd").text


def test_every_optimizer_offered_has_the_label_the_training_forms_give_it():
    from clr_core.setup.optim import OPTIMIZERS

    assert {n: OPTIMIZER_LABELS[n] for n in OPTIMIZER_NAMES} == \
        {n: OPTIMIZERS[n].label for n in OPTIMIZER_NAMES}
