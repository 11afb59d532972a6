"""Step-for-step parity of today's recipes with the real transformers and timm schedulers,
on random configurations (hypothesis): every step of the trace, past total_steps too."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import transformers.optimization as hf
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from timm.scheduler import CosineLRScheduler

from clr_core.errors import ScheduleError
from clr_core.schedules import make_schedule

RTOL = 1e-12
SETTINGS = settings(max_examples=30, deadline=None)


def _optimizer(lr: float):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr, momentum=0.9)


def hf_trace(make, max_lr: float, n: int) -> np.ndarray:
    """lr after 0..n-1 scheduler.step() calls of a transformers scheduler."""
    opt = _optimizer(max_lr)
    sched = make(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(out)


def check(schedule, theirs: np.ndarray) -> None:
    ours = schedule.lr(np.arange(len(theirs)))
    scale = float(np.max(np.abs(theirs))) or 1.0
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=RTOL * scale * 1e-3)


lrs = st.floats(1e-6, 1.0)


@st.composite
def steps(draw, lo: int = 1):
    total = draw(st.integers(lo, 400))
    return total, draw(st.integers(0, total))


@SETTINGS
@given(max_lr=lrs, ts=steps())
def test_warmup_linear_is_hf_linear(max_lr, ts):
    total, warm = ts
    s = make_schedule("warmup_linear", max_lr=max_lr, total_steps=total, warmup_steps=warm)
    check(s, hf_trace(lambda o: hf.get_linear_schedule_with_warmup(o, warm, total), max_lr,
                      total + 20))


@SETTINGS
@given(max_lr=lrs, ts=steps(), min_frac=st.one_of(st.just(0.0), st.floats(1e-4, 0.9)),
       cycles=st.floats(0.1, 3.0))
def test_warmup_cosine_is_hf_cosine_and_cosine_with_min_lr(max_lr, ts, min_frac, cycles):
    total, warm = ts
    min_lr = max_lr * min_frac
    s = make_schedule("warmup_cosine", max_lr=max_lr, total_steps=total, warmup_steps=warm,
                      min_lr=min_lr, num_cycles=cycles)
    if min_lr == 0:
        make = lambda o: hf.get_cosine_schedule_with_warmup(o, warm, total, num_cycles=cycles)  # noqa: E731
    else:
        make = lambda o: hf.get_cosine_with_min_lr_schedule_with_warmup(  # noqa: E731
            o, warm, total, num_cycles=cycles, min_lr=min_lr)
    check(s, hf_trace(make, max_lr, total + 20))


@SETTINGS
@given(max_lr=lrs, warm=st.integers(0, 300))
def test_warmup_constant_is_hf_constant_with_warmup(max_lr, warm):
    s = make_schedule("warmup_constant", max_lr=max_lr, warmup_steps=warm)
    check(s, hf_trace(lambda o: hf.get_constant_schedule_with_warmup(o, warm), max_lr, warm + 30))


@SETTINGS
@given(max_lr=lrs, ts=steps(2), end_frac=st.floats(0.0, 0.9), power=st.floats(0.2, 4.0))
def test_polynomial_is_hf_polynomial(max_lr, ts, end_frac, power):
    total, warm = ts
    assume(warm < total)
    end = max_lr * end_frac
    s = make_schedule("polynomial", max_lr=max_lr, total_steps=total, warmup_steps=warm,
                      end_lr=end, power=power)
    check(s, hf_trace(lambda o: hf.get_polynomial_decay_schedule_with_warmup(
        o, warm, total, lr_end=end, power=power), max_lr, total + 20))


@SETTINGS
@given(max_lr=lrs, warm=st.integers(0, 300), timescale=st.one_of(st.none(), st.integers(1, 500)))
def test_inverse_sqrt_is_hf_inverse_sqrt(max_lr, warm, timescale):
    s = make_schedule("inverse_sqrt", max_lr=max_lr, warmup_steps=warm, timescale=timescale)
    check(s, hf_trace(lambda o: hf.get_inverse_sqrt_schedule(o, warm, timescale=timescale),
                      max_lr, warm + 300))


@SETTINGS
@given(max_lr=lrs, total=st.integers(2, 400), data=st.data(), min_frac=st.floats(0.0, 0.9),
       up=st.sampled_from(["linear", "cosine", "1-sqrt"]),
       down=st.sampled_from(["linear", "cosine", "1-sqrt"]))
def test_wsd_is_hf_wsd(max_lr, total, data, min_frac, up, down):
    decay = data.draw(st.integers(1, total))
    warm = data.draw(st.integers(0, total - decay))
    s = make_schedule("wsd", max_lr=max_lr, total_steps=total, warmup_steps=warm,
                      decay_steps=decay, min_lr=max_lr * min_frac, warmup_shape=up,
                      decay_shape=down)
    check(s, hf_trace(lambda o: hf.get_wsd_schedule(
        o, warm, decay, num_training_steps=total, warmup_type=up, decay_type=down,
        min_lr_ratio=(max_lr * min_frac) / max_lr), max_lr, total + 20))


def timm_trace(kwargs: dict, max_lr: float, n: int) -> np.ndarray:
    """lr before the first update, then after step_update(num_updates=k), k = 1..n-1."""
    opt = _optimizer(max_lr)
    sched = CosineLRScheduler(opt, t_in_epochs=False, **kwargs)
    out = [opt.param_groups[0]["lr"]]
    for k in range(1, n):
        opt.step()
        sched.step_update(num_updates=k)
        out.append(opt.param_groups[0]["lr"])
    return np.array(out)


@settings(max_examples=40, deadline=None)
@example(max_lr=1.0, t0=3, min_frac=0.0, warm=0, init_frac=0.0, prefix=False,
         mul=1.0000000000000002, decay=1.0, limit=2, k=1.5, noise=None, pct=1.0, std=1.0,
         seed=0)  # timm itself raises (a complex power); ours refuses with a ScheduleError
@given(max_lr=lrs, t0=st.integers(1, 120), min_frac=st.floats(0.0, 0.5),
       warm=st.integers(0, 40), init_frac=st.floats(0.0, 1.0), prefix=st.booleans(),
       mul=st.one_of(st.just(1.0), st.floats(1.0, 3.0)), decay=st.floats(0.1, 1.0),
       limit=st.integers(1, 4), k=st.one_of(st.just(1.0), st.floats(0.5, 3.0)),
       noise=st.one_of(st.none(), st.tuples(st.integers(0, 100), st.one_of(
           st.none(), st.integers(1, 100)))),
       pct=st.floats(0.1, 1.0), std=st.floats(0.1, 1.5), seed=st.integers(0, 1000))
def test_timm_cosine_is_timm_cosine_lr_scheduler(max_lr, t0, min_frac, warm, init_frac, prefix,
                                                  mul, decay, limit, k, noise, pct, std, seed):
    assume(pct / std >= 0.05)
    ours = {"max_lr": max_lr, "t_initial": t0, "min_lr": max_lr * min_frac, "warmup_t": warm,
            "warmup_lr_init": max_lr * init_frac, "warmup_prefix": prefix, "cycle_mul": mul,
            "cycle_decay": decay, "cycle_limit": limit, "k_decay": k, "noise_pct": pct,
            "noise_std": std, "noise_seed": seed}
    theirs = {"t_initial": t0, "lr_min": max_lr * min_frac, "warmup_t": warm,
              "warmup_lr_init": max_lr * init_frac, "warmup_prefix": prefix, "cycle_mul": mul,
              "cycle_decay": decay, "cycle_limit": limit, "k_decay": k, "noise_pct": pct,
              "noise_std": std, "noise_seed": seed}
    if noise is not None:
        start, end = noise
        ours.update(noise_range_t=start, noise_range_end=None if end is None else start + end)
        theirs["noise_range_t"] = start if end is None else (start, start + end)
    try:
        expected = timm_trace(theirs, max_lr, 3 * t0 + warm + 10)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        expected = None  # timm cannot compute it (e.g. a complex power past a cycle's end)
    if expected is None or not np.isfinite(expected).all():
        with pytest.raises(ScheduleError):  # ours refuses what timm cannot compute, by name
            make_schedule("timm_cosine", **ours)
        return
    s = make_schedule("timm_cosine", **ours)
    check(s, expected)


@pytest.mark.parametrize(("policy", "params", "needle"), [
    ("warmup_linear", {"max_lr": 0.1, "total_steps": 10, "warmup_steps": 11}, "inside total"),
    ("warmup_cosine", {"max_lr": 0.1, "total_steps": 10, "warmup_steps": 1, "min_lr": 0.2},
     "min_lr"),
    ("polynomial", {"max_lr": 0.1, "total_steps": 10, "end_lr": 0.1}, "end_lr"),
    ("polynomial", {"max_lr": 0.1, "total_steps": 10, "warmup_steps": 10}, "no steps"),
    ("inverse_sqrt", {"max_lr": 0.1, "warmup_steps": 10, "timescale": 0}, "timescale"),
    ("wsd", {"max_lr": 0.1, "total_steps": 10, "warmup_steps": 5, "decay_steps": 6},
     "warmup_steps \\+ decay_steps"),
    ("wsd", {"max_lr": 0.1, "total_steps": 10, "warmup_steps": 5, "decay_steps": 2,
             "decay_shape": "exp"}, "decay_shape"),
    ("timm_cosine", {"max_lr": 0.1, "t_initial": 10, "cycle_mul": 0.5}, "cycle_mul"),
    ("timm_cosine", {"max_lr": 0.1, "t_initial": 10, "noise_range_end": 5}, "noise_range_t"),
    ("timm_cosine", {"max_lr": 0.1, "t_initial": 10, "noise_pct": 0.01}, "noise_pct"),
])
def test_bad_configs_name_the_parameter(policy, params, needle):
    with pytest.raises(ScheduleError, match=needle):
        make_schedule(policy, **params)
