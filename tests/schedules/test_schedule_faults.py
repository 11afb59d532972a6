"""Issue 29's held-out probe, the schedules' part: a trace too long to hold, a scheduler
passed where an optimizer goes, and parameters nested 10,000 deep are `ScheduleError`s
that say what to do, never a MemoryError, a TypeError or a RecursionError."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clr_core.errors import ScheduleError
from clr_core.schedules import from_dict, make_schedule
from clr_core.schedules.base import MAX_DEPTH
from clr_core.validation import MAX_ITERATIONS


@pytest.fixture
def tri():
    return make_schedule("triangular", base_lr=1e-3, max_lr=1e-2, step_size_up=10)


@pytest.mark.parametrize("n", [MAX_ITERATIONS + 1, 10**13])
def test_a_trace_longer_than_the_longest_run_is_refused_not_allocated(tri, n):
    with pytest.raises(ScheduleError, match="at most 10,000,000 values"):
        tri.trace(n)
    with pytest.raises(ScheduleError, match="at most 10,000,000 values"):
        tri.trace(n, start=5)
    cyclic = make_schedule("triangular", base_lr=1e-3, max_lr=1e-2, step_size_up=10,
                           base_momentum=0.85, max_momentum=0.95)
    with pytest.raises(ScheduleError, match="at most 10,000,000 values"):
        cyclic.momentum_trace(n)


def test_the_longest_trace_still_works_and_a_far_window_of_it_too(tri):
    out = tri.trace(MAX_ITERATIONS)
    assert out.shape == (MAX_ITERATIONS,)
    np.testing.assert_allclose(tri.trace(5, start=10**13), tri.lr(np.arange(10**13, 10**13 + 5)))


def test_to_torch_with_a_scheduler_names_the_optimizer_it_needs(tri):
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, 10)
    with pytest.raises(ScheduleError, match="needs a torch.optim.Optimizer, got StepLR.*"
                                            "scheduler.optimizer"):
        tri.to_torch(sched)
    with pytest.raises(ScheduleError, match="got str"):
        tri.to_torch("sgd")
    tri.to_torch(sched.optimizer)  # what the message says to pass works
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3)


def _nested(depth, leaf):
    for _ in range(depth):
        leaf = [leaf]
    return leaf


@pytest.mark.parametrize("depth", [MAX_DEPTH, 10_000])
def test_phases_nested_too_deep_are_a_schedule_error_not_a_recursion_error(depth):
    phase = {"shape": "linear", "start": 0.0, "end": 0.01, "steps": 100}
    with pytest.raises(ScheduleError, match="nest more than 8 levels"):
        from_dict({"policy": "phases", "phases": _nested(depth, phase), "total_steps": 100})
    deep_dict = phase
    for _ in range(depth):
        deep_dict = {"start": deep_dict}
    with pytest.raises(ScheduleError, match="nest more than 8 levels"):
        make_schedule("triangular", base_lr=deep_dict, max_lr=0.01)


def test_phases_as_designed_nest_well_inside_the_limit():
    s = from_dict({"policy": "phases", "total_steps": 100,
                   "phases": [{"shape": "linear", "start": 0.0, "end": 0.01, "steps": 50},
                              {"shape": "cos", "start": 0.01, "end": 0.0, "steps": 50}]})
    assert s.lr(50) == pytest.approx(0.01)


def test_a_designer_link_with_phases_nested_10000_deep_is_a_schedule_error():
    from clr_core.schedules import POLICIES
    from ui.designer_link import _parse

    spec = next(p for p in POLICIES["phases"].params if p.name == "phases")
    with pytest.raises(ScheduleError, match="JSON list of phases"):
        _parse("phases", spec, "[" * 10_000 + "]" * 10_000)
