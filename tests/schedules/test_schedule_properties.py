"""Hypothesis properties of the closed forms: bounds, periods, amplitude laws, windows,
monotone segments and endpoints."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clr_core.schedules import make_schedule

TOL = 1e-12
FAST = settings(max_examples=40, deadline=None)


@st.composite
def bounds(draw):
    base = draw(st.floats(1e-6, 1.0))
    return base, base * draw(st.floats(1.01, 50.0))


@st.composite
def cycles(draw, policies=("triangular", "triangular2", "exp_range", "welch", "hann")):
    base, mx = draw(bounds())
    policy = draw(st.sampled_from(policies))
    params = {"base_lr": base, "max_lr": mx, "step_size_up": draw(st.integers(1, 60)),
              "step_size_down": draw(st.one_of(st.none(), st.integers(1, 60)))}
    if policy in ("exp_range", "welch", "hann"):
        params["gamma"] = draw(st.floats(0.9, 1.0))
    if policy in ("welch", "hann"):
        params["scale_mode"] = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
    lo = draw(st.floats(0.0, 0.95))
    params.update(base_momentum=lo, max_momentum=draw(st.floats(lo, 0.99)))
    return make_schedule(policy, **params)


def _up_down(s):
    p = s.params
    return p["step_size_up"], p["step_size_down"] or p["step_size_up"]


@FAST
@given(s=cycles())
def test_cyclic_bounds(s):
    p = s.params
    k = np.arange(4 * s.cycle_length + 3)
    lr, m = s.lr(k), s.momentum(k)
    span = p["max_lr"] - p["base_lr"]
    assert np.all(lr >= p["base_lr"] - TOL * p["max_lr"])
    assert np.all(lr <= p["max_lr"] + TOL * p["max_lr"])
    assert np.all(m >= p["base_momentum"] - TOL) and np.all(m <= p["max_momentum"] + TOL)
    # momentum moves inversely: it is at its max exactly where the LR is at its base
    scale_lr = (lr - p["base_lr"]) / span
    m_span = p["max_momentum"] - p["base_momentum"]
    if m_span > 1e-6:
        np.testing.assert_allclose((p["max_momentum"] - m) / m_span, scale_lr, atol=1e-9)


@FAST
@given(s=cycles(), start=st.integers(0, 10_000))
def test_cycle_ends_at_base_and_peaks_at_max_for_every_window(s, start):
    """Cycle ends at base_lr; peak (step_size_up into the cycle) at the cycle's amplitude."""
    p = s.params
    up, _ = _up_down(s)
    c = s.cycle_length
    first = (start // c) * c
    base, mx = p["base_lr"], p["max_lr"]
    assert s.lr(first) == pytest.approx(base, rel=1e-9)
    unit = make_schedule("triangular", base_lr=base, max_lr=mx, step_size_up=up,
                         step_size_down=p["step_size_down"])
    amplitude = s.lr(first + up) - base
    if s.policy == "triangular":
        assert amplitude == pytest.approx(mx - base, rel=1e-9)
    assert amplitude <= (mx - base) * (1 + 1e-9)
    assert unit.lr(first + up) == pytest.approx(mx, rel=1e-9)


@FAST
@given(s=cycles(), offset=st.integers(0, 500))
def test_triangular_is_periodic(s, offset):
    assume(s.policy == "triangular" or s.params.get("scale_mode") == "triangular")
    k = np.arange(offset, offset + 2 * s.cycle_length)
    np.testing.assert_allclose(s.lr(k + s.cycle_length), s.lr(k), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(s.momentum(k + 3 * s.cycle_length), s.momentum(k), rtol=1e-9,
                               atol=1e-12)


@FAST
@given(base_max=bounds(), up=st.integers(1, 50), down=st.integers(1, 50),
       window=st.sampled_from(["triangular2", "welch", "hann"]))
def test_triangular2_halves_every_cycle(base_max, up, down, window):
    base, mx = base_max
    params = {"base_lr": base, "max_lr": mx, "step_size_up": up, "step_size_down": down}
    if window == "triangular2":
        s = make_schedule("triangular2", **params)
    else:
        s = make_schedule(window, **params, scale_mode="triangular2")
    c = up + down
    k = np.arange(c)
    for cycle in range(1, 6):
        height = s.lr(k + (cycle - 1) * c) - base
        first = s.lr(k) - base
        np.testing.assert_allclose(height, first / 2 ** (cycle - 1), rtol=1e-9,
                                   atol=1e-12 * mx)
    assert s.lr((cycle - 1) * c + up) == pytest.approx(base + (mx - base) / 16, rel=1e-9)


@FAST
@given(base_max=bounds(), up=st.integers(1, 50), gamma=st.floats(0.9, 1.0))
def test_exp_range_decays_as_gamma_to_the_k(base_max, up, gamma):
    base, mx = base_max
    tri = make_schedule("triangular", base_lr=base, max_lr=mx, step_size_up=up)
    exp = make_schedule("exp_range", base_lr=base, max_lr=mx, step_size_up=up, gamma=gamma)
    k = np.arange(10 * up)
    np.testing.assert_allclose(exp.lr(k) - base, (tri.lr(k) - base) * gamma**k, rtol=1e-9,
                               atol=1e-12 * mx)
    peaks = exp.lr(up + 2 * up * np.arange(5))
    assert np.all(np.diff(peaks) <= 0)


@FAST
@given(s=cycles())
def test_monotone_half_cycles(s):
    # exp_range's per-iteration decay can beat a slow rise; the others hold each cycle's amplitude
    assume("exp_range" not in (s.policy, s.params.get("scale_mode")))
    up, down = _up_down(s)
    c = s.cycle_length
    for j in range(3):
        rise = s.lr(np.arange(j * c, j * c + up + 1))
        fall = s.lr(np.arange(j * c + up, (j + 1) * c + 1))
        eps = 1e-12 * s.params["max_lr"]
        assert np.all(np.diff(rise) >= -eps)
        assert np.all(np.diff(fall[:-1]) <= eps)  # the last point starts the next cycle


@FAST
@given(base_max=bounds(), up=st.integers(2, 60), down=st.integers(2, 60))
def test_windows_shape(base_max, up, down):
    """Welch lies above the triangle, Hann crosses it at the half-height; all share ends."""
    base, mx = base_max
    p = {"base_lr": base, "max_lr": mx, "step_size_up": up, "step_size_down": down}
    tri, welch, hann = (make_schedule(n, **p) for n in ("triangular", "welch", "hann"))
    k = np.arange(up + down + 1)
    assert np.all(welch.lr(k) >= tri.lr(k) - 1e-12 * mx)
    for s in (welch, hann):
        assert s.lr(0) == pytest.approx(base, rel=1e-12)
        assert s.lr(up) == pytest.approx(mx, rel=1e-12)
        assert s.lr(up + down) == pytest.approx(base, rel=1e-12)
    # Hann at a quarter of the rise: sin^2(pi/8) of the way up
    if up % 4 == 0:
        assert (hann.lr(up // 4) - base) / (mx - base) == pytest.approx(np.sin(np.pi / 8) ** 2)


@FAST
@given(max_lr=st.floats(1e-4, 3.0), total=st.integers(10, 5000), pct=st.floats(0.05, 0.45),
       strategy=st.sampled_from(["cos", "linear"]), three=st.booleans(),
       div=st.floats(1.5, 100.0), final=st.floats(1.5, 1e5))
def test_one_cycle_endpoints(max_lr, total, pct, strategy, three, div, final):
    try:
        s = make_schedule("one_cycle", max_lr=max_lr, total_steps=total, pct_start=pct,
                          anneal_strategy=strategy, three_phase=three, div_factor=div,
                          final_div_factor=final)
    except ValueError:
        assume(False)
    assume(pct * total > 2)
    k = np.arange(total)
    lr, m = s.lr(k), s.momentum(k)
    assert lr[0] == pytest.approx(max_lr / div, rel=1e-12)
    assert lr[-1] == pytest.approx(max_lr / div / final, rel=1e-9)
    assert lr.max() <= max_lr * (1 + 1e-12)
    assert lr.max() >= max_lr / div  # the peak is reached at the float boundary
    peak = int(np.argmax(lr))
    assert abs(peak - (pct * total - 1)) <= 1
    assert np.all(np.diff(lr[: peak + 1]) >= -1e-15 * max_lr)
    if not three:
        assert np.all(np.diff(lr[peak:]) <= 1e-15 * max_lr)
    assert m[0] == pytest.approx(0.95) and m[-1] == pytest.approx(0.95)
    assert m[peak] == pytest.approx(0.85, abs=0.1 / max(1.0, pct * total - 1) + 1e-9)
    assert np.all((m >= 0.85 - 1e-12) & (m <= 0.95 + 1e-12))


@FAST
@given(max_lr=st.floats(1e-4, 2.0), frac=st.floats(0.0, 0.9), T_0=st.integers(1, 50),
       T_mult=st.integers(1, 3))
def test_cosine_restarts_restart_at_max(max_lr, frac, T_0, T_mult):
    s = make_schedule("cosine_restarts", max_lr=max_lr, base_lr=max_lr * frac, T_0=T_0,
                      T_mult=T_mult)
    starts = [0]
    length = T_0
    for _ in range(4):
        starts.append(starts[-1] + length)
        length *= T_mult
    np.testing.assert_allclose(s.lr(np.array(starts)), max_lr, rtol=1e-15)
    k = np.arange(starts[-1])
    lr = s.lr(k)
    assert np.all(lr >= max_lr * frac - 1e-15) and np.all(lr <= max_lr * (1 + 1e-15))
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        assert np.all(np.diff(lr[a:b]) <= 0)


@FAST
@given(base_max=bounds(), step=st.integers(1, 500))
def test_decay_is_linear_then_flat(base_max, step):
    base, mx = base_max
    s = make_schedule("decay", base_lr=base, max_lr=mx, step_size=step)
    lr = s.lr(np.arange(3 * step))
    assert lr[0] == pytest.approx(mx, rel=1e-15) and np.all(lr[step:] == base)
    assert np.all(np.diff(lr) <= 0)
    np.testing.assert_allclose(np.diff(lr[: step + 1]), -(mx - base) / step, rtol=1e-6)


@FAST
@given(base=st.floats(1e-6, 1.0), gamma=st.floats(0.5, 1.0), step=st.integers(1, 100))
def test_exp_and_step(base, gamma, step):
    k = np.arange(1000)
    e = make_schedule("exp", base_lr=base, gamma=gamma).lr(k)
    s = make_schedule("step", base_lr=base, gamma=gamma, step_size=step).lr(k)
    assert e[0] == base and s[0] == base
    assert np.all(np.diff(e) <= 0) and np.all(np.diff(s) <= 0)
    np.testing.assert_allclose(e, base * gamma ** k.astype(float), rtol=1e-12)
    assert np.all(s[:step] == base)
    np.testing.assert_allclose(s[::step], e[: len(s[::step])] if step == 1 else
                               base * gamma ** np.arange(len(s[::step])), rtol=1e-12)


@FAST
@given(s=cycles(), ks=st.lists(st.integers(0, 100_000), min_size=1, max_size=20))
def test_vectorised_equals_scalar(s, ks):
    arr = s.lr(np.array(ks))
    assert [float(s.lr(k)) for k in ks] == arr.tolist()
