"""``StudioCallback`` with trackers: a Lightning fit written to TensorBoard beside the store
and a ``Trainer.train`` written to TensorBoard alone, each event file read back with tbparse,
offline. (The sinks are the ones ``record=`` takes; MLflow's own read-back is in
tests/trackers.)"""

from __future__ import annotations

import numpy as np
from tbparse import SummaryReader
from tiny_stacks import DigitsModule, hf_trainer, quiet_trainer

from clr_core.integrations.huggingface import StudioCallback as HFCallback
from clr_core.integrations.lightning import StudioCallback as LightningCallback
from clr_core.runs.store import RunStore
from clr_core.trackers import TensorBoardSink


def test_a_lightning_fit_goes_to_tensorboard_and_the_store_alike(tmp_path):
    db, sink = tmp_path / "runs.db", TensorBoardSink(tmp_path / "tb")
    cb = LightningCallback(["digits fit", sink], store=db)
    quiet_trainer(tmp_path, max_steps=12, val_check_interval=6,
                  callbacks=[cb]).fit(DigitsModule())
    store = RunStore(db)
    assert store.load_run(cb.run_id).status == "done"
    events, _ = store.read_events(cb.run_id)
    steps = [e for e in events if e["kind"] == "step"]
    assert sink.run_dir == tmp_path / "tb" / "digits-fit"
    frame = SummaryReader(str(sink.run_dir), pivot=False).scalars
    got = {tag: g.sort_values("step") for tag, g in frame.groupby("tag")}
    assert got["train/loss"]["step"].tolist() == list(range(12))
    np.testing.assert_allclose(got["train/loss"]["value"], [e["loss"] for e in steps], rtol=1e-6)
    # both groups: the body at 0.01, the head at 0.1, SGD's momentum 0.9 each
    np.testing.assert_allclose(got["train/lr/group_0"]["value"], 0.01, rtol=1e-6)
    np.testing.assert_allclose(got["train/lr/group_1"]["value"], 0.1, rtol=1e-6)
    np.testing.assert_allclose(got["train/momentum/group_1"]["value"], 0.9, rtol=1e-6)
    evals = [e for e in events if e["kind"] == "eval"]
    assert evals and got["train/val_loss"]["step"].tolist() == [e["iteration"] for e in evals]
    np.testing.assert_allclose(got["train/val_loss"]["value"], [e["val_loss"] for e in evals],
                               rtol=1e-6)


def test_a_hugging_face_training_goes_to_tensorboard_alone(tmp_path):
    sink = TensorBoardSink(tmp_path / "tb", run_name="tiny bert")
    cb = HFCallback(sink)
    hf_trainer(tmp_path, callbacks=[cb], eval_strategy="steps", eval_steps=8).train()
    assert cb.run_id is None  # no store run: the sink alone was asked for
    assert sink.run_dir == tmp_path / "tb" / "tiny-bert"
    frame = SummaryReader(str(sink.run_dir), pivot=False).scalars
    got = {tag: g.sort_values("step") for tag, g in frame.groupby("tag")}
    assert got["train/loss"]["step"].tolist() == list(range(16))
    assert np.isfinite(got["train/loss"]["value"]).all()
    # transformers' default: linear decay from learning_rate, in both groups (decay / none)
    for group in (0, 1):
        np.testing.assert_allclose(got[f"train/lr/group_{group}"]["value"],
                                   1e-3 * (1 - np.arange(16) / 16), rtol=1e-6)
    assert got["train/val_loss"]["step"].tolist() == [8, 16]
