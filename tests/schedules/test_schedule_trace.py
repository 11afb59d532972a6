"""Schedule.trace, the designer's preview path: over any contiguous range it gives what
lr() gives, kernel by kernel and policy by policy, for random configurations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_schedules import configs

from clr_core.errors import ScheduleError
from clr_core.schedules import POLICIES, make_schedule, trace
from clr_core.schedules.shapes import SHAPES, piecewise, piecewise_trace

TOL = 1e-12
EPS = np.finfo(np.float64).eps
FAST = settings(max_examples=100, deadline=None)
# sizes around the kernels' row and chunk edges
SIZES = st.one_of(st.integers(0, 40), st.sampled_from(
    [trace.ROW - 1, 2 * trace.ROW - 1, 2 * trace.ROW, 2 * trace.ROW + 1, 3 * trace.ROW + 17,
     trace.CHUNK + 1, 2 * trace.CHUNK + 5]), st.integers(0, 3 * trace.CHUNK))


def close(fast: np.ndarray, exact: np.ndarray, slack: float = 0.0, peak: float = 0.0) -> None:
    """Within TOL (+ slack) of the peak: of `peak` where given (the schedule's), else of the
    values compared."""
    assert fast.shape == exact.shape and fast.dtype == np.float64
    if exact.size:
        peak = max(peak, float(np.max(np.abs(exact)))) or 1.0
        np.testing.assert_allclose(fast, exact, rtol=0, atol=peak * (TOL + slack))


# --------------------------------------------------------------------------- kernels


@FAST
@given(n=SIZES, theta0=st.floats(-10, 10), dtheta=st.floats(-0.01, 0.01),
       offset=st.floats(-1, 1), amplitude=st.floats(-1, 1), floor=st.booleans())
def test_cosine_kernel_is_the_direct_cosine(n, theta0, dtheta, offset, amplitude, floor):
    out = np.full(n, np.nan)
    trace.cosine(out, theta0, dtheta, offset, amplitude, floor=0.0 if floor else None)
    exact = offset + amplitude * np.cos(theta0 + dtheta * np.arange(n))
    if floor:
        exact = np.maximum(exact, 0.0)
    # both round the angle: an error of a few ulps of the largest angle
    np.testing.assert_allclose(out, exact, rtol=0,
                               atol=1e-14 + 8 * EPS * (abs(theta0) + abs(dtheta) * n))


@FAST
@given(n=SIZES, start=st.floats(1e-6, 1.0), log_ratio=st.floats(-1e-3, 1e-4))
def test_exponential_kernel_is_the_direct_power(n, start, log_ratio):
    out = np.full(n, np.nan)
    trace.exponential(out, start, log_ratio)
    np.testing.assert_allclose(out, start * np.exp(log_ratio * np.arange(n)), rtol=1e-12,
                               atol=1e-300)


@FAST
@given(n=SIZES, start=st.floats(-1, 1), slope=st.floats(-1e-3, 1e-3), scale=st.floats(0.1, 2))
def test_affine_and_reciprocal_sqrt_kernels(n, start, slope, scale):
    out = np.full(n, np.nan)
    trace.affine(out, start, slope)
    np.testing.assert_allclose(out, start + slope * np.arange(n), rtol=1e-13, atol=1e-13)
    trace.reciprocal_sqrt(out, scale, abs(start) + 1, abs(slope))
    np.testing.assert_allclose(out, scale / np.sqrt(abs(start) + 1 + abs(slope) * np.arange(n)),
                               rtol=1e-13)
    trace.power(out, n, -1.0, n + 1, 0.5, scale, start)  # reaches its base of 0 exactly
    np.testing.assert_allclose(out, start + scale * np.sqrt((n - np.arange(n)) / (n + 1)),
                               rtol=1e-13, atol=1e-15)


@FAST
@given(n=SIZES, size=st.integers(1, 5000), offset=st.floats(-1, 1), data=st.data())
def test_tile_and_rows_scaled(n, size, offset, data):
    pattern = np.random.default_rng(size).random(size)
    out = np.full(n, np.nan)
    trace.tile(out, pattern)
    assert np.array_equal(out, pattern[np.arange(n) % size])
    ratio = data.draw(st.floats(0.5, 1.0))
    trace.rows_scaled(out, pattern, lambda j: ratio**j, offset)
    i = np.arange(n)
    np.testing.assert_allclose(out, offset + ratio ** (i // size) * pattern[i % size],
                               rtol=1e-14, atol=1e-14)


def test_part_is_the_slice_of_a_range():
    out = np.arange(10.0)  # iterations 100..109
    seg, at = trace.part(out, 100, 103, 106)
    assert at == 103 and seg.tolist() == [3.0, 4.0, 5.0]
    assert trace.part(out, 100, 0, 100)[0].size == 0
    assert trace.part(out, 100, 108)[0].tolist() == [8.0, 9.0]
    assert trace.part(out, 100, 200)[0].size == 0
    seg[:] = -1  # a view: kernels write into the trace
    assert out[3] == -1


@st.composite
def tables(draw):
    rows, at = [], 0.0
    for _ in range(draw(st.integers(1, 5))):
        at += draw(st.one_of(st.integers(1, 20_000).map(float), st.floats(1.5, 20_000.0)))
        shape = draw(st.sampled_from(SHAPES))
        a, b = draw(st.floats(1e-6, 1.0)), draw(st.floats(1e-6, 1.0))
        rows.append((at, a, b, shape))
    return rows


@FAST
@given(table=tables(), first=st.integers(0, 30_000), n=SIZES)
def test_piecewise_trace_is_piecewise(table, first, n):
    # within the phases (past its end the last phase extrapolates; 1cycle ends there and
    # Phases holds its end value)
    first = min(first, int(table[-1][0]))
    n = min(n, int(table[-1][0]) + 1 - first)
    out = np.full(n, np.nan)
    piecewise_trace(out, first, table)
    peak = max(max(a, b) for _, a, b, _ in table)
    close(out, piecewise(np.arange(first, first + n), table), peak=peak)


# --------------------------------------------------------------------------- policies


@st.composite
def newer_configs(draw, policy: str) -> dict:
    """Random valid parameters for the warm-up families, timm's cosine and phases."""
    lr = draw(st.floats(1e-6, 1.0))
    total = draw(st.integers(2, 60_000))
    warm = draw(st.integers(0, total // 2))
    if policy == "warmup_linear":
        return {"max_lr": lr, "total_steps": total, "warmup_steps": warm}
    if policy == "warmup_cosine":
        return {"max_lr": lr, "total_steps": total, "warmup_steps": warm,
                "min_lr": lr * draw(st.sampled_from([0.0, 0.01, 0.5])),
                "num_cycles": draw(st.floats(0.1, 3.0))}
    if policy == "warmup_constant":
        return {"max_lr": lr, "warmup_steps": warm}
    if policy == "polynomial":
        return {"max_lr": lr, "total_steps": total, "warmup_steps": min(warm, total - 1),
                "end_lr": lr * draw(st.floats(0.0, 0.9)),
                "power": draw(st.sampled_from([1.0, 2.0, 0.5]))}
    if policy == "inverse_sqrt":
        return {"max_lr": lr, "warmup_steps": warm,
                "timescale": draw(st.one_of(st.none(), st.integers(1, 20_000)))}
    if policy == "wsd":
        decay = draw(st.integers(1, total - warm))
        return {"max_lr": lr, "total_steps": total, "warmup_steps": warm, "decay_steps": decay,
                "min_lr": lr * draw(st.floats(0.0, 0.9)),
                "warmup_shape": draw(st.sampled_from(["linear", "cosine", "1-sqrt"])),
                "decay_shape": draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))}
    if policy == "timm_cosine":
        return {"max_lr": lr, "t_initial": draw(st.integers(1, 20_000)),
                "min_lr": lr * draw(st.floats(0.0, 0.5)), "warmup_t": draw(st.integers(0, 500)),
                "warmup_lr_init": lr * draw(st.floats(0.0, 1.0)),
                "warmup_prefix": draw(st.booleans()),
                "cycle_mul": draw(st.sampled_from([1.0, 1.0, 2.0])),
                "cycle_decay": draw(st.floats(0.1, 1.0)), "cycle_limit": draw(st.integers(1, 80)),
                "k_decay": draw(st.sampled_from([1.0, 1.0, 2.0])),
                "noise_range_t": draw(st.sampled_from([None, None, 20_000]))}
    assert policy == "phases"
    phases = [{"shape": draw(st.sampled_from(SHAPES)), "start": draw(st.floats(1e-6, 1.0)),
               "end": draw(st.floats(1e-6, 1.0)), "steps": draw(st.integers(1, 20_000))}
              for _ in range(draw(st.integers(1, 4)))]
    return {"phases": phases}


@st.composite
def schedules(draw, policy: str):
    if policy in ("warmup_linear", "warmup_cosine", "warmup_constant", "polynomial",
                  "inverse_sqrt", "wsd", "timm_cosine", "phases"):
        params = draw(newer_configs(policy))
    else:
        params = draw(configs(policy))
    if draw(st.booleans()):  # the warm-up modifier, on any policy
        params.update(ramp_steps=draw(st.integers(1, 10_000)),
                      ramp_shape=draw(st.sampled_from(["linear", "cos", "exp"])),
                      ramp_from=draw(st.floats(0.01, 0.9)))
    try:
        return make_schedule(policy, **params)
    except ScheduleError:
        assume(False)


def draw_range(data, s) -> tuple[int, int, float]:
    """(start, n, slack): a range the schedule allows, and how far past TOL the closed form
    may round there: far into a short cycle torch's k / cycle_length (which lr() follows;
    it divides by the half-cycle's share) rounds more coarsely than the trace's one cycle,
    tiled."""
    start = data.draw(st.integers(0, 60_000))
    n = data.draw(st.integers(0, 40_000))
    if s.total_steps is not None:
        start = min(start, s.total_steps)
        n = min(n, s.total_steps - start + 1)
    p = s.params
    shortest = min(p.get("step_size_up") or math.inf, p.get("step_size_down") or math.inf,
                   s.cycle_length or math.inf)
    return start, n, 16 * EPS * (start + n) / shortest


@pytest.mark.parametrize("policy", list(POLICIES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_trace_is_lr_over_the_range(policy, data):
    s = data.draw(schedules(policy))
    start, n, slack = draw_range(data, s)
    p = s.params
    if policy == "warmup_cosine":  # transformers' angle, once it runs on past total_steps
        turns = p["num_cycles"] * (start + n) / max(1, p["total_steps"] - p["warmup_steps"])
        slack = 16 * EPS * 2 * math.pi * turns
    # the policy's own peak (a warm-up modifier may hide it): the scale its kernels work at
    plain = {k: v for k, v in p.items() if not k.startswith("ramp")}
    # (without a warm-up that is `s` itself: building it again repeats its validation, whose
    # sampled LRs are most of this test's time)
    own = s if plain == p else make_schedule(policy, **plain)
    peak = float(np.max(own.lr(np.arange(min(s.total_steps or 20_000, 20_000)))))
    close(s.trace(n, start), s.lr(np.arange(start, start + n)), slack, peak)


@pytest.mark.parametrize("policy", ["triangular", "triangular2", "exp_range", "welch", "hann",
                                    "one_cycle"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_momentum_trace_is_momentum_over_the_range(policy, data):
    s = data.draw(schedules(policy))
    start, n, slack = draw_range(data, s)
    if not s.has_momentum:
        assert s.momentum_trace(n, start) is None
        return
    close(s.momentum_trace(n, start), s.momentum(np.arange(start, start + n)), slack, peak=1.0)


def test_default_previews_of_a_million_iterations_match():
    for policy, spec in POLICIES.items():
        params = {p.name: p.default for p in spec.params if p.default is not None}
        if "total_steps" in params:
            params["total_steps"] = 1_000_000
        s = make_schedule(policy, **params)
        close(s.trace(1_000_000), s.lr(np.arange(1_000_000)))


def test_trace_refuses_bad_ranges_by_name():
    s = make_schedule("one_cycle", max_lr=0.1, total_steps=100)
    assert s.trace(0).shape == (0,)
    assert s.trace(101).shape == (101,)  # iterations 0..total_steps, as lr() allows
    with pytest.raises(ScheduleError, match="past total_steps"):
        s.trace(102)
    with pytest.raises(ScheduleError, match="past total_steps"):
        s.trace(2, start=100)
    for bad in (-1, 1.5, float("nan"), True, "10", None):
        with pytest.raises(ScheduleError, match="n must be a whole number"):
            s.trace(bad)
    with pytest.raises(ScheduleError, match="start must be a whole number"):
        s.trace(5, start=-3)
    assert s.trace(np.int32(5), start=2.0).shape == (5,)
