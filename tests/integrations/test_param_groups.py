"""Param groups as users write them: a factory may return ``(model, param_groups)``, their
LR ratios survive the range test, and the result (CLI, pages) gives every group's LR at the
recommendation."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from clr_core.engine.range_test import run_range_test
from clr_core.engine.results import RangeTestResult
from clr_core.errors import ConfigError
from clr_core.setup.optim import make_optimizer, scaled_groups
from clr_core.setup.plugins import PluginError, make_model_groups, register_spec

ROOT = Path(__file__).resolve().parents[2]

FACTORIES = textwrap.dedent('''
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    def make_model():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 2))
        return model, [{"params": model[0].parameters(), "lr": 1e-3},
                       {"params": model[2].parameters(), "lr": 1e-2, "weight_decay": 0.0}]

    def bad_groups():
        return nn.Linear(2, 2), ["not a group"]

    def make_data():
        g = torch.Generator().manual_seed(0)
        x = torch.randn(512, 20, generator=g)
        return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=32)
''')


def test_scaled_groups_keep_the_written_ratios_and_the_other_keys():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    groups = scaled_groups([{"params": a.parameters(), "lr": 1e-4},
                            {"params": b.parameters(), "lr": 1e-3, "weight_decay": 0.0},
                            {"params": []}], 0.5)
    assert [g["lr"] for g in groups] == pytest.approx([0.05, 0.5, 0.5])
    assert groups[1]["weight_decay"] == 0.0 and len(groups[0]["params"]) == 2
    opt = make_optimizer("sgd", groups[:2], lr=0.5, weight_decay=1e-4)
    assert [g["weight_decay"] for g in opt.param_groups] == [1e-4, 0.0]
    with pytest.raises(ConfigError, match="param group's lr"):
        scaled_groups([{"params": a.parameters(), "lr": -1.0}], 0.1)


@given(st.lists(st.floats(1e-6, 10.0), min_size=1, max_size=5), st.floats(1e-5, 1.0))
def test_scaled_groups_put_the_largest_at_the_lr_and_keep_every_ratio(written, lr):
    groups = scaled_groups([{"params": [], "lr": w} for w in written], lr)
    got = [g["lr"] for g in groups]
    assert max(got) == pytest.approx(lr)
    top = max(written)
    assert got == pytest.approx([lr * w / top for w in written])


def test_a_factory_returning_param_groups(tmp_path, monkeypatch):
    (tmp_path / "grouped_models.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    model, groups = make_model_groups(register_spec("model", "grouped_models:make_model").name)
    assert isinstance(model, nn.Module) and [g["lr"] for g in groups] == [1e-3, 1e-2]
    with pytest.raises(PluginError, match="list of dicts"):
        make_model_groups(register_spec("model", "grouped_models:bad_groups").name)


def test_the_range_test_gives_every_group_its_lr_at_the_recommendation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 1e-5},
                           {"params": model[2].parameters(), "lr": 1e-4}], momentum=0.9)
    x = torch.randn(512, 20)
    batches = [(x[i:i + 32], (x[i:i + 32, 0] > 0).long()) for i in range(0, 512, 32)]
    seen = []
    result = run_range_test(model, opt, nn.CrossEntropyLoss(), batches, num_iter=40, seed=0,
                            emit=lambda e: seen.append([g["lr"] for g in opt.param_groups]))
    assert result.reference_group == 1 and result.group_scales == pytest.approx([0.1, 1.0])
    assert all(lo == pytest.approx(hi / 10) for lo, hi in seen)  # the ratio held every step
    rec = result.suggestions["recommended"]
    assert result.group_lrs(rec.max_lr) == pytest.approx([rec.max_lr / 10, rec.max_lr])
    back = RangeTestResult.from_dict(result.to_dict())
    assert back.group_scales == result.group_scales
    assert RangeTestResult.from_dict({**result.to_dict(), "group_scales": None}).group_lrs(2.0) \
        == [2.0]


def test_the_cli_range_tests_a_grouped_factory_and_prints_each_group(tmp_path):
    (tmp_path / "grouped_models.py").write_text(FACTORIES)
    done = subprocess.run(
        [sys.executable, "-m", "clr_core", "range-test", "--model", "grouped_models:make_model",
         "--data", "grouped_models:make_data", "--num-iter", "40", "--device", "cpu"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": f"{ROOT}:{tmp_path}", "PATH": "/usr/bin:/bin",
             "CLR_STUDIO_DB": str(tmp_path / "runs.db")})
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if "per-group LRs" in x)
    lo, hi = (float(v) for v in [p.split()[-1] for p in line.split(":", 1)[1].split(",")])
    assert lo == pytest.approx(hi / 10, rel=0.01)
