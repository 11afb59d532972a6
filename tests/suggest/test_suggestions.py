"""Suggestion rules on curves with known answers, against fastai's own code, and on
degenerate curves (which must never raise nor return NaN)."""

import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clr_core.errors import ConfigError
from clr_core.suggest import fastai as fastai_rules
from clr_core.suggest import peers as peer_rules
from clr_core.suggest.registry import SUGGESTERS, suggest_all
from clr_core.suggest.types import Suggestion, measured_regret

# ----------------------------------------------------------- fastai, transcribed
# fastai/callback/schedule.py (valley, slide, minimum, steep) with numpy for torch.


def fastai_valley(lrs, losses):
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx])


def fastai_slide(lrs, losses, lr_diff=15, thresh=0.005, adjust_value=1.0):
    loss_grad = np.gradient(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    while (l_idx >= -len(losses)) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local_min_lr) * adjust_value


def fastai_minimum(lrs, losses):
    return float(lrs[losses.argmin()]) / 10


def fastai_steep(lrs, losses):
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    return float(lrs[grads.argmin()])


def sweep(n=200, lo=-4.0, hi=-1.0):
    u = np.linspace(lo, hi, n)
    return 10.0**u, u


# A cubic in u = log10(lr): local max at c - s, steepest descent at c, minimum at
# c + s. With c = -3, s = 1 over u in [-4, -1]: steepest at 1e-3, minimum at 1e-2.
C, S = -3.0, 1.0


def cubic_curve(n=200):
    lrs, u = sweep(n)
    return lrs, u, 1.0 + (u - C) ** 3 / 3 - S**2 * (u - C)


def step_of(u):
    return u[1] - u[0]


# --------------------------------------------------------------- known answers


def test_steepest_and_minimum_on_a_known_cubic():
    lrs, u, loss = cubic_curve()
    h = step_of(u)
    out = suggest_all(lrs, loss, mode="exp")
    for name in ("steep", "steepest_gradient"):
        assert abs(math.log10(out[name].max_lr) - C) <= h + 1e-9, name
        assert math.isclose(out[name].base_lr, out[name].max_lr / 4)
    assert abs(math.log10(out["minimum"].max_lr) - (C + S - 1)) <= h / 2 + 1e-9
    assert abs(math.log10(out["min10_base6"].max_lr) - (C + S - 1)) <= h / 2 + 1e-9
    assert math.isclose(out["min10_base6"].base_lr, out["min10_base6"].max_lr / 6)
    assert math.isclose(out["minimum"].marker_lr, lrs[out["minimum"].index])
    assert abs(math.log10(out["minimum"].marker_lr) - (C + S)) <= h / 2 + 1e-9


def test_valley_is_half_way_down_a_monotone_valley():
    lrs, u, loss = cubic_curve()
    n = lrs.size
    start = n // 10
    w = loss[start : n - 5]
    end = int(np.argmin(w))
    assert (np.diff(w[: end + 1]) < 0).all()  # one strictly falling valley
    length = end + 1
    want = -1 + int(length / 3) + int(length / 3 / 2)  # fastai's arithmetic
    s = suggest_all(lrs, loss)["valley"]
    assert s.index == start + want
    assert s.max_lr == lrs[start + want]


def test_slide_stops_where_the_gradient_stops_changing():
    # Straight line in the index up to k1, then a sharp rise: walking left from the
    # end, gradients 15 apart first agree once both sit on the line.
    n, k1 = 120, 80
    lrs, _ = sweep(n)
    i = np.arange(n, dtype=float)
    loss = 3.0 - 0.01 * i
    loss[k1:] = loss[k1] + 0.5 * (i[k1:] - k1) ** 1.5
    s = fastai_rules.slide(lrs, loss)
    assert s.max_lr == pytest.approx(fastai_slide(lrs, loss))
    # np.gradient is flat up to k1-1, so the last agreeing pair is (k1-16, k1-1) and
    # fastai keeps the left LR of the pair before it.
    assert s.index == k1 - 15


def test_smith_accuracy_reads_ten_and_ninety_percent_of_the_gain():
    lrs = np.linspace(0.001, 0.3, 300)  # Smith's linear sweep
    c, w = 0.05, 0.01
    acc = 0.1 + 0.8 / (1 + np.exp(-(lrs - c) / w))
    acc[lrs > 0.2] -= 20 * (lrs[lrs > 0.2] - 0.2)  # falls at high LR
    rows = np.column_stack([np.arange(300), lrs, acc, 1 - acc])[::5]
    s = suggest_all(lrs, 2 - acc, mode="linear", accuracies=rows)["smith_accuracy"]
    step = (lrs[1] - lrs[0]) * 5
    a0, gain = rows[0, 2], rows[:, 2].max() - rows[0, 2]

    def lr_at(frac):  # invert 0.1 + 0.8 * sigmoid((lr - c) / w) = a0 + frac * gain
        sig = (a0 + frac * gain - 0.1) / 0.8
        return c + w * math.log(sig / (1 - sig))

    lo_want, hi_want = lr_at(0.1), lr_at(0.9)
    assert lo_want <= s.base_lr <= lo_want + step
    assert hi_want <= s.max_lr <= hi_want + step
    assert s.curve == "accuracy" and rows[s.index, 1] == s.max_lr
    assert "stops rising" in s.explanation


def test_smith_accuracy_stops_before_a_ragged_drop():
    lrs = np.linspace(0.01, 1.0, 12)
    acc = np.array([0.1, 0.1, 0.3, 0.5, 0.6, 0.3, 0.7, 0.8, 0.9, 0.7, 0.5, 0.2])
    s = peer_rules.smith_accuracy(lrs, None, accuracies=acc)
    assert s.max_lr == lrs[4] and s.base_lr == lrs[2]
    assert "ragged" in s.explanation


def test_smith_accuracy_needs_a_rise():
    lrs = np.linspace(0.01, 1, 10)
    assert peer_rules.smith_accuracy(lrs, None, accuracies=np.full(10, 0.5)) is None
    assert "smith_accuracy" not in suggest_all(lrs, np.linspace(2, 1, 10), accuracies=None)
    assert peer_rules.smith_accuracy(lrs, None, accuracies=[0.1, 0.9]) is None  # misaligned


def test_slope_is_taken_against_log_lr_for_exp_and_lr_for_linear():
    # Loss = -tanh of log10(lr): the steepest point is at 1e-3 against log(lr), but
    # against lr (Lightning #14248 / #21141) it moves more than a decade lower.
    lrs, u = sweep(300)
    loss = 1 - np.tanh((u - C) / 0.8)
    s = suggest_all(lrs, loss, mode="exp")["steepest_gradient"]
    assert abs(math.log10(s.max_lr) - C) <= step_of(u)
    wrong = int(np.argmin(np.gradient(loss, lrs)))
    assert abs(math.log10(lrs[wrong]) - C) >= 0.9  # pinned at the sweep start here
    # Linear sweep: the same shape drawn in lr, steepest at lr = 0.5.
    lin = np.linspace(0.01, 1.0, 300)
    loss = 1 - np.tanh((lin - 0.5) / 0.1)
    for name in ("steep", "steepest_gradient"):
        s = suggest_all(lin, loss, mode="linear")[name]
        assert abs(s.max_lr - 0.5) <= lin[1] - lin[0] + 1e-12


def test_cut_at_first_nan_and_skips():
    lrs, u, loss = cubic_curve()
    loss = loss.copy()
    loss[150:] = np.nan
    out = suggest_all(lrs, loss)
    assert out and all(s.index < 150 for s in out.values())
    only = suggest_all(lrs, loss, skip_start=0, skip_end=0, methods=["minimum"])
    assert list(only) == ["minimum"]


# ------------------------------------------------------------ matches fastai


curves = st.lists(
    st.floats(min_value=0.0, max_value=10.0, allow_nan=False), min_size=20, max_size=120
)


@settings(max_examples=80, deadline=None)
@given(curves)
def test_matches_fastai_code(vals):
    loss = np.asarray(vals)
    lrs = np.geomspace(1e-6, 1.0, loss.size)
    lds = fastai_rules._lds_lengths_fastai(loss)
    assert fastai_rules._lds_lengths(loss) == lds
    assert fastai_rules._longest_valley(loss) == (int(np.argmax(lds)), max(lds))
    x = np.log(lrs) + 0.01 * np.sin(np.arange(loss.size))  # uneven spacing
    assert np.allclose(peer_rules._gradient(loss, x), np.gradient(loss, x), rtol=1e-9, atol=1e-9)
    v = fastai_rules.valley(lrs, loss)
    if v is not None:  # fastai's own index can go to -1 on tiny valleys; ours clamps
        assert v.max_lr == fastai_valley(lrs, loss) or v.index == 0
    assert fastai_rules.slide(lrs, loss).max_lr == pytest.approx(fastai_slide(lrs, loss))
    assert fastai_rules.minimum(lrs, loss).max_lr == pytest.approx(fastai_minimum(lrs, loss))
    s = fastai_rules.steep(lrs, loss)
    if s is not None:
        assert s.max_lr == fastai_steep(lrs, loss)


# -------------------------------------------------------------- invariants


def curve_strategy():
    return st.tuples(
        st.sampled_from(["exp", "linear"]),
        st.lists(
            st.one_of(
                st.floats(min_value=-5, max_value=50, allow_nan=False),
                st.just(math.nan),
                st.just(math.inf),
            ),
            min_size=0,
            max_size=250,
        ),
        st.floats(min_value=1e-8, max_value=1e-2),
        st.floats(min_value=2.0, max_value=1e6),
    )


@settings(max_examples=120, deadline=None)
@given(curve_strategy(), st.booleans())
def test_invariants_on_any_curve(args, with_acc):
    mode, vals, lo, ratio = args
    n = len(vals)
    lrs = np.geomspace(lo, lo * ratio, n) if mode == "exp" else np.linspace(lo, lo * ratio, n)
    assume(n < 2 or (np.diff(lrs) > 0).all())
    acc = None
    if with_acc and n:
        acc = np.column_stack([np.arange(n), lrs, np.clip(np.nan_to_num(vals), 0, 1), vals])
    out = suggest_all(lrs, vals, mode=mode, accuracies=acc)
    for name, s in out.items():
        assert name == s.method and (name in SUGGESTERS or name == "recommended")
        for v in (s.base_lr, s.max_lr, s.marker_lr, s.marker_value):
            assert math.isfinite(v)
        assert lrs[0] <= s.base_lr < s.max_lr <= lrs[-1] * (1 + 1e-12)
        assert s.explanation and "\n" not in s.explanation and s.source


@pytest.mark.parametrize(
    "loss",
    [
        [],
        [1.0],
        [1.0, 2.0],
        [math.nan] * 50,
        [2.0] * 100,
        list(np.linspace(1, 3, 100)),  # never falls
        [1.0, math.inf] + [1.0] * 60,
    ],
)
def test_degenerate_curves_are_left_out_not_raised(loss):
    lrs = np.geomspace(1e-5, 1, len(loss)) if loss else np.array([])
    out = suggest_all(lrs, loss)
    for name in ("valley", "steep", "steepest_gradient", "slide"):
        assert name not in out
    json.dumps({k: v.to_dict() for k, v in out.items()}, allow_nan=False)


def test_minimum_below_the_sweep_is_left_out():
    lrs = np.geomspace(1e-3, 1e-1, 100)
    loss = np.linspace(1.0, 2.0, 100) ** 2  # lowest at the very start
    out = suggest_all(lrs, loss, skip_start=0)
    assert "minimum" not in out and "min10_base6" not in out


def test_base_below_the_sweep_is_clamped_to_its_start():
    lrs = np.geomspace(1e-3, 1.0, 100)
    loss = (np.log10(lrs) + 1.7) ** 2  # minimum at 0.02: max = 2e-3, max/4 < 1e-3
    out = suggest_all(lrs, loss, skip_start=0)
    for name in ("minimum", "min10_base6"):
        s = out[name]
        assert s.base_lr == lrs[0] < s.max_lr and "clamped" in s.explanation


def test_bad_inputs_raise_config_error():
    lrs = np.geomspace(1e-5, 1, 10)
    with pytest.raises(ConfigError):
        suggest_all(lrs, np.ones(9))
    with pytest.raises(ConfigError):
        suggest_all(lrs, np.ones(10), mode="log")
    with pytest.raises(ConfigError):
        suggest_all(lrs[::-1], np.ones(10))
    with pytest.raises(ConfigError):
        suggest_all(lrs, np.ones(10), methods=["nope"])
    with pytest.raises(ConfigError):
        suggest_all(lrs, np.ones(10), skip_start=-1)
    with pytest.raises(ConfigError):
        suggest_all(-lrs, np.ones(10))


def test_registry_and_round_trip():
    assert list(SUGGESTERS) == [
        "smith_accuracy",
        "valley",
        "steep",
        "minimum",
        "slide",
        "steepest_gradient",
        "min10_base6",
    ]
    lrs, _, loss = cubic_curve()
    s = SUGGESTERS["steep"](lrs, loss)  # a spec calls its rule
    assert isinstance(s, Suggestion)
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert Suggestion.from_dict(d) == s
    for spec in SUGGESTERS.values():
        assert spec.source and spec.func.__doc__


def test_fastai_cut_uses_the_requested_iterations():
    """fastai's Learner.lr_find slices ``[num_it // 10 : -5]`` of the requested run: a
    test that stopped early at 60 of 200 points still skips 20, not 6."""
    lrs, _, loss = cubic_curve()
    lrs, loss = lrs[:60], loss[:60]
    got = suggest_all(lrs, loss, num_iter=200, methods=["valley", "steep", "steepest_gradient"])
    for name in ("valley", "steep"):
        ref = SUGGESTERS[name](lrs[20:-5], loss[20:-5])
        if ref is None:
            assert name not in got
        else:
            assert got[name].max_lr == ref.max_lr and got[name].index == ref.index + 20
    # torch-lr-finder's fixed skip of 10 does not depend on num_iter
    same = suggest_all(lrs, loss, methods=["steepest_gradient"])
    assert got.get("steepest_gradient") == same.get("steepest_gradient")
    assert suggest_all(lrs, loss, num_iter=60) == suggest_all(lrs, loss)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ConfigError):
            suggest_all(lrs, loss, num_iter=bad)


def test_band_fields_round_trip_as_json():
    s = Suggestion("x", 0.01, 0.04, "why", "src", 3, 0.04, 1.0, low=0.02, high=0.08)
    assert s.has_band
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert (d["low"], d["high"]) == (0.02, 0.08)
    assert Suggestion.from_dict(d) == s
    point = Suggestion("y", 0.01, 0.04, "why", "src", 3, 0.04, 1.0)
    d = json.loads(json.dumps(point.to_dict(), allow_nan=False))
    assert d["low"] is None and not Suggestion.from_dict(d).has_band


def test_measured_regret_ships_for_every_loss_rule_and_recommended():
    regret = measured_regret()
    loss_rules = [n for n, spec in SUGGESTERS.items() if spec.curve == "loss"]
    assert set(loss_rules) | {"recommended"} <= set(regret)
    for row in regret.values():
        assert row["worst"] >= row["mean"] and row["tasks"] >= 14 and row["spread"] >= 0
