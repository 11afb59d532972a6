"""The recommendation moved to the schedule that trains: WSD holds the peak, so its peak
is lowered to keep 1cycle's mean LR; warm-up + cosine and 1cycle keep it."""

from __future__ import annotations

import pytest

from clr_core.suggest.schedule_fit import for_schedule, mean_lr_fraction
from clr_core.suggest.types import Suggestion

S = Suggestion("recommended", 0.01 / 6, 0.01, "why.", "src", 3, 0.01, 1.0, low=0.005, high=0.02)


def test_mean_fractions():
    assert mean_lr_fraction({"policy": "one_cycle", "max_lr": 1.0, "total_steps": 300}) == \
        pytest.approx(0.503, abs=0.01)
    assert mean_lr_fraction({"policy": "warmup_cosine", "max_lr": 3e-3, "total_steps": 300,
                             "warmup_steps": 30}) == pytest.approx(0.5, abs=0.01)
    assert mean_lr_fraction({"policy": "wsd", "max_lr": 3e-3, "total_steps": 300,
                             "warmup_steps": 30, "decay_steps": 60}) == pytest.approx(0.82, abs=0.01)


def test_wsd_lowers_the_peak_and_its_band_cosine_keeps_it():
    wsd = for_schedule(S, {"policy": "wsd", "max_lr": 1.0, "total_steps": 200,
                           "warmup_steps": 20, "decay_steps": 40})
    factor = wsd.max_lr / S.max_lr
    assert factor == pytest.approx(0.503 / 0.82, rel=0.03)
    assert wsd.low == pytest.approx(S.low * factor) and wsd.high == pytest.approx(S.high * factor)
    assert wsd.base_lr == pytest.approx(S.base_lr * factor) and "wsd" in wsd.explanation
    cos = {"policy": "warmup_cosine", "max_lr": 1.0, "total_steps": 200, "warmup_steps": 20}
    assert for_schedule(S, cos) is S
    assert for_schedule(S, {"policy": "one_cycle", "max_lr": 1.0, "total_steps": 200}) is S
