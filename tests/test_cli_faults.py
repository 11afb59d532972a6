"""The CLI's one error boundary: any exception is one line naming its cause (--debug for
the traceback), output paths are opened for writing before the run, and the summary names
the data it really used."""

from __future__ import annotations

import sys
import textwrap

import pytest

from clr_core import cli
from clr_core.setup import plugins

FACTORIES = textwrap.dedent('''
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    def wide_model():
        return nn.Sequential(nn.Linear(20, 2))   # the data below has 6 features

    def small_model():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 3))

    def make_data():
        x = torch.randn(128, 6)
        return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=32)
''')


@pytest.fixture
def in_process(tmp_path, monkeypatch):
    (tmp_path / "fault_factories.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("CLR_STUDIO_DB", str(tmp_path / "runs.db"))
    monkeypatch.setattr(plugins, "_REGISTRY", {kind: {} for kind in plugins.KINDS})
    yield tmp_path
    sys.modules.pop("fault_factories", None)


def test_a_model_on_the_wrong_data_is_one_line_naming_the_cause(in_process, capsys):
    args = ["range-test", "--num-iter", "10", "--no-record",
            "--model", "fault_factories:wide_model", "--data", "fault_factories:make_data"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: RuntimeError: mat1 and mat2 shapes cannot be multiplied")
    assert "--debug shows the traceback" in err
    assert cli.main([*args, "--debug"]) == 2
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_a_max_lr_of_1e300_is_a_message_before_the_run(in_process, capsys):
    assert cli.main(["train", "--max-lr", "1e300", "--num-iter", "5", "--no-record"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "the schedule's LR is" in err and "float32" in err


def test_an_unwritable_json_path_is_refused_before_the_run(in_process, capsys):
    assert cli.main(["range-test", "--num-iter", "10", "--no-record",
                     "--json", "/proc/out.json"]) == 2
    captured = capsys.readouterr()
    assert "--json /proc/out.json cannot be written" in captured.err
    assert "nothing was run" in captured.err and "range test on" not in captured.out


def test_a_writable_json_path_is_left_as_it_was_until_written(in_process, capsys):
    target = in_process / "new" / "deeper" / "out.json"
    cli.check_json_target(target)
    assert not target.exists() and not (in_process / "new").exists()


def test_the_summary_names_the_data_given_with_data(in_process, capsys):
    assert cli.main(["range-test", "--num-iter", "10", "--no-record",
                     "--model", "fault_factories:small_model",
                     "--data", "fault_factories:make_data"]) == 0
    out = capsys.readouterr().out
    assert "range test on fault_factories:make_data" in out and "digits" not in out
