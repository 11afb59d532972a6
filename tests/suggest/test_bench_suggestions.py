"""The suggestion benchmark's --quick slice, less its fine-tuning task: real 1cycle trainings
on fixed seeds, so the figures are reproducible and `recommended` must land within a point of
the grid optimum. (The slice's modern task, a CNN fine-tuned with AdamW, took half the
test's time; `python bench/suggestions.py --quick` runs and prints it, and the whole modern
battery's regret is in docs/benchmarks.md.)"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_suggestions", ROOT / "bench" / "suggestions.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_quick_slice_recommended_within_a_point_of_the_grid_optimum(tmp_path, capsys):
    bench = _bench()
    out = tmp_path / "quick.json"
    assert bench.main(["--quick", "--tasks", "digits-mlp,lstsq", "--no-cache", "--jobs", "1",
                       "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "recommended" in printed and "worst" in printed
    data = json.loads(out.read_text())
    assert [t["task"] for t in data["tasks"]] == ["digits-mlp-sgd-150", "lstsq-gd-150"]
    assert len(data["grid"]) >= 12 and min(data["grid"]) == pytest.approx(1e-4)
    assert max(data["grid"]) == pytest.approx(10)
    for task in [t for t in data["tasks"] if t["battery"] == "digits"]:
        best = max(task["grid"].values())
        assert task["best"] == pytest.approx(best)
        rec = task["methods"]["recommended"]
        assert rec["regret"] <= 1.0, (task["task"], rec)
        assert rec["regret"] == pytest.approx(best - rec["score"])
        assert rec["band_decades"] <= 1.0 + 1e-9 and rec["band_overlaps"]
        assert rec["band"][0] <= rec["max_lr"] <= rec["band"][1]
        for row in task["methods"].values():
            assert row["spread"] >= 0 and row["answered"] >= 1
    lstsq = next(t for t in data["tasks"] if t["task"].startswith("lstsq"))
    # the analytic limit: full-batch GD on least squares is stable below 2 / lambda_max
    assert lstsq["known_lr"] > 0 and math.isfinite(lstsq["known_lr"])
    assert data["summary"]["recommended"]["worst"] <= 1.0
    assert set(data["summaries"]) >= {"digits"} and "modern" not in data["summaries"]
    for task in data["tasks"]:  # the cross-fitted optimum is never above the raw best
        if task["metric"] == "acc":
            assert task["fair_best"] <= task["best"] + 1e-9


def test_cross_fitted_best_removes_the_winners_curse():
    """Sixteen LRs that all train equally well, measured with noise: the raw best of their
    means sits well above the truth; picking on half the seeds and scoring on the other
    half does not (averaged over many draws), and a real optimum is still found."""
    import numpy as np

    bench = _bench()
    rng = np.random.default_rng(0)
    raw, fair = [], []
    for _ in range(300):
        per_seed = {lr: list(90 + rng.normal(0, 1, 4)) for lr in range(16)}
        raw.append(max(np.mean(v) for v in per_seed.values()))
        fair.append(bench.cross_fitted_best(per_seed, max))
    assert np.mean(raw) - 90 > 0.8  # the curse: E[max of 16 N(0, 1/2)] is about 1.1
    assert abs(np.mean(fair) - 90) < 0.15
    peaked = {lr: [90 - abs(lr - 7) * 2 + e for e in rng.normal(0, 0.1, 4)] for lr in range(16)}
    assert bench.cross_fitted_best(peaked, max) == pytest.approx(90, abs=0.2)
    assert bench.cross_fitted_best({0: [2.5, 2.7], 1: [3.0, 3.1]}, min) == pytest.approx(2.6)


def test_a_regrets_standard_error_is_that_of_its_paired_seed_differences():
    """Seeds share an offset (one initialisation trains better at every LR): pairing each
    seed with itself at the grid's best removes it, so the error is that of the
    differences, not of the scores; a loss task's is in % of the best loss."""
    import numpy as np

    bench = _bench()
    acc = next(t for t in bench.TASKS if t.metric == "acc")
    loss = next(t for t in bench.TASKS if t.metric == "loss")
    rng = np.random.default_rng(1)
    offsets = rng.normal(0, 3, 8)  # large seed-to-seed spread, shared by both LRs
    at_best = list(95 + offsets)
    reached = list(95 + offsets - 0.5 + rng.normal(0, 0.2, 8))
    diffs = np.subtract(at_best, reached)
    se = bench.paired_se(acc, float(np.mean(at_best)), at_best, reached)
    assert se == pytest.approx(np.std(diffs, ddof=1) / math.sqrt(8))
    assert se < 0.2 < np.std(reached, ddof=1) / math.sqrt(8)
    assert bench.paired_se(acc, 95, [95, 96, 97], [94, 95, 96]) == pytest.approx(0)
    # loss: 2.0 -> 2.02 and 2.0 -> 2.04 are regrets of 1 % and 2 %
    assert bench.paired_se(loss, 2.0, [2.0, 2.0], [2.02, 2.04]) == pytest.approx(0.5)
    assert math.isnan(bench.paired_se(loss, 2.0, [2.0], [2.02]))
