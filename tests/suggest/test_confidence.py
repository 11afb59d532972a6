"""No reliable recommendation where the curve cannot support a number: flat, a fall within
the noise, a minimum at the start, a cancelled test, rules far apart; and a rule past the
LR where the test diverged is marked."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from clr_core.engine.range_test import run_range_test
from clr_core.engine.results import RangeTestResult
from clr_core.engine.smoothing import ema
from clr_core.present.words import headline
from clr_core.setup.optim import make_optimizer
from clr_core.suggest.confidence import divergence_lr, raw_from_smoothed
from clr_core.suggest.registry import suggest_all

LRS = np.logspace(-5, 1, 100)
X = np.log10(LRS)


def _curve(shape, noise=0.02, seed=0, n=100):
    rng = np.random.default_rng(seed)
    raw = shape[:n] + noise * rng.standard_normal(n)
    return LRS[:n], raw, ema(raw, 0.98)


def _good():
    """Falls from 2.3 to 0.5 between 1e-3 and 1e-1, then blows up past 1."""
    fall = 1.8 / (1 + np.exp(-(X + 2) * 3))
    return 2.3 - fall + np.where(X > -0.3, np.expm1((X + 0.3) * 6), 0.0)


def _rec(lrs, raw, sm, **kw):
    return suggest_all(lrs, sm, raw=raw, num_iter=100, **kw)


def test_a_clear_curve_is_ok():
    out = _rec(*_curve(_good()), stop_reason="completed")
    rec = out["recommended"]
    assert rec.confidence == "ok" and rec.caveat == "" and rec.reliable
    assert all(s.confidence == "ok" for s in out.values())


def test_flat_curve_gives_no_reliable_recommendation():
    shape = 2.3 + np.where(X > 0, np.expm1(X * 6), 0.0)  # flat until it blows up
    out = _rec(*_curve(shape, noise=0.05), stop_reason="diverged")
    rec = out["recommended"]
    assert rec.confidence == "none" and not rec.reliable
    assert "noise" in rec.caveat and "seed sweep" in rec.caveat
    assert headline(out).startswith("No reliable recommendation")
    assert all(s.confidence == "none" for s in out.values())


def test_small_fall_inside_the_noise_is_not_trusted():
    shape = 2.3 - 0.01 / (1 + np.exp(-(X + 2) * 3)) + np.where(X > 0, np.expm1(X * 6), 0.0)
    rec = _rec(*_curve(shape, noise=0.2, seed=3))["recommended"]
    assert rec.confidence == "none" and "falls only" in rec.caveat


def test_minimum_at_the_first_points():
    shape = 1.0 + 0.8 * (X + 5) / 6 + np.where(X < -4.4, 2.0 * (-4.4 - X), 0.0)
    out = _rec(*_curve(shape, noise=0.01))
    rec = out.get("recommended")
    assert rec is not None and rec.confidence == "none"
    assert "start" in rec.caveat and "lower" in rec.caveat


def test_cancelled_before_the_loss_turned_up():
    lrs, raw, sm = _curve(_good())
    cut = 55  # LR ~ 2e-2: still falling
    out = suggest_all(lrs[:cut], sm[:cut], raw=raw[:cut], num_iter=100, stop_reason="cancelled")
    rec = out["recommended"]
    assert rec.confidence == "none" and "cancelled" in rec.caveat
    whole = suggest_all(lrs[:cut], sm[:cut], raw=raw[:cut], num_iter=100, stop_reason="completed")
    assert whole["recommended"].confidence != "none" or "cancelled" not in whole["recommended"].caveat


def test_wide_disagreement_lowers_confidence():
    """A curve with two drops a few decades apart: the rules split between them."""
    shape = 3.0 - 1.0 / (1 + np.exp(-(X + 4) * 6)) - 1.0 / (1 + np.exp(-(X + 1) * 6)) \
        + np.where(X > 0.3, np.expm1((X - 0.3) * 6), 0.0)
    out = _rec(*_curve(shape, noise=0.005), stop_reason="diverged")
    rec = out["recommended"]
    loss_rules = sorted(s.max_lr for k, s in out.items() if k != "recommended")[1:-1]
    span = math.log10(loss_rules[-1] / loss_rules[0])
    assert span > 1.0
    assert rec.confidence in ("low", "none") and "disagree" in rec.caveat


def test_rule_past_the_divergence_is_marked_on_least_squares():
    """Full-batch GD on least squares, linear sweep: the loss blows up past 2/λmax, and the
    sharpness shows the limit; fastai's valley lands past it and is marked."""
    g = torch.Generator().manual_seed(0)
    d, n = 20, 400
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    x = torch.randn(n, d, generator=g) @ (q @ torch.diag(torch.logspace(0, 1, d).sqrt()) @ q.T)
    y = x @ torch.randn(d, 1, generator=g) + 0.1 * torch.randn(n, 1, generator=g)
    limit = 2.0 / float(torch.linalg.eigvalsh(2 * x.T @ x / n).max())
    model = nn.Linear(d, 1, bias=False)
    nn.init.zeros_(model.weight)
    opt = make_optimizer("sgd", model, lr=1e-3, momentum=0.0)

    def batches():
        while True:
            yield x, y

    r = run_range_test(model, opt, nn.MSELoss(), batches(), start_lr=1e-3, end_lr=0.5,
                       num_iter=100, mode="linear", sharpness_every=5)
    past = {k for k, s in r.suggestions.items() if s.past_divergence}
    assert past, r.suggestions
    for s in r.suggestions.values():
        assert s.past_divergence == (s.max_lr > limit * 1.02) or abs(s.max_lr / limit - 1) < 0.05
    for k in past:
        assert r.suggestions[k].confidence in ("low", "none")
        s = r.suggestions[k]  # named by what showed it: the loss, or the limit before it
        assert ("stability limit" if s.diverge_source == "stability" else "ran away") in s.caveat
    back = RangeTestResult.from_dict(r.to_dict())  # the store keeps the mark
    assert {k for k, s in back.suggestions.items() if s.past_divergence} == past


def test_divergence_lr_from_the_loss_alone():
    lrs, raw, _ = _curve(_good(), noise=0.0)
    at = divergence_lr(lrs, raw)
    assert 0.2 < at < 1.0
    assert math.isnan(divergence_lr(lrs[:60], raw[:60]))  # never ran away


@settings(max_examples=30, deadline=None)
@given(st.floats(0.5, 0.995), st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=60))
def test_raw_losses_are_recovered_from_the_debiased_ema(beta, values):
    raw = np.asarray(values)
    assert np.allclose(raw_from_smoothed(ema(raw, beta), beta), raw, atol=1e-6 * max(1, np.abs(raw).max()) / (1 - beta))


def test_a_seed_sweep_of_unreliable_tests_stays_unreliable():
    from dataclasses import replace

    from clr_core.suggest.recommend import combine_recommended

    good = _rec(*_curve(_good()), stop_reason="completed")["recommended"]
    guess = replace(good, confidence="none", caveat="The smoothed loss is flat.")
    assert combine_recommended([good, good, good]).confidence == "ok"
    assert combine_recommended([good, guess, good]).confidence == "low"
    mostly = combine_recommended([guess, guess, good])
    assert mostly.confidence == "none" and "flat" in mostly.caveat


# ------------------------------------------------------------------ a sweep that ended too early


def _still_falling(centre, noise, seed, end_lr=1e-4):
    """A sweep from 1e-7 to ``end_lr`` whose loss falls to its last point: a sigmoid drop
    centred ``centre`` decades below the end that never turns up (issue 32, item 1)."""
    lrs = np.logspace(-7, math.log10(end_lr), 100)
    x = np.log10(lrs / end_lr)
    raw = 2.3 - 1.8 / (1 + np.exp(-(x - centre) * 3)) \
        + noise * np.random.default_rng(seed).standard_normal(lrs.size)
    return lrs, raw, ema(raw, 0.98)


@settings(max_examples=15, deadline=None)
@given(centre=st.floats(-3.2, -1.0), noise=st.floats(0.0, 0.02), seed=st.integers(0, 10**6))
def test_a_sweep_still_falling_at_its_end_never_gets_ok(centre, noise, seed):
    """The loss still falls at the last LR: no rule is "ok", the recommendation is not
    confident (no primary "Use in designer"), and the headline and advice say to raise End
    LR to 100× the last LR."""
    from clr_core.present.words import advice

    lrs, raw, sm = _still_falling(centre, noise, seed)
    out = _rec(lrs, raw, sm, stop_reason="completed")
    rec = out["recommended"]
    assert all(s.confidence != "ok" for s in out.values())
    assert rec.confidence == "low" and not rec.confident
    assert rec.still_falling_at == lrs[-1]
    said = advice(rec)
    assert not said.primary
    assert (f"the loss is still falling at the last LR {lrs[-1]:.3g}: raise End LR to at least "
            f"{lrs[-1] * 100:.3g} (100×)") in said.text
    assert "Train with max_lr" not in said.text
    assert f"raise End LR to at least {lrs[-1] * 100:.3g} (100×)" in headline(out)
    back = type(rec).from_dict(rec.to_dict())  # the store keeps it
    assert back.still_falling_at == rec.still_falling_at and not back.confident


def test_a_sweep_that_turned_up_is_not_called_still_falling():
    from clr_core.present.words import advice

    out = _rec(*_curve(_good()), stop_reason="completed")
    rec = out["recommended"]
    assert not rec.still_falling and rec.confident and advice(rec).primary
    assert advice(rec).text.startswith(f"Train with max_lr {rec.max_lr:.3g}")
    # the same curve cut before its minimum is still falling at the cut
    lrs, raw, sm = _curve(_good())
    cut = suggest_all(lrs[:65], sm[:65], raw=raw[:65], num_iter=65, stop_reason="completed")
    assert cut["recommended"].still_falling_at == lrs[64]


# ------------------------------------------------------------------ headline vs divergence


def test_a_recommendation_past_the_divergence_is_not_told_to_train():
    """Issue 32, item 3: "Low confidence: its max_lr lies past the LR where the loss ran
    away (0.00289)" above "Train with max_lr 0.00661 … still falling fast" cannot happen:
    the sentences come from the same divergence point, and the button is demoted."""
    from clr_core.present.words import advice

    lrs, raw, sm = _curve(_good())
    plain = _rec(lrs, raw, sm, stop_reason="completed")["recommended"]
    limit = plain.max_lr / 2.3  # the sharpness crossed the limit below the recommendation
    rec = _rec(lrs, raw, sm, stop_reason="completed", limit_lr=limit)["recommended"]
    assert rec.past_divergence and rec.diverge_lr == limit and not rec.confident
    said = advice(rec)
    assert not said.primary
    assert "Train with max_lr" not in said.text and "still falling fast" not in said.text
    assert f"max_lr {rec.max_lr:.3g} lies past the stability limit ({limit:.3g})" in said.text
    assert f"train below {limit:.3g}" in said.text
    assert "past the stability limit" in headline({"recommended": rec})


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(-5, -1), width=st.floats(0.2, 1.0), at=st.floats(0, 1),
       div=st.one_of(st.just(math.nan), st.floats(-6, 0)), source=st.sampled_from(["loss", "stability"]))
def test_the_headline_never_claims_a_falling_loss_past_the_divergence(lo, width, at, div, source):
    """Whatever the band and the divergence: the LRs the action calls "still falling fast"
    end at the divergence, a max_lr past it is never "Train with", and only then primary."""
    import re
    from dataclasses import replace as _replace

    from clr_core.present.words import advice
    from clr_core.suggest.types import Suggestion

    low, high = 10.0 ** lo, 10.0 ** (lo + width)
    max_lr = 10.0 ** (lo + at * width)
    d = 10.0 ** div if math.isfinite(div) else math.nan
    s = Suggestion("recommended", max_lr / 6, max_lr, "why", "test", 1, max_lr, 1.0,
                   low=low, high=high, diverge_lr=d, diverge_source=source if math.isfinite(d) else "")
    past = math.isfinite(d) and max_lr > d
    s = _replace(s, past_divergence=past, confidence="low" if past else "ok",
                 caveat="Its max_lr lies past somewhere." if past else "")
    said = advice(s)
    assert said.primary == (not past)
    assert ("Train with max_lr" in said.text) == (not past)
    m = re.search(r"between (\S+) and (\S+) the loss is still falling fast", said.text)
    if m:
        assert float(m.group(2)) <= (d if math.isfinite(d) else high) * (1 + 1e-2)
        assert not past
