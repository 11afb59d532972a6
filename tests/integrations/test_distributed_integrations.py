"""Issue 33, item 1 through the integrations: the "With Lightning" and "With a Hugging Face
Trainer" scripts of docs/distributed.md, run by their commands as written (a Lightning
``Trainer(strategy="ddp", devices=2, accelerator="cpu")`` that starts its own second
process; a real ``torchrun --nproc_per_node=2``), on gloo.

Each script is written as the docs give it, followed by a few lines that write what its
rank holds (`PROBE`; for Lightning also one line before its ``trainer.fit``, `BEFORE_FIT`).
The problems are exact math, as in tests/engine/test_distributed.py: no dropout, equal
shards dealt from one order, so each update of the two ranks is one update on the global
batch, and the curve every rank holds must equal a single-process range test on the whole
global batches (float32: ``rtol`` 1e-4 until the loss diverges, see `_same_curve`); every
rank's model must be back bit for bit after it. The Lightning script then fits at the
recommended LR on the processes the range test started, and that fit must equal a
single-process fit from the initial weights.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from clr_core.runs.store import RunStore

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ddp_integrations")]

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "distributed.md"

#: Put before the Lightning script's ``trainer.fit``: this rank's weights after the range test.
BEFORE_FIT = "    _restored = {k: v.tolist() for k, v in model.state_dict().items()}\n"

#: Appended to each script: what this rank holds, as JSON, once every rank is done.
PROBE = '''
import json as _json
import torch.distributed as _dist
_model = model if "model" in globals() else trainer.model
_weights = {k: v.tolist() for k, v in _model.state_dict().items()}
_json.dump({"world": _dist.get_world_size(), "lrs": result.lrs.tolist(),
            "losses": result.losses.tolist(), "stop": result.stop_reason,
            "max_lr": result.suggestions["recommended"].max_lr,
            "settings": {k: v for k, v in result.settings_used.items()
                         if k in ("world_size", "optimizer_steps_per_epoch")},
            "global_step": getattr(trainer, "global_step", None),  # Lightning's
            "weights": _weights, "restored": globals().get("_restored", _weights)},
           open(f"rank{_dist.get_rank()}.json", "w"))
'''


def _section(title: str) -> tuple[str, str]:
    """The section's script (its python block) and its command (its bash block)."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.index("\n## ", start + 1)
    section = text[start:end]
    (script,) = re.findall(r"```python\n(.*?)```", section, re.S)
    (command,) = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    return script, command


def _named(script: str, command: str) -> str:
    """The script's file name, from its first line ("# NAME — COMMAND"), whose command is
    the one the docs give to run it."""
    name, said = script.splitlines()[0].removeprefix("# ").split(" — ", 1)
    assert command.endswith(said) and said.endswith(name)
    return name


def _run(command: str, cwd: Path, db: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """``command`` as the docs write it (``VAR=value`` words first), its ``python`` and
    ``torchrun`` this interpreter's, in a session of its own so nothing outlives a timeout."""
    words = shlex.split(command)
    env = {k: v for k, v in os.environ.items() if k not in ("MASTER_PORT", "MASTER_ADDR",
                                                          "LOCAL_RANK", "RANK", "WORLD_SIZE")}
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    exe = {"python": [sys.executable],
           "torchrun": [sys.executable, "-m", "torch.distributed.run"]}[words[0]]
    env.update({"PYTHONPATH": str(ROOT), "CLR_STUDIO_DB": str(db), "CUDA_VISIBLE_DEVICES": ""})
    proc = subprocess.Popen([*exe, *words[1:]], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            stdin=subprocess.DEVNULL)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


class _Epochs(torch.utils.data.Sampler):
    """The order a ``DistributedSampler(shuffle=True, seed=0)`` deals out over its first
    ``epochs`` epochs, one after another (rank r takes every other index of it)."""

    def __init__(self, n: int, epochs: int) -> None:
        self.n, self.epochs = n, epochs

    def __len__(self) -> int:
        return self.n * self.epochs

    def __iter__(self):
        for epoch in range(self.epochs):
            yield from torch.randperm(self.n, generator=torch.Generator().manual_seed(epoch)).tolist()


def _script_module(script: str, path: Path):
    """The docs' script as a module (its ``__main__`` part not run)."""
    path.write_text(script, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"doc_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ranks(cwd: Path) -> list[dict]:
    return [json.loads((cwd / f"rank{r}.json").read_text()) for r in (0, 1)]


def _same_curve(ranks: list[dict], alone) -> None:
    """Every rank holds one curve, and it is the single-process one: to float32 rounding
    (rtol 1e-4) while the training is stable, up to the LR where the single-process test
    saw the loss diverge; past it the two sum their batches' gradients in a different
    order and the diverging loss grows that rounding, so there only to 5%."""
    diverge_lr = alone.suggestions["recommended"].diverge_lr
    stable = alone.lrs <= (diverge_lr if diverge_lr and np.isfinite(diverge_lr) else np.inf)
    assert stable.sum() >= len(alone.lrs) // 2
    for got in ranks:
        assert got["world"] == 2 and got["settings"]["world_size"] == 2
        assert got["stop"] == alone.stop_reason
        assert got["lrs"] == ranks[0]["lrs"] and got["losses"] == ranks[0]["losses"]
        assert got["max_lr"] == ranks[0]["max_lr"]
        np.testing.assert_allclose(got["lrs"], alone.lrs, rtol=1e-12)
        losses = np.array(got["losses"])
        np.testing.assert_allclose(losses[stable], alone.losses[stable], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(losses, alone.losses, rtol=0.05)


def _restored(ranks: list[dict], initial: dict[str, torch.Tensor]) -> None:
    """Every rank put its model back after the range test, bit for bit."""
    for got in ranks:
        for key, value in initial.items():
            assert torch.equal(torch.tensor(got["restored"][key], dtype=value.dtype), value), key


def _one_record(db: Path, label: str, run: subprocess.CompletedProcess) -> None:
    (only,) = RunStore(db).list_runs()  # rank 0 alone records
    assert only.label == label and only.kind == "range_test"
    assert only.status in ("done", "diverged"), (only.status, run.stderr[-2000:])
    assert run.stdout.count("settings used:") == 1  # the script prints on rank 0 only


def test_the_lightning_ddp_command_as_written(tmp_path):
    import lightning.pytorch as pl

    from clr_core.integrations.lightning import range_test

    script, command = _section("With Lightning")
    assert 'strategy="ddp", devices=2, accelerator="cpu"' in script
    name = _named(script, command)
    assert script.count("    trainer.fit(model)") == 1
    probed = script.replace("    trainer.fit(model)", BEFORE_FIT + "    trainer.fit(model)")
    (tmp_path / name).write_text(probed + PROBE, encoding="utf-8")
    done = _run(command, tmp_path, tmp_path / "runs.db")
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = _ranks(tmp_path)

    doc = _script_module(script, tmp_path / "doc_lightning.py")
    pl.seed_everything(0)
    module = doc.Regressor()
    initial = {k: v.clone() for k, v in module.state_dict().items()}
    data = module.train_dataloader().dataset
    # both ranks' batches at once: fit's shards are a DistributedSampler's shuffled halves,
    # so the global batches are its order over all of the data, epoch after epoch
    whole = DataLoader(data, batch_size=32, sampler=_Epochs(len(data), epochs=4))
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=1, gradient_clip_val=1.0,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=str(tmp_path))
    alone = range_test(module, trainer=trainer, train_dataloaders=whole, start_lr=1e-4,
                       end_lr=10, num_iter=60)
    _same_curve(ranks, alone)
    _restored(ranks, initial)
    for got in ranks:  # each rank read the shard Lightning's fit gives it: half the batches
        assert got["settings"]["optimizer_steps_per_epoch"] == len(module.train_dataloader()) // 2
    _one_record(tmp_path / "runs.db", "lightning ddp", done)

    # the fit after it, at the recommended LR, started from the restored weights
    module.load_state_dict(initial)
    module.lr = alone.suggestions["recommended"].max_lr
    np.testing.assert_allclose(ranks[0]["max_lr"], module.lr, rtol=1e-4)
    one_epoch = DataLoader(data, batch_size=32, sampler=_Epochs(len(data), epochs=1))
    trainer.fit(module, train_dataloaders=one_epoch)
    for got in ranks:
        assert got["global_step"] == trainer.global_step == len(one_epoch)
        for key, value in module.state_dict().items():
            np.testing.assert_allclose(got["weights"][key], value.numpy(), rtol=1e-4,
                                       atol=1e-6, err_msg=key)


def test_the_hugging_face_torchrun_command_as_written(tmp_path):
    from clr_core.integrations.huggingface import range_test

    script, command = _section("With a Hugging Face Trainer")
    assert "torchrun --standalone --nproc_per_node=2" in command
    name = _named(script, command)
    (tmp_path / name).write_text(script + PROBE, encoding="utf-8")
    done = _run(command, tmp_path, tmp_path / "runs.db")
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = _ranks(tmp_path)

    doc = _script_module(script, tmp_path / "doc_hf.py")
    trainer = doc.make_trainer(batch_size=16)  # one process, the two ranks' batches at once
    initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    alone = range_test(trainer, start_lr=1e-4, end_lr=10, num_iter=40)
    _same_curve(ranks, alone)
    steps = alone.settings_used["optimizer_steps_per_epoch"]
    for got in ranks:
        assert got["settings"]["optimizer_steps_per_epoch"] == steps  # 8 x 2 = 16 a step
    _restored(ranks, initial)
    _one_record(tmp_path / "runs.db", "hf ddp", done)
