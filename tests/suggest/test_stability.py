"""Seed stability: the summary arithmetic, and real repeated runs."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from clr_core.engine.range_test import run_range_test
from clr_core.engine.results import RangeTestResult
from clr_core.suggest.stability import StabilitySummary, summarize_stability
from clr_core.suggest.types import Suggestion


def fake(suggested: dict[str, tuple[float, float]], stop="completed") -> RangeTestResult:
    sugg = {
        k: Suggestion(k, base, mx, "why", "src", 0, mx, 1.0) for k, (base, mx) in suggested.items()
    }
    z = np.zeros(3)
    return RangeTestResult(z, z, z, False, stop, suggestions=sugg)


def test_summary_arithmetic():
    runs = [
        fake({"valley": (1e-3, 4e-3), "steep": (1e-2, 4e-2)}),
        fake({"valley": (2e-3, 8e-3)}),
        fake({"valley": (1e-4, 4e-4), "steep": (1e-2, 4e-2)}),
    ]
    out = summarize_stability(r.suggestions for r in runs)
    v = out["valley"]
    assert (v.n, v.n_runs) == (3, 3)
    assert v.median_max_lr == pytest.approx(4e-3) and v.median_base_lr == pytest.approx(1e-3)
    assert (v.min, v.max) == (4e-4, 8e-3)
    assert v.spread_decades == pytest.approx(math.log10(20))
    s = out["steep"]
    assert (s.n, s.spread_decades, s.median_max_lr) == (2, 0.0, pytest.approx(4e-2))
    assert summarize_stability([]) == {}


def test_even_count_median_is_geometric():
    out = summarize_stability([fake({"m": (1e-3, 1e-2)}).suggestions,
                               fake({"m": (1e-1, 1.0)}).suggestions])
    assert out["m"].median_max_lr == pytest.approx(0.1)
    d = json.loads(json.dumps(out["m"].to_dict()))
    assert StabilitySummary.from_dict(d) == out["m"]


def tiny_run(seed, should_stop=None):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    o = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(8, 3, generator=torch.Generator().manual_seed(99))
    data = []
    for _ in range(8):
        x = torch.randn(32, 8, generator=g)
        data.append((x, (x @ w).argmax(1)))
    return run_range_test(m, o, F.cross_entropy, data, start_lr=1e-4, end_lr=10.0,
                          num_iter=60, seed=seed, should_stop=should_stop)  # fmt: skip


def test_real_runs_under_three_seeds():
    results = [tiny_run(seed) for seed in (0, 1, 2)]
    summaries = summarize_stability(r.suggestions for r in results)
    assert summaries
    for name, s in summaries.items():
        assert s.method == name and 1 <= s.n <= 3 and s.n_runs == 3
        assert s.min <= s.median_max_lr <= s.max and s.spread_decades >= 0
        assert math.isfinite(s.median_base_lr) and s.median_base_lr < s.median_max_lr
        back = StabilitySummary.from_dict(json.loads(json.dumps(s.to_dict(), allow_nan=False)))
        assert back == s
    again = tiny_run(1)
    assert np.array_equal(again.losses, results[1].losses)  # a seed is a seed


def test_the_seed_sweep_table_names_each_rule_by_its_label():
    """Issue 32, item 15: the table showed raw keys (`steepest_gradient`, `min10_base6`)."""
    from clr_core.engine.smoothing import ema
    from clr_core.present.tables import stability_table
    from clr_core.suggest.recommend import RULE_LABELS
    from clr_core.suggest.registry import suggest_all

    lrs = np.logspace(-5, 1, 100)
    x = np.log10(lrs)
    runs = []
    for seed in range(3):
        raw = 2.3 - 1.8 / (1 + np.exp(-(x + 2) * 3)) + np.where(x > -0.3, np.expm1((x + 0.3) * 6), 0) \
            + 0.02 * np.random.default_rng(seed).standard_normal(lrs.size)
        runs.append(suggest_all(lrs, ema(raw, 0.98), raw=raw, num_iter=100))
    stability = summarize_stability(runs)
    table = stability_table(stability)
    assert set(table["rule"]) == {RULE_LABELS[m] for m in stability}
    assert not set(table["rule"]) & set(stability)  # no raw key left
    assert list(table["spread (decades)"]) == sorted(s.spread_decades for s in stability.values())


def test_the_seed_sweep_says_when_recommended_is_not_the_steadiest():
    """Issue 32, item 15: "trust a method whose spread is small" beside a table where
    ``recommended`` spread more than two others, with no word on it."""
    from clr_core.present.tables import stability_note

    def summary(name, lo, hi):
        return StabilitySummary(method=name, median_max_lr=math.sqrt(lo * hi), median_base_lr=lo / 6,
                                min=lo, max=hi, spread_decades=math.log10(hi / lo), n=3,
                                n_runs=3, max_lrs=(lo, math.sqrt(lo * hi), hi))

    table = {"recommended": summary("recommended", 0.01, 0.04),
             "valley": summary("valley", 0.001, 0.0015),
             "steepest_gradient": summary("steepest_gradient", 0.02, 0.03),
             "minimum": summary("minimum", 0.01, 0.1)}
    note = stability_note(table)
    assert f"moved {math.log10(4):.2f} decades" in note
    assert "fastai valley (0.18)" in note and "torch-lr-finder steepest gradient (0.18)" in note
    assert "fastai minimum" not in note  # it moved more
    table["recommended"] = summary("recommended", 0.02, 0.021)
    assert "moved least" in stability_note(table)
    assert stability_note({"valley": table["valley"]}) is None
