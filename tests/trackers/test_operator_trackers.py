"""The operator's trackers (`clr_core.trackers.operator`): a job asks for a role, never a
place; an unknown or unset role is refused by name; a job's runs are written to the place
the operator set (MLflow read back with its own client, offline)."""

from __future__ import annotations

import numpy as np
import pytest
from tbparse import SummaryReader

from clr_core.errors import ConfigError
from clr_core.jobs.runners import never_stop, no_events, run_train_job
from clr_core.runs.reports import TrainReport
from clr_core.trackers import TensorBoardSink
from clr_core.trackers.operator import offered, operator_sinks, split_log_to


@pytest.fixture
def places(monkeypatch, tmp_path):
    monkeypatch.setenv("CLR_STUDIO_TRACKER_TENSORBOARD_DIR", str(tmp_path / "tb"))
    monkeypatch.delenv("CLR_STUDIO_TRACKER_MLFLOW_URI", raising=False)
    return tmp_path


def test_a_role_the_operator_set_is_taken_and_anything_else_refused_by_name(places):
    config, roles = split_log_to({"num_iter": 5, "log_to": ["tensorboard", "tensorboard"]})
    assert (config, roles) == ({"num_iter": 5}, ["tensorboard"])
    assert split_log_to({"num_iter": 5}) == ({"num_iter": 5}, [])
    with pytest.raises(ConfigError, match="MLflow is not set up on this server") as caught:
        split_log_to({"log_to": ["mlflow"]})
    assert "CLR_STUDIO_TRACKER_MLFLOW_URI" in str(caught.value)
    for bad in (["/tmp/elsewhere"], "tensorboard", [{"dir": "/tmp"}]):
        with pytest.raises(ConfigError) as caught:
            split_log_to({"log_to": bad})
        assert str(places) not in str(caught.value)  # the place is never said
    assert [o.role for o in offered()] == ["tensorboard"]


def test_a_label_cannot_lead_out_of_the_log_folder(places):
    (sink,) = operator_sinks(["tensorboard"], label="../../etc/passwd")
    sink.open("range_test", {}, "x", [])
    sink.close("done", None)
    assert sink.run_dir.parent == places / "tb"
    dots = TensorBoardSink(places / "tb", run_name="..")
    dots.open("range_test", {}, "..", [])
    dots.close("done", None)
    assert dots.run_dir.parent == places / "tb"


def test_a_training_job_logs_each_curve_to_the_operators_tensorboard(places):
    config = {"num_iter": 8, "eval_every": 4, "log_to": ["tensorboard"],
              "schedule": {"policy": "one_cycle", "max_lr": 0.1, "total_steps": 8},
              "runs": [{"label": "1cycle"},
                       {"label": "fixed", "schedule": {"policy": "fixed", "lr": 0.01}}]}
    report = TrainReport.from_dict(run_train_job(config, no_events, never_stop))
    folders = {p.name.rsplit("-", 2)[0]: p for p in (places / "tb").iterdir()}
    assert set(folders) == {"1cycle", "fixed"}  # each curve its own run, named after it
    for curve in report.curves:
        frame = SummaryReader(str(folders[curve.label]), pivot=False).scalars
        got = {tag: g.sort_values("step") for tag, g in frame.groupby("tag")}
        assert got["train/loss"]["step"].tolist() == curve.train.iterations
        np.testing.assert_allclose(got["train/loss"]["value"], curve.train.losses, rtol=1e-6)
        np.testing.assert_allclose(got["train/lr/group_0"]["value"], curve.train.lrs, rtol=1e-6)
        assert got["train/val_loss"]["step"].tolist() == [4, 8]
    assert "log_to" not in report.config  # the saved run's settings are the training's
