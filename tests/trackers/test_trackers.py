"""TensorBoard and MLflow against the real libraries, offline: a range test and a training
recorded to a TensorBoard log dir (its event file read back with tbparse) and to an MLflow
file store (read back with MlflowClient), and both imported into the run store as runs
whose loss and LR curves are the ones logged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from tbparse import SummaryReader
from torch import nn

from clr_core.errors import ClrError, ConfigError
from clr_core.range_test import run_range_test
from clr_core.runs.reports import report_from_dict
from clr_core.runs.store import RunStore
from clr_core.trackers import (
    MLflowSink,
    TensorBoardSink,
    import_mlflow,
    import_tensorboard,
    tensorboard_runs,
)
from clr_core.train import run_training

torch.set_num_threads(1)


def data(n=6, bs=16):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(6, 3, generator=g)
    out = []
    for _ in range(n):
        x = torch.randn(bs, 6, generator=g)
        out.append((x, (x @ w).argmax(1)))
    return out


def setup():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
    opt = torch.optim.SGD([{"params": m[0].parameters(), "lr": 1e-3},
                           {"params": m[2].parameters(), "lr": 1e-2}], momentum=0.9)
    return m, opt


def scalars(path):
    frame = SummaryReader(str(path), pivot=False).scalars
    return {tag: g.sort_values("step") for tag, g in frame.groupby("tag")}


def test_a_range_test_recorded_to_tensorboard_reads_back_with_tbparse(tmp_path):
    m, opt = setup()
    sink = TensorBoardSink(tmp_path / "tb")
    result = run_range_test(m, opt, nn.CrossEntropyLoss(), data(), start_lr=1e-4, end_lr=10,
                            num_iter=30, seed=0, record=["tb run", sink], store=tmp_path / "r.db")
    assert sink.run_dir.parent == tmp_path / "tb" and sink.run_dir.name == "tb-run"
    got = scalars(sink.run_dir)
    n = result.iterations
    loss = got["range_test/loss"]
    assert loss["step"].tolist() == list(range(n))
    np.testing.assert_allclose(loss["value"], result.losses, rtol=1e-6)  # float32 in the file
    np.testing.assert_allclose(got["range_test/smoothed_loss"]["value"], result.smoothed,
                               rtol=1e-6)
    np.testing.assert_allclose(got["range_test/lr"]["value"], result.lrs, rtol=1e-6)
    # every group: the head (group 1) is swept, the body kept at a tenth of it
    np.testing.assert_allclose(got["range_test/lr/group_1"]["value"], result.lrs, rtol=1e-6)
    np.testing.assert_allclose(got["range_test/lr/group_0"]["value"], result.lrs / 10,
                               rtol=1e-6)
    np.testing.assert_allclose(got["range_test/momentum/group_0"]["value"], 0.9, rtol=1e-6)
    assert len(got["range_test/momentum/group_0"]) == n
    rec = result.suggestions["recommended"]
    assert got["range_test/suggestion/recommended/max_lr"]["value"].iloc[0] == \
        pytest.approx(rec.max_lr, rel=1e-6)
    # the store got the same run beside it
    run = RunStore(tmp_path / "r.db").list_runs()[0]
    assert (run.label, run.kind, run.status) == ("tb run", "range_test", "done")


def test_a_training_recorded_to_mlflow_reads_back_with_its_client(tmp_path):
    m, opt = setup()
    sink = MLflowSink(tmp_path / "mlruns", experiment="clr tests")
    result = run_training(m, opt, nn.CrossEntropyLoss(), data(), num_iter=12,
                          schedule={"policy": "one_cycle", "max_lr": 0.1, "total_steps": 12},
                          eval_every=6, val_loader=data(2), record=sink)
    assert sink.tracking_uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=sink.tracking_uri)
    run = client.get_run(sink.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["clr_studio.kind"] == "train"
    history = sorted(client.get_metric_history(sink.run_id, "loss"), key=lambda x: x.step)
    assert [h.step for h in history] == result.iterations
    np.testing.assert_allclose([h.value for h in history], result.losses, rtol=1e-12)
    lrs = sorted(client.get_metric_history(sink.run_id, "lr/group_0"), key=lambda x: x.step)
    np.testing.assert_allclose([h.value for h in lrs], result.lrs, rtol=1e-12)
    head = sorted(client.get_metric_history(sink.run_id, "lr/group_1"), key=lambda x: x.step)
    np.testing.assert_allclose([h.value for h in head], np.array(result.lrs) * 10, rtol=1e-9)
    moms = sorted(client.get_metric_history(sink.run_id, "momentum/group_0"), key=lambda x: x.step)
    np.testing.assert_allclose([h.value for h in moms], result.momentums, rtol=1e-12)
    assert [h.step for h in client.get_metric_history(sink.run_id, "val_loss")] == [6, 12]
    assert run.data.params["num_iter"] == "12"


def test_a_range_test_in_mlflow_keeps_its_suggestions_and_figure(tmp_path):
    m, opt = setup()
    sink = MLflowSink(tmp_path / "mlruns")
    result = run_range_test(m, opt, nn.CrossEntropyLoss(), data(), start_lr=1e-4,
                            end_lr=10, num_iter=30, seed=0, record=sink)
    client = MlflowClient(tracking_uri=sink.tracking_uri)
    run = client.get_run(sink.run_id)
    assert float(run.data.params["suggestion/recommended/max_lr"]) == pytest.approx(
        result.suggestions["recommended"].max_lr)
    assert run.data.metrics["suggestion/recommended/max_lr"] == pytest.approx(
        result.suggestions["recommended"].max_lr)
    assert "range_test.html" in [a.path for a in client.list_artifacts(sink.run_id)]
    assert "settings used" in run.data.tags["clr_studio.summary"]
    # and back into the store: the run's loss and LR curves as logged
    run_id = import_mlflow(sink.run_id, tracking_uri=tmp_path / "mlruns",
                           store=tmp_path / "r.db")
    saved = RunStore(tmp_path / "r.db").load_run(run_id)
    train = report_from_dict(saved.result, saved.kind).curves[0].train
    np.testing.assert_allclose(train.losses, result.losses, rtol=1e-12)
    np.testing.assert_allclose(train.lrs, result.lrs, rtol=1e-12)
    with pytest.raises(ConfigError, match="letters and digits"):
        import_mlflow("../../etc", tracking_uri=tmp_path / "mlruns", store=tmp_path / "r.db")
    with pytest.raises(ConfigError, match="could not read run"):
        import_mlflow("deadbeef", tracking_uri=tmp_path / "mlruns", store=tmp_path / "r.db")


def test_a_tensorboard_dir_imports_as_a_run_with_its_curves(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    # a Lightning-style log: the loss every step, the LR monitor's "lr-SGD" every 2nd
    with SummaryWriter(str(tmp_path / "tb" / "version_0")) as w:
        for step in range(20):
            w.add_scalar("train_loss", 2.0 - 0.05 * step, step)
            if step % 2 == 0:
                w.add_scalar("lr-SGD", 0.01 * (step + 1), step)
        w.add_scalar("val_loss", 1.5, 9)
        w.add_scalar("val_acc", 0.6, 9)
    assert tensorboard_runs(tmp_path / "tb") == ["version_0"]
    db = tmp_path / "r.db"
    run_id = import_tensorboard(tmp_path / "tb", store=db, source_name="my logs")
    run = RunStore(db).load_run(run_id)
    assert run.kind == "train" and run.status == "done" and run.label == "tensorboard: my logs"
    assert run.config["tags"]["lr"] == "lr-SGD" and run.config["imported"] == "my logs"
    train = report_from_dict(run.result, run.kind).curves[0].train
    assert train.iterations == list(range(20))
    np.testing.assert_allclose(train.losses, [2.0 - 0.05 * s for s in range(20)], rtol=1e-6)
    # the LR held from its last logged step
    np.testing.assert_allclose(train.lrs, [0.01 * (s - s % 2 + 1) for s in range(20)], rtol=1e-6)
    assert all(math.isnan(x) for x in train.momentums)
    assert [(e.iteration, round(e.val_accuracy, 6)) for e in train.evals] == [(9, 0.6)]
    assert train.best_val_accuracy == pytest.approx(0.6)


def test_bad_imports_and_records_are_refused_by_name(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    for name in ("a", "b"):
        with SummaryWriter(str(tmp_path / "tb" / name)) as w:
            w.add_scalar("loss", 1.0, 0)
            w.add_scalar("lr", 0.1, 0)
    with pytest.raises(ConfigError, match="2 TensorBoard runs"):
        import_tensorboard(tmp_path / "tb", store=tmp_path / "r.db")
    assert import_tensorboard(tmp_path / "tb", run="b", store=tmp_path / "r.db") >= 1
    with pytest.raises(ConfigError, match="no learning-rate tag 'nope'"):
        import_tensorboard(tmp_path / "tb", run="a", lr_tag="nope", store=tmp_path / "r.db")
    with pytest.raises(ConfigError, match="does not exist"):
        import_tensorboard(tmp_path / "missing", store=tmp_path / "r.db")
    with SummaryWriter(str(tmp_path / "nolr")) as w:
        w.add_scalar("loss", 1.0, 0)
    with pytest.raises(ConfigError, match="no learning rate tag"):
        import_tensorboard(tmp_path / "nolr", store=tmp_path / "r.db")
    m, opt = setup()
    with pytest.raises(ClrError, match="record= takes"):
        run_range_test(m, opt, nn.CrossEntropyLoss(), data(), num_iter=5, record=[1, 2])


class _Broken:
    def open(self, kind, config, label, groups):
        pass

    def __call__(self, event):
        raise OSError("disk full")

    def close(self, status, report, error=None):
        pass


def test_a_failing_sink_never_costs_the_run(tmp_path):
    m, opt = setup()
    with pytest.warns(RuntimeWarning, match="_Broken stopped recording"):
        result = run_range_test(m, opt, nn.CrossEntropyLoss(), data(), num_iter=10,
                                record=["kept", _Broken()], store=tmp_path / "r.db")
    assert result.iterations == 10
    assert RunStore(tmp_path / "r.db").list_runs()[0].status == "done"
