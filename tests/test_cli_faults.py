"""The CLI's one error boundary: any exception is one line naming its cause (--verbose for
the traceback), output paths are opened for writing before the run, and the summary names
the data it really used. Exit status: 1 for a run that failed, 2 only for bad usage."""

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
    """The user's model raising mid-run is a failed run (1), not bad usage (2)."""
    args = ["range-test", "--num-iter", "10", "--no-record",
            "--model", "fault_factories:wide_model", "--data", "fault_factories:make_data"]
    assert cli.main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: RuntimeError: mat1 and mat2 shapes cannot be multiplied")
    assert "--verbose shows the traceback" in err
    for verbose in ("--verbose", "--debug"):  # --debug: the earlier name, kept as an alias
        assert cli.main([*args, verbose]) == 1
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


def test_a_diverged_training_exits_1_after_printing_its_table(in_process, capsys):
    """The designed run leaving the finite numbers is a failed run; its table is still shown."""
    assert cli.main(["train", "--max-lr", "1e4", "--num-iter", "30", "--eval-every", "10",
                     "--no-record"]) == 1
    captured = capsys.readouterr()
    assert "designed: one_cycle" in captured.out
    err = captured.err.strip().splitlines()[-1]
    assert err.startswith("error: the run 'designed: one_cycle' failed: ")
    assert ("diverged" in err or "non-finite loss" in err) and "Traceback" not in captured.err


def test_a_diverging_baseline_does_not_fail_the_training(in_process, capsys):
    """Baselines are comparisons: the designed run holding is a success, whatever they do."""
    assert cli.main(["train", "--max-lr", "0.05", "--num-iter", "20", "--eval-every", "10",
                     "--baseline", "fixed", "--no-record"]) == 0


@pytest.mark.parametrize("args", [
    ["range-test", "--no-such-flag"],
    ["range-test", "--num-iter", "ten"],
    ["range-test", "--quiet", "--verbose"],
    ["train", "--baseline", "nope"],
    ["no-such-command"],
])
def test_bad_usage_is_argparses_exit_status_2(in_process, capsys, args):
    with pytest.raises(SystemExit) as exit_:
        cli.main(args)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_the_version_and_the_help_name_the_command_typed(capsys, monkeypatch):
    from clr_core import __version__

    assert cli.prog_name("/home/me/.venv/bin/clr-studio") == "clr-studio"
    assert cli.prog_name("C:/env/Scripts/clr-studio.exe") == "clr-studio"
    assert cli.prog_name("/repo/clr_core/__main__.py") == "python -m clr_core"
    monkeypatch.setattr(sys, "argv", ["/home/me/.venv/bin/clr-studio", "--version"])
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"clr-studio {__version__}"
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert capsys.readouterr().out.startswith("usage: clr-studio train ")


def test_app_starts_streamlit_with_the_scripts_options_and_passes_the_rest(monkeypatch):
    """`clr-studio app` becomes `streamlit run <the checkout's app.py>` with scripts/app.sh's
    option, the user's own after it (the real start is tests/test_package.py's)."""
    from pathlib import Path

    from clr_core import launch

    class Exec(Exception):
        """What os.execv would do: the process is Streamlit from here on."""

    def execv(path, argv):
        raise Exec(path, argv)

    monkeypatch.setattr(launch.os, "name", "posix")
    monkeypatch.setattr(launch.os, "execv", execv)
    with pytest.raises(Exec) as started:
        cli.main(["app", "--server.port", "8765", "--server.headless=true"])
    path, argv = started.value.args
    root = Path(__file__).resolve().parents[1]
    assert path == sys.executable
    assert argv == [sys.executable, "-m", "streamlit", "run", str(root / "app.py"),
                    "--browser.gatherUsageStats", "false", "--server.port", "8765",
                    "--server.headless=true"]
    script = (root / "scripts" / "app.sh").read_text()
    assert "clr-studio app" in script  # the script and the command start it one way
