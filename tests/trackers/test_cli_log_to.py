"""``clr-studio ... --log-to``: the commands of docs/trackers.md ("From the command line")
run as written, in a fresh folder, and what they wrote is read back with the real tbparse
and MLflow client, offline; a tracker that is none of them is a usage error."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
from mlflow.tracking import MlflowClient
from tbparse import SummaryReader

from clr_core.cli import main
from clr_core.trackers.sinks import mlflow_uri

DOC = Path(__file__).resolve().parents[2] / "docs" / "trackers.md"


def _commands() -> list[str]:
    section = DOC.read_text(encoding="utf-8").split("## From the command line", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.startswith("clr-studio ")]


def _scalars(path: Path) -> dict:
    frame = SummaryReader(str(path), pivot=False).scalars
    return {tag: g.sort_values("step") for tag, g in frame.groupby("tag")}


def test_the_docs_commands_write_to_tensorboard_and_mlflow(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    range_test, train = _commands()
    assert main([*shlex.split(range_test)[1:], "-q", "--json", "rt.json"]) == 0
    assert main([*shlex.split(train)[1:], "-q", "--json", "train.json"]) == 0
    rt = json.loads(Path("rt.json").read_text())["range_test"]
    runs = sorted(p for p in Path("runs/tb").iterdir())
    assert len(runs) == 2  # the range test's folder and the training's
    by_kind = {next(iter(_scalars(p))).split("/")[0]: _scalars(p) for p in runs}
    got = by_kind["range_test"]
    np.testing.assert_allclose(got["range_test/loss"]["value"], rt["losses"], rtol=1e-6)
    np.testing.assert_allclose(got["range_test/lr"]["value"], rt["lrs"], rtol=1e-6)
    train_run = json.loads(Path("train.json").read_text())["runs"][0]["train"]
    np.testing.assert_allclose(by_kind["train"]["train/lr"]["value"], train_run["lrs"],
                               rtol=1e-6)
    assert by_kind["train"]["train/val_loss"]["step"].tolist() == [15, 30]
    # the range test's MLflow run, in ./mlruns
    client = MlflowClient(tracking_uri=mlflow_uri(Path("mlruns"))[0])
    (exp,) = [e for e in client.search_experiments() if e.name == "CLR Studio"]
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    loss = sorted(client.get_metric_history(run.info.run_id, "loss"), key=lambda m: m.step)
    np.testing.assert_allclose([m.value for m in loss], rt["losses"], rtol=1e-12)


def test_a_tracker_that_is_none_of_them_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["range-test", "--num-iter", "5", "--log-to", "wandb:x"]) == 2
    assert "--log-to 'wandb:x': say tensorboard:DIR" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written
