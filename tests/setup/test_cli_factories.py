"""`python -m clr_core range-test|train --model MODULE:FUNCTION --data MODULE:FUNCTION`:
your own model and data from a terminal, recorded in the run store the app reads; a
factory that is missing or returns the wrong thing is a message naming it, never a
traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clr_core import cli
from clr_core.runs.store import RunStore
from clr_core.setup import plugins

ROOT = Path(__file__).resolve().parents[2]

FACTORIES = textwrap.dedent('''
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset


    def make_model():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))


    def _xy(n, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, 6, generator=g)
        return x, (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()


    def make_data():
        return (DataLoader(TensorDataset(*_xy(256, 0)), batch_size=32, shuffle=True),
                DataLoader(TensorDataset(*_xy(64, 1)), batch_size=64))


    def make_dict_data():
        x, y = _xy(256, 0)
        return [{"features": x[i:i + 32], "label": y[i:i + 32]} for i in range(0, 256, 32)]


    def from_dict(batch):
        return batch["features"], batch["label"]


    def make_string():
        return "not a model"


    def make_number():
        return 42


    def broken():
        raise RuntimeError("the GPU box is down")
''')


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "my_factories.py").write_text(FACTORIES)
    return tmp_path


@pytest.fixture
def in_process(workdir, monkeypatch):
    """`cli.main` in this process (fast), with the factories importable and a fresh
    plugin registry and store."""
    monkeypatch.syspath_prepend(str(workdir))
    monkeypatch.setenv("CLR_STUDIO_DB", str(workdir / "runs.db"))
    monkeypatch.setattr(plugins, "_REGISTRY", {kind: {} for kind in plugins.KINDS})
    yield workdir
    sys.modules.pop("my_factories", None)


def _cli(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(workdir)]),
           "CLR_STUDIO_DB": str(workdir / "runs.db")}
    return subprocess.run([sys.executable, "-m", "clr_core", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_range_test_on_your_model_and_data_is_recorded(workdir):
    out = workdir / "rt.json"
    proc = _cli(workdir, "range-test", "--model", "my_factories:make_model",
                "--data", "my_factories:make_data", "--num-iter", "40", "--end-lr", "5",
                "--val-every", "10", "--record", "my first", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "valley" in proc.stdout and "recorded as run #" in proc.stderr
    result = json.loads(out.read_text())
    assert result["config"]["model"] == "my_factories:make_model"
    assert result["iters_per_epoch"] == 8  # the user's loader: 256 / 32
    (summary,) = RunStore(workdir / "runs.db").list_runs()
    run = RunStore(workdir / "runs.db").load_run(summary.id)
    assert (run.kind, run.label, run.status) == ("range_test", "my first", "done")
    assert run.dataset == "my_factories:make_data"
    assert run.result["range_test"] == result["range_test"]
    assert len(run.result["range_test"]["accuracies"]) >= 4  # the (train, val) pair's val
    assert [e["iteration"] for e in run.events if e["kind"] == run.events[0]["kind"]][:3] \
        == [0, 1, 2]


def test_train_with_dict_batches_a_loss_and_no_record(workdir):
    proc = _cli(workdir, "train", "--model", "my_factories:make_model",
                "--data", "my_factories:make_dict_data",
                "--batch-to-inputs", "my_factories:from_dict",
                "--loss", "torch.nn:CrossEntropyLoss", "--num-iter", "20", "--eval-every", "10",
                "--no-record")
    assert proc.returncode == 0, proc.stderr
    assert "designed: one_cycle" in proc.stdout and "recorded" not in proc.stderr
    assert RunStore(workdir / "runs.db").list_runs() == []


@pytest.mark.parametrize("args, message", [
    (("--model", "no_such_module:make_model"), "cannot import 'no_such_module' for --model"),
    (("--model", "my_factories:nope"), "module 'my_factories' has no 'nope'"),
    (("--data", "my_factories"), "'my_factories' is not MODULE:FUNCTION"),
    (("--data", "my_factories:make_data", "--model", "my_factories:make_string"),
     "my_factories:make_string returned str, not a torch.nn.Module"),
    (("--model", "my_factories:make_model", "--data", "my_factories:make_number"),
     "my_factories:make_number returned int; a data factory returns a train loader"),
    (("--model", "my_factories:broken", "--data", "my_factories:make_data"),
     "my_factories:broken raised RuntimeError: the GPU box is down"),
    (("--data", "my_factories:make_data"), "built-in model 'mlp' is sized from a built-in"),
    (("--loss", "my_factories:missing"), "has no 'missing'"),
])
def test_a_bad_factory_is_a_message_naming_it(in_process, capsys, args, message):
    assert cli.main(["range-test", "--num-iter", "10", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_built_in_names_keep_working_and_are_recorded(workdir):
    proc = _cli(workdir, "range-test", "--model", "logreg", "--num-iter", "20")
    assert proc.returncode == 0, proc.stderr
    (run,) = RunStore(workdir / "runs.db").list_runs()
    assert (run.label, run.status, run.dataset) == ("range test · digits", "done", "digits")
    proc = _cli(workdir, "range-test", "--model", "nope", "--num-iter", "20")
    assert proc.returncode == 2 and "model must be one of" in proc.stderr
