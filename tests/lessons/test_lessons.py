"""The lessons' closed-form parts: controls and links, the stability bowl, warmup-stable-decay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.errors import ScheduleError
from clr_core.lessons import LESSONS, bowl, lesson_by_key, query_from_values, values_from_query, wsd
from clr_core.lessons.catalogue import CLAIM_CHECKS

INSTANT = [lesson for lesson in LESSONS if lesson.instant]


def test_every_lesson_states_a_cited_claim_and_a_verdict():
    keys = [lesson.key for lesson in LESSONS]
    assert len(set(keys)) == len(keys)
    for lesson in LESSONS:
        assert lesson.claim.text and lesson.claim.verdict
        assert any(str(year) in lesson.claim.source for year in range(1960, 2030)), lesson.key
        assert "seed 0" not in lesson.body + lesson.claim.verdict  # no internal document names


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.key)
def test_a_link_round_trips_every_controls_value(lesson):
    values = {}
    for c in lesson.controls:  # a non-default value for each control
        if c.kind in ("steps", "choice"):
            values[c.key] = c.options[-1] if c.options[-1] != c.default else c.options[0]
        elif c.kind == "toggle":
            values[c.key] = not c.default
        else:
            values[c.key] = c.hi
    assert values_from_query(lesson, query_from_values(lesson, values)) == values


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.key)
def test_bad_link_values_fall_back_to_the_defaults(lesson):
    query = {c.key: bad for c in lesson.controls for bad in ("nan",)}
    values = values_from_query(lesson, query)
    for c in lesson.controls:
        if c.kind != "toggle":
            assert values[c.key] == c.default, c.key
    assert values_from_query(lesson, {}) == lesson.defaults()


@given(text=st.text(max_size=12))
def test_parsing_any_text_gives_a_value_the_widget_accepts(text):
    for lesson in LESSONS:
        for c in lesson.controls:
            v = c.parse(text)
            if c.kind in ("steps", "choice"):
                assert v in c.options
            elif c.kind == "slider":
                assert c.lo <= v <= c.hi


def test_out_of_range_numbers_are_clamped_and_steps_snap_to_the_nearest_option():
    stab = lesson_by_key("stability")
    values = values_from_query(stab, {"lr": "99", "momentum": "-3", "condition": "11"})
    assert values == {"lr": 4.0, "momentum": 0.0, "condition": 10.0}


@pytest.mark.parametrize("lesson", INSTANT, ids=lambda lesson: lesson.key)
def test_instant_lessons_draw_their_figures_for_defaults_and_extremes(lesson):
    lows = {c.key: (c.options[0] if c.options else c.lo if c.lo is not None else c.default)
            for c in lesson.controls}
    if "max_lr" in lows:  # bounds stay ordered; crossed bounds are the next test
        lows["max_lr"] = max(c.options for c in lesson.controls if c.key == "max_lr")[-1]
    for values in (lesson.defaults(), lows):
        view = lesson.view(values)
        assert view.figures
        for _, fig in view.figures:
            assert fig.to_json()


@pytest.mark.parametrize("key", ["policies", "sgdr"])
def test_crossed_bounds_are_a_clear_schedule_error(key):
    lesson = lesson_by_key(key)
    with pytest.raises(ScheduleError, match="base_lr"):
        lesson.view({**lesson.defaults(), "base_lr": 0.3, "max_lr": 0.01})


# ------------------------------------------------------------------------ stability limit


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("condition", [1.0, 10.0, 100.0])
def test_descent_converges_just_below_the_limit_and_diverges_just_above(momentum, condition):
    limit = bowl.divergence_lr(momentum)
    below = bowl.descend(limit * 0.97, momentum, condition, steps=3000)
    above = bowl.descend(limit * 1.03, momentum, condition, steps=3000)
    assert np.linalg.norm(below[-1]) < np.linalg.norm(below[0])
    assert not np.all(np.isfinite(above[-1])) or np.abs(above[-1]).max() > 1e3


@pytest.mark.parametrize("momentum", [0.1, 0.5, 0.81])
def test_critical_damping_gives_the_double_root_sqrt_beta(momentum):
    lr = bowl.critical_lr(momentum, 1.0)
    assert float(bowl.rate(lr, momentum, 1.0)) == pytest.approx(math.sqrt(momentum), rel=1e-6)
    # just below it the axis is overdamped (slower), just above it oscillates at the same rate
    assert float(bowl.rate(lr * 0.9, momentum, 1.0)) > math.sqrt(momentum)


@pytest.mark.parametrize("condition", [4.0, 25.0, 100.0])
def test_polyaks_setting_has_the_best_worst_axis_rate_of_a_grid(condition):
    lr_star, beta_star = bowl.optimal(condition)

    def worst(lr, beta):
        return max(float(bowl.rate(lr, beta, 1.0)), float(bowl.rate(lr, beta, 1.0 / condition)))

    best = worst(lr_star, beta_star)
    assert best == pytest.approx((math.sqrt(condition) - 1) / (math.sqrt(condition) + 1), rel=1e-6)
    for lr in np.linspace(0.05, 3.5, 40):
        for beta in np.linspace(0.0, 0.95, 20):
            assert worst(lr, beta) >= best - 1e-9


def test_the_rate_figure_marks_the_exact_limit():
    _, rates, metrics = bowl.stability_figures(1.0, 0.5, 10.0)
    names = [t.name for t in rates.data]
    assert "2(1+β)/λmax = 3" in names
    assert dict(metrics)["largest stable LR, 2(1+β)/λmax"] == "3"
    _, _, diverging = bowl.stability_figures(3.1, 0.5, 10.0)
    assert "diverges" in dict(diverging)["your LR"]


# ------------------------------------------------------------------------ warmup-stable-decay


def test_the_exact_loss_matches_a_monte_carlo_of_sgd_on_the_noisy_quadratic():
    rng = np.random.default_rng(0)
    lrs = np.concatenate([wsd.stable_lr(0.3, total_steps=160, warmup=10),
                          wsd.cooldown_lr(0.3, branch=160, length=40, warmup=10, shape="1-sqrt")])
    w = np.full((4000, len(wsd.CURVATURES)), wsd.START)
    h = wsd.CURVATURES
    for lr in lrs:
        noise = rng.standard_normal(w.shape) * np.sqrt(wsd.NOISE * h)
        w = w - lr * (h * w + noise)
    simulated = 0.5 * float(np.mean((w ** 2) @ h))
    exact = wsd.expected_loss(lrs)[0][-1]
    assert simulated == pytest.approx(exact, rel=0.05)


def test_cooldowns_drop_the_loss_from_every_branch_point_and_beat_cosine_at_the_defaults():
    """Hägele et al. 2024: the claim the WSD lesson teaches, at the lesson's defaults."""
    defaults = lesson_by_key("wsd").defaults()
    total, peak = defaults["total_steps"], defaults["peak"]
    warmup, length = total // 20, int(defaults["cooldown"] * total)
    constant = wsd.stable_lr(peak, total_steps=total, warmup=warmup)
    finals = []
    for branch in (200, 400, 600, 800, 1000):
        before, state = wsd.expected_loss(constant[:branch])
        cool = wsd.cooldown_lr(peak, branch=branch, length=length, warmup=warmup,
                               shape=defaults["shape"])
        after, _ = wsd.expected_loss(cool, state)
        assert after[-1] < 0.6 * before[-1]  # the cool-down cuts the loss by 40 % or more
        cosine = wsd.expected_loss(wsd.cosine_lr(peak, total_steps=branch + length,
                                                 warmup=warmup))[0]
        assert after[-1] <= cosine[-1]
        finals.append(after[-1])
    assert finals == sorted(finals, reverse=True)  # a later branch ends lower


def test_near_the_stability_limit_cosine_wins_as_the_lesson_says():
    total, peak = 1000, 1.5
    warmup = total // 20
    w = np.concatenate([wsd.stable_lr(peak, total_steps=800, warmup=warmup),
                        wsd.cooldown_lr(peak, branch=800, length=200, warmup=warmup,
                                        shape="1-sqrt")])
    c = wsd.cosine_lr(peak, total_steps=total, warmup=warmup)
    assert wsd.expected_loss(w)[0][-1] > wsd.expected_loss(c)[0][-1]


def test_claim_checks_belong_to_lessons():
    assert set(CLAIM_CHECKS) <= {lesson.key for lesson in LESSONS}


def test_the_range_test_lesson_shows_each_rules_measured_regret_when_there_is_one(monkeypatch):
    from clr_core.lessons import training

    monkeypatch.setattr(training, "measured_regret",
                        lambda: {"valley": {"worst": 1.5, "mean": 0.5, "spread": 0.2, "tasks": 3}})
    fig, table, result = training.range_test_reading(num_iter=60)
    row = table.set_index("rule").loc["valley"]
    assert (row["worst regret (points)"], row["mean regret (points)"]) == (1.5, 0.5)
    assert any((t.name or "").startswith("stability limit") for t in fig.data)
    view = lesson_by_key("range_test").view({"num_iter": 60, "seed": 0})
    assert not any("has not been run" in n for n in view.notes)  # regret measured


def test_the_closed_form_stable_phase_equals_the_step_by_step_recursion():
    lrs = np.concatenate([wsd.stable_lr(0.5, total_steps=300, warmup=20),
                          wsd.cooldown_lr(0.5, branch=300, length=60, warmup=20, shape="linear")])
    closed, _ = wsd._states(lrs)
    np.testing.assert_allclose(closed, wsd.expected_loss(lrs)[0], rtol=1e-12)
