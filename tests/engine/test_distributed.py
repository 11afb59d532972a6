"""Issue 33, item 1: the range test and training under a real ``torchrun`` (2 processes, gloo
on CPU), the model in DistributedDataParallel: the curve equals one process's on the
concatenated batches, a failing rank ends every rank with its message, and a SIGTERM to
one rank stops all of them with the recorded run left "cancelled"."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from clr_core.runs.store import RunStore

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")


def _worker():
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args: str, db: Path, **popen) -> subprocess.Popen:
    """``torchrun --nproc_per_node=2`` from this interpreter's environment, on a port of its
    own so tests running side by side never meet."""
    exe = Path(sys.executable).with_name("torchrun")
    launcher = [str(exe)] if exe.exists() else [sys.executable, "-m", "torch.distributed.run"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "CLR_STUDIO_DB": str(db)}
    cmd = [*launcher, "--nproc_per_node=2", "--rdzv-backend=c10d",
           f"--rdzv-endpoint=127.0.0.1:{_free_port()}", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **popen)


def _end(proc: subprocess.Popen) -> None:
    """After a timeout: the launcher and its ranks (its own session) go, not the tests."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def finished(proc: subprocess.Popen, timeout: float = 120) -> tuple[str, str]:
    """The launcher's (stdout, stderr) once it ends; a hang fails here, and never outlives
    the test (`_end`)."""
    try:
        return proc.communicate(timeout=timeout)
    finally:
        _end(proc)


def rank_results(out: Path) -> list[dict]:
    """What each of the two ranks wrote to ``out``."""
    return [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]


def test_the_distributed_curve_is_the_single_process_curve_on_the_whole_batches(tmp_path):
    proc = torchrun(str(WORKER), "curve", str(tmp_path), db=tmp_path / "runs.db")
    stdout, stderr = finished(proc, timeout=120)
    assert proc.returncode == 0, stderr[-3000:]
    ranks = rank_results(tmp_path)
    alone = _worker().single_process()
    for got in ranks:  # every rank holds the same curve: the mean loss over ranks
        assert got["restored"]  # its model back as it was after the range test
        assert got["sampler_epoch"] == 2  # set_epoch at each new pass, as DDP training does
        assert got["rt_stop"] == alone["rt_stop"]
        for key in ("rt_lrs", "rt_losses", "rt_val", "tr_losses", "tr_val"):
            assert len(got[key]) == len(alone[key]) > 0, key
            # training's loss and every validation sum pass through float32 in the engine
            # (with the accuracy count), each rank's rounded before the mean: 1e-6 there
            rtol = 1e-9 if key.startswith("rt_l") else 1e-6
            np.testing.assert_allclose(got[key], alone[key], rtol=rtol, atol=1e-12, err_msg=key)
        for w, w_alone in zip(got["weights"], alone["weights"], strict=True):
            np.testing.assert_allclose(w, w_alone, rtol=1e-9, atol=1e-12)
    assert ranks[0]["events"] > 0 and ranks[1]["events"] == 0  # rank 0 alone emits
    (run,) = RunStore(tmp_path / "runs.db").list_runs()  # and records, once
    assert run.status == "done" and run.kind == "range_test"


def test_a_rank_that_raises_ends_every_rank_with_its_message(tmp_path):
    proc = torchrun(str(WORKER), "raise", str(tmp_path), db=tmp_path / "runs.db")
    stdout, stderr = finished(proc, timeout=120)  # a hang fails here, not forever
    assert proc.returncode != 0
    assert "rank 1 cannot score this batch" in stderr
    assert not list(tmp_path.glob("rank*.json"))  # neither rank went on to train
    (run,) = RunStore(tmp_path / "runs.db").list_runs()
    assert run.status == "failed"
    assert "rank 1" in run.error and "cannot score this batch" in run.error


def test_sigterm_to_one_rank_stops_every_rank_and_the_run_is_cancelled(tmp_path):
    db, out_file = tmp_path / "runs.db", tmp_path / "rt.json"
    proc = torchrun("-m", "clr_core", "range-test", "--device", "cpu", "--num-iter", "200000",
                    "--end-lr", "0.05", "--json", str(out_file), db=db)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # until its curve grows in the store
            time.sleep(0.5)
            running = db.exists() and RunStore(db).list_runs(status="running")
            if running and RunStore(db).read_events(running[0].id)[1] >= 5:
                break
        ranks = {p.environ().get("RANK"): p
                 for p in psutil.Process(proc.pid).children(recursive=True)}
        ranks["1"].send_signal(signal.SIGTERM)  # the rank that does not record
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        _end(proc)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                   for p in ranks.values())
    (run,) = RunStore(db).list_runs()
    assert run.status == "cancelled", (run.status, stderr[-3000:])  # never "running"
    rt = json.loads(out_file.read_text())["range_test"]  # rank 0 kept the partial curve
    assert rt["stop_reason"] == "cancelled" and 0 < len(rt["lrs"]) < 200000
    assert stdout.count("range test on digits") == 1  # rank 0 alone prints
    assert stderr.count("recorded as run #") == 1
