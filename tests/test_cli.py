"""`python -m clr_core` end to end on the embedded digits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "clr_core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_range_test_with_no_arguments_runs_on_digits_and_writes_json(tmp_path):
    out_file = tmp_path / "rt.json"
    proc = _cli("range-test", "--json", str(out_file))
    assert proc.returncode == 0, proc.stderr
    assert "range test on digits" in proc.stdout
    assert "fastai valley" in proc.stdout and "max_lr" in proc.stdout
    result = json.loads(out_file.read_text())
    rt = result["range_test"]
    assert rt["lrs"][0] == 1e-5
    assert len(rt["lrs"]) == len(rt["losses"]) == len(rt["smoothed"])
    for s in rt["suggestions"].values():
        assert 0 < s["base_lr"] < s["max_lr"]
    # the recommendation comes first, then the same numbers as the JSON for the others
    rec = rt["suggestions"]["recommended"]
    first = proc.stdout.splitlines()[1]
    assert first.startswith(f"Recommended max_lr {rec['max_lr']:.3g} (band {rec['low']:.3g}")
    assert f"{rt['suggestions']['valley']['max_lr']:.3g}" in proc.stdout
    assert "%" in proc.stderr  # the progress bar goes to stderr


def test_train_compares_a_baseline(tmp_path):
    out_file = tmp_path / "train.json"
    proc = _cli("train", "--num-iter", "60", "--baseline", "fixed", "--json", str(out_file))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out_file.read_text())
    labels = [r["label"] for r in result["runs"]]
    assert labels == ["designed: one_cycle", "baseline: fixed"]
    assert all(len(r["train"]["losses"]) == 60 for r in result["runs"])
    assert "baseline: fixed" in proc.stdout


def test_train_with_a_designer_export(tmp_path):
    sched = tmp_path / "s.json"
    sched.write_text(json.dumps({"policy": "triangular", "base_lr": 0.01, "max_lr": 0.1,
                                 "step_size_up": 20}))
    proc = _cli("train", "--schedule", str(sched), "--num-iter", "40")
    assert proc.returncode == 0, proc.stderr
    assert "designed: triangular" in proc.stdout


def test_bad_input_is_a_message_and_exit_code_2(tmp_path):
    proc = _cli("range-test", "--start-lr", "5", "--end-lr", "1")
    assert proc.returncode == 2
    assert "start_lr" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("range-test", "--dataset", "cifar10", "--data-root", str(tmp_path))
    assert proc.returncode == 2
    assert str(tmp_path) in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"policy": "triangular", "base_lr": 0.2, "max_lr": 0.1,
                               "step_size_up": 20}))
    proc = _cli("train", "--schedule", str(bad))
    assert proc.returncode == 2 and "base_lr" in proc.stderr
