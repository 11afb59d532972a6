"""A Lightning fit and a Hugging Face ``Trainer.train``, each a few lines of user code with
`StudioCallback`, run in their own processes and appear live on the app's Runs page:
listed as running, the count of iterations growing without a reload, then done."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from bhelpers import open_run, screenshot, wait_idle
from playwright.sync_api import expect

from clr_core.runs.store import RunStore

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]

# Each stack's training waits before update k until the file `gate` holds more than k, so
# the test sees the run at known points.
LIGHTNING = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    import lightning.pytorch as pl
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from clr_core.integrations.lightning import StudioCallback

    class Gate(pl.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            while trainer.global_step >= int(Path(sys.argv[2]).read_text() or 0):
                time.sleep(0.05)

    class Net(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))

        def training_step(self, batch, batch_idx):
            x, y = batch
            return nn.functional.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)

        def train_dataloader(self):
            x = torch.randn(256, 8)
            return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)

    trainer = pl.Trainer(max_steps=40, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, accelerator="cpu",
                         callbacks=[StudioCallback("my lightning fit", store=sys.argv[1]), Gate()])
    trainer.fit(Net())
''')

HUGGING_FACE = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    import torch
    from transformers import (BertConfig, BertForSequenceClassification, Trainer,
                              TrainerCallback, TrainingArguments)
    from clr_core.integrations.huggingface import StudioCallback

    class Gate(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            while state.global_step >= int(Path(sys.argv[2]).read_text() or 0):
                time.sleep(0.05)

    model = BertForSequenceClassification(BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32))
    data = [{"input_ids": torch.randint(0, 50, (8,)), "labels": i % 2} for i in range(64)]
    args = TrainingArguments("out", max_steps=40, per_device_train_batch_size=8, report_to=[],
                             save_strategy="no", use_cpu=True, disable_tqdm=True)
    recorder = StudioCallback("my hf run", store=sys.argv[1])
    with recorder:
        Trainer(model=model, args=args, train_dataset=data, callbacks=[recorder, Gate()]).train()
''')


def _wait_for_steps(db: Path, label: str, n: int, timeout: float = 90) -> int:
    store = RunStore(db)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in store.list_runs() if r.label == label]
        if runs and sum(e["kind"] == "step" for e in store.read_events(runs[0].id)[0]) >= n:
            return runs[0].id
        time.sleep(0.1)
    raise AssertionError(f"{label} did not reach {n} steps")


@pytest.mark.parametrize(("script", "label"), [(LIGHTNING, "my lightning fit"),
                                               (HUGGING_FACE, "my hf run")],
                         ids=["lightning", "huggingface"])
def test_a_stack_training_appears_live_on_the_runs_page(page, app_url, app_db, tmp_path,
                                                        script, label):
    gate = tmp_path / "gate"
    gate.write_text("10")
    path = tmp_path / "train.py"
    path.write_text(script)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.Popen([sys.executable, str(path), str(app_db), str(gate)], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        run_id = _wait_for_steps(app_db, label, 10)
        page.goto(f"{app_url}/runs")
        wait_idle(page)
        open_run(page, re.compile(f"#{run_id} .*{label}.*running"))
        live = page.get_by_text(re.compile(r"Running in another process"))
        # a cold server's first Runs page on a loaded 2-core machine can take its time
        expect(live.first).to_contain_text("10 of 40 iterations", timeout=60_000)
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        screenshot(page, f"runs_live_{label.replace(' ', '_')}")

        gate.write_text("25")  # the curve grows on the open page, no reload
        expect(live.first).to_contain_text("25 of 40 iterations", timeout=30_000)

        gate.write_text("100000")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
    finally:
        proc.kill()
    expect(page.get_by_text(re.compile(r"train · done"))).to_be_visible(timeout=30_000)
    expect(live).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
