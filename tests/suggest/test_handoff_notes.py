"""The note a hand-off to the designer carries speaks the schedule's own terms (issue 32,
item 14): a warm-up + cosine or WSD run has no half cycles."""

from __future__ import annotations

import pytest

from clr_core.schedules import from_dict
from clr_core.suggest.handoff import suggestion_to_schedule
from clr_core.suggest.types import Suggestion

S = Suggestion("recommended", 0.001, 0.006, "why", "test", 1, 0.006, 1.0)


@pytest.mark.parametrize("policy", ["warmup_cosine", "wsd"])
def test_a_run_without_cycles_is_described_without_half_cycles(policy):
    config, note = suggestion_to_schedule(S, policy, 22)
    assert "half cycle" not in note
    sched = from_dict(config)
    assert f"one run of {sched.planned_steps} steps (8 epochs of 22 iterations)" in note
    assert f"{config['warmup_steps']} of them warming up" in note


def test_a_cyclical_hand_off_still_names_its_step_size():
    config, note = suggestion_to_schedule(S, "triangular", 22)
    assert f"step size {config['step_size_up']} (4 epochs of 22 iterations)" in note
