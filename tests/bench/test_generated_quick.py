"""The generated benchmark's --quick slice: two tiny tasks (a tabular MLP and an autoencoder)
trained for real on 3 grid peaks, one seed, one range test, and Confirm at 1 training."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    sys.path.insert(0, str(ROOT / "bench"))  # the bench's modules import their siblings
    spec = importlib.util.spec_from_file_location("gen_bench", ROOT / "bench" / "gen_bench.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_slice_reports_every_rule_and_confirm_and_reuses_its_cache(tmp_path, capsys):
    bench = _bench()
    cache, out = tmp_path / "cache.json", tmp_path / "out.json"
    assert bench.main(["--quick", "--cache", str(cache), "--json", str(out)]) == 0
    first = json.loads(out.read_text())
    summary = first["summary"]
    assert {"recommended", "valley", "confirm-1"} <= set(summary)
    for row in summary.values():
        assert row["n"] == 2 and 0.0 <= row["share"] <= 1.0
        assert math.isfinite(row["loss_mean"])  # both quick tasks are scored by their loss
    # Confirm at 1 training: 8 peaks at an eighth of the budget each, exactly one training
    assert summary["confirm-1"]["cost"] == 1.0
    for task in first["tasks"]:
        for row in task["methods"].values():
            # a regret is measured against the cross-fitted best of the same grid
            assert row["within"] == (row["regret"] <= 2.0)
    assert first["trained"] > 0
    # a rerun reads every training from the cache: nothing is trained again
    assert bench.main(["--quick", "--cache", str(cache), "--json", str(out)]) == 0
    again = json.loads(out.read_text())
    assert again["trained"] == 0
    assert again["summary"] == summary
    assert "within tol" in capsys.readouterr().out
