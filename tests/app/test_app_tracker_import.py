"""AppTest of the Runs page's "Import from TensorBoard or MLflow": a TensorBoard log folder
under an allowed root becomes a run that opens with its loss and LR curves, an MLflow run
likewise; a folder outside the allowed roots is refused with a message that names no
server path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from apptest_helpers import chart_traces, open_page, panel_traces
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from clr_core.range_test import run_range_test
from clr_core.runs.store import RunStore
from clr_core.trackers import MLflowSink


def _tb_log(folder, n=25):
    with SummaryWriter(str(folder / "version_0")) as w:
        for step in range(n):
            w.add_scalar("train_loss", 2.0 / (1 + step), step)
            w.add_scalar("lr-SGD", 0.001 * (step + 1), step)


def test_a_tensorboard_folder_is_imported_and_drawn(tmp_path):
    _tb_log(tmp_path / "tb")
    at = open_page("pages/runs.py")
    at.text_input(key="runs.import.tb_dir").set_value(str(tmp_path / "tb")).run()
    assert not at.exception, at.exception
    at.button(key="btn.runs.import.tb").click().run()
    assert not at.exception, at.exception
    new_id = at.session_state["runs.imported"]
    assert any(f"Imported as run #{new_id}" in s.value for s in at.success)
    run = RunStore().load_run(new_id)
    assert run.kind == "train" and "tb/version_0 in allowed folder" in run.config["imported"]
    assert str(tmp_path) not in str(run.config)  # the store keeps no server path
    loss = panel_traces(at, "runs.one.train-training", "training loss (log)")
    np.testing.assert_allclose(loss[0]["y"], [2.0 / (1 + s) for s in range(25)], rtol=1e-6)
    lr = panel_traces(at, "runs.one.train-training", "learning rate")
    np.testing.assert_allclose(lr[0]["y"], [0.001 * (s + 1) for s in range(25)], rtol=1e-6)


def test_the_imported_lr_is_overlaid_with_the_designed_schedule(tmp_path):
    from clr_core.schedules import make_schedule
    from clr_core.schedules.rules import fit_to_length
    from ui.designer_state import CURRENT

    _tb_log(tmp_path / "tb", n=40)
    designed = make_schedule("one_cycle", max_lr=0.05, total_steps=400).to_dict()
    at = open_page("pages/runs.py")
    at.session_state[CURRENT] = designed
    at.text_input(key="runs.import.tb_dir").set_value(str(tmp_path / "tb")).run()
    at.button(key="btn.runs.import.tb").click().run()
    assert not at.exception, at.exception
    imported, ours = chart_traces(at, "runs.import.overlay")
    np.testing.assert_allclose(imported["y"], [0.001 * (s + 1) for s in range(40)], rtol=1e-6)
    assert ours["name"] == "designed: one_cycle"
    fitted, _ = fit_to_length(designed, 40)  # the 400-step plan fitted to the run's 40
    from clr_core.schedules import from_dict

    np.testing.assert_allclose(ours["y"], from_dict(fitted).trace(40), rtol=1e-12)
    assert max(ours["y"]) == pytest.approx(0.05, rel=1e-3)


def test_an_mlflow_run_is_imported(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    data = [(torch.randn(16, 4), torch.randint(0, 2, (16,))) for _ in range(4)]
    sink = MLflowSink(tmp_path / "ml")
    result = run_range_test(model, torch.optim.SGD(model.parameters(), lr=1e-3),
                            nn.CrossEntropyLoss(), data, num_iter=15, record=sink)
    at = open_page("pages/runs.py")
    at.radio(key="runs.import.source").set_value("MLflow run").run()
    at.text_input(key="runs.import.mlflow_dir").set_value(str(tmp_path / "ml")).run()
    at.text_input(key="runs.import.mlflow_run").set_value(sink.run_id).run()
    at.button(key="btn.runs.import.mlflow").click().run()
    assert not at.exception, at.exception
    loss = panel_traces(at, "runs.one.train-training", "training loss (log)")
    np.testing.assert_allclose(loss[0]["y"], result.losses, rtol=1e-9)
    at.text_input(key="runs.import.mlflow_run").set_value("nosuchrun").run()
    at.button(key="btn.runs.import.mlflow").click().run()
    assert not at.exception and any("could not read run" in e.value for e in at.error)


def test_a_folder_outside_the_allowed_roots_is_refused_without_a_path():
    at = open_page("pages/runs.py")
    at.text_input(key="runs.import.tb_dir").set_value("/etc").run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("outside the folders this server reads data from" in e for e in errors)
    at.text_input(key="runs.import.tb_dir").set_value("../../../../root").run()
    assert not at.exception
    assert any("outside the folders" in e.value for e in at.error)
