"""`recommended`: its reading of a curve with known answers, its band, how several seeds
combine, what users read beside it, and that it comes out of any user's range test."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from clr_core.engine.range_test import run_range_test
from clr_core.present import words
from clr_core.suggest import recommend as rc
from clr_core.suggest.registry import suggest_all
from clr_core.suggest.types import MIN10_BASE_DIVISOR, Suggestion, flat_sweep_end

# Loss in u = log10(lr): a tanh descent centred at D (steepest there), then an exponential
# blow-up that puts the minimum where its slope cancels the descent's.
D = -3.0


def known_curve(n=300):
    u = np.linspace(-5, 1, n)
    loss = 2 - np.tanh((u - D) / 0.5) + np.exp(4 * (u + 0.5))
    return 10.0**u, u, loss


def test_geometric_mean_of_the_steepest_fall_and_a_third_of_the_minimum():
    lrs, u, loss = known_curve()
    out = suggest_all(lrs, loss, skip_start=0, skip_end=0)
    rec = rc.recommended(lrs, loss, {k: v for k, v in out.items() if k not in rc.MEDIAN_OF})
    i_min = int(np.argmin(loss))
    du = u[1] - u[0]
    steep_u = D  # the tanh's inflection; the blow-up is negligible there
    expect = (steep_u + u[i_min] - math.log10(rc.MIN_MARGIN)) / 2
    assert abs(math.log10(rec.max_lr) - expect) <= du
    assert math.isclose(rec.base_lr, rec.max_lr / MIN10_BASE_DIVISOR) and MIN10_BASE_DIVISOR == 6
    assert rec.low <= rec.max_lr <= rec.high
    assert abs(math.log10(rec.low) - steep_u) <= du  # the band runs between the two readings
    assert abs(math.log10(rec.high) - (u[i_min] - math.log10(3))) <= du
    assert rec.source == rc.SRC_RECOMMENDED and "steepest fall" in rec.explanation
    assert list(out)[0] == "recommended"


def _median_log(*values):
    return float(np.median(np.log10(values)))


@pytest.mark.parametrize("family", [None, "adam"])
def test_the_recommendation_is_the_median_of_the_middle_and_fastais_two_rules(family):
    lrs, u, loss = known_curve()
    out = suggest_all(lrs, loss, skip_start=0, skip_end=0, family=family)
    middle = rc.recommended(lrs, loss, {k: v for k, v in out.items() if k not in rc.MEDIAN_OF},
                            family=family)
    rec = out["recommended"]
    expect = _median_log(middle.max_lr, out["minimum"].max_lr, out["steep"].max_lr)
    assert math.log10(rec.max_lr) == pytest.approx(expect, abs=1e-9)
    assert rec.low <= rec.max_lr <= rec.high
    # on this curve the three differ, so the median is one of them and the text names it
    assert len({round(math.log10(v), 6) for v in (middle.max_lr, out["minimum"].max_lr,
                                                  out["steep"].max_lr)}) == 3
    assert "median of that, fastai minimum / 10" in rec.explanation


def test_a_flat_sweep_is_read_two_decades_under_the_last_lr_it_reached():
    lrs = np.logspace(-7, 1, 100)
    rng = np.random.default_rng(0)
    loss = 2.3 + 0.005 * rng.standard_normal(100)  # fell by < 2 % of its start: noise
    out = suggest_all(lrs, loss)
    rec = out["recommended"]
    assert rec.max_lr == pytest.approx(lrs[-1] / rc.FLAT_DIVISOR)
    assert rec.low < rec.max_lr < rec.high
    assert rec.confidence == "none"  # a guess: the page points to Confirm
    assert "hardly fell" in rec.explanation
    falling = 2.3 - 0.1 * np.tanh(np.log10(lrs) + 3)  # fell by 8 %: read as before
    assert "hardly fell" not in suggest_all(lrs, falling)["recommended"].explanation


def test_band_is_clipped_to_a_decade_and_never_empty():
    lo, hi = rc._clip_band(1e-2, 1e-5, 1.0)
    assert math.isclose(math.log10(hi / lo), rc.MAX_BAND_DECADES) and lo < 1e-2 < hi
    lo, hi = rc._clip_band(1e-2, 1e-2, 1e-2)
    assert math.isclose(math.log10(hi / lo), rc.MIN_BAND_DECADES)


def test_falls_back_to_the_median_rule_when_the_curve_shows_no_fall():
    lrs = np.logspace(-4, 0, 50)
    rising = np.linspace(1, 2, 50)  # minimum at the first point: no steepest fall before it
    rules = {n: Suggestion(n, v / 4, v, "why", "src", 3, v, 1.0)
             for n, v in (("a", 1e-3), ("b", 1e-2), ("c", 1e-1))}
    rec = rc.recommended(lrs, rising, rules)
    assert math.isclose(rec.max_lr, 1e-2) and "median of the rules" in rec.explanation
    assert rec.low <= 1e-2 <= rec.high and math.log10(rec.high / rec.low) <= 1 + 1e-9
    assert rc.recommended(lrs, rising, {}) is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(0.01, 10.0), min_size=12, max_size=150))
def test_present_with_a_sane_band_whenever_a_loss_rule_answers(values):
    loss = np.array(values)
    lrs = np.logspace(-5, 1, loss.size)
    out = suggest_all(lrs, loss)
    answered = [k for k, s in out.items() if s.curve == "loss" and k != "recommended"]
    if not answered and flat_sweep_end(lrs, loss) is None:
        assert "recommended" not in out
        return
    rec = out.get("recommended")
    assert rec is not None
    assert lrs[0] < rec.max_lr <= lrs[-1] * (1 + 1e-12)
    assert rec.low <= rec.max_lr <= rec.high
    width = math.log10(rec.high / rec.low)
    assert rc.MIN_BAND_DECADES - 1e-9 <= width <= rc.MAX_BAND_DECADES + 1e-9
    assert 0 < rec.base_lr < rec.max_lr
    json.dumps(rec.to_dict(), allow_nan=False)


def _rec(max_lr, low, high):
    return Suggestion("recommended", max_lr / 4, max_lr, "why", "src", 0, max_lr, 1.0,
                      low=low, high=high)


def test_seeds_that_agree_tighten_the_band_and_disagreeing_ones_widen_it():
    one = _rec(1e-2, 10**-2.4, 10**-1.6)
    agree = rc.combine_recommended([{"recommended": one}] * 4)
    assert math.isclose(agree.max_lr, 1e-2)
    assert math.log10(agree.high / agree.low) < math.log10(one.high / one.low)
    apart = rc.combine_recommended([one, _rec(10**-1.5, 10**-1.9, 10**-1.1), _rec(10**-2.5, 10**-2.9, 10**-2.1)])
    assert math.isclose(apart.max_lr, 1e-2)
    assert math.log10(apart.high / apart.low) > math.log10(agree.high / agree.low)
    assert apart.low <= apart.max_lr <= apart.high
    assert "3 range tests" in apart.explanation
    assert rc.combine_recommended([{}, None]) is None
    assert rc.combine_recommended([one]) == one


def test_headline_labels_regret_and_disagreement():
    lrs, _, loss = known_curve()
    out = suggest_all(lrs, loss)
    line = words.headline({k: s.to_dict() for k, s in out.items()})
    rec = out["recommended"]
    assert line.startswith(f"Recommended max_lr {rec.max_lr:.3g}") and f"{rec.low:.3g}" in line
    rows = words.other_rules(out)
    assert "recommended" not in [r["method"] for r in rows]
    assert {r["rule"] for r in rows} >= {"fastai valley", "torch-lr-finder steepest gradient"}
    span, warning = words.disagreement(out)
    lo = min(s.max_lr for k, s in out.items() if k != "recommended")
    hi = max(s.max_lr for k, s in out.items() if k != "recommended")
    assert math.isclose(span, math.log10(hi / lo))
    assert (warning is not None) == (span > rc.DISAGREE_DECADES)
    close = {n: Suggestion(n, 1e-3, v, "w", "s", 0, v, 1.0) for n, v in (("a", 0.01), ("b", 0.02))}
    assert words.disagreement(close)[1] is None
    assert words.headline({}) is None


def test_any_user_model_and_loader_get_a_recommendation():
    torch.manual_seed(0)
    x = torch.randn(256, 5)
    y = (x @ torch.randn(5, 1)).squeeze(1) + 0.1 * torch.randn(256)
    batches = [(x[i : i + 32], y[i : i + 32, None]) for i in range(0, 256, 32)]
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    r = run_range_test(model, opt, nn.MSELoss(), batches, start_lr=1e-4, end_lr=10, num_iter=80)
    rec = r.suggestions["recommended"]
    assert rec.has_band and rec.low <= rec.max_lr <= rec.high
    back = type(r).from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.suggestions["recommended"] == rec


def test_the_store_keeps_recommended_first_with_its_band(tmp_path):
    from clr_core.runs.store import RunStore

    lrs, _, loss = known_curve()
    out = suggest_all(lrs, loss)
    store = RunStore(tmp_path / "runs.db")
    run_id = store.save_run("range_test", {"dataset": "digits"}, {
        "range_test": {"suggestions": {k: s.to_dict() for k, s in out.items()}}})
    saved = store.load_run(run_id).result["range_test"]["suggestions"]
    assert list(saved)[0] == "recommended"
    assert Suggestion.from_dict(saved["recommended"]) == out["recommended"]
    assert saved["recommended"]["low"] == out["recommended"].low


@pytest.mark.parametrize("method", ["valley", "steepest_gradient", "recommended"])
def test_every_rule_has_a_label_by_origin(method):
    assert rc.rule_label(method) != method
