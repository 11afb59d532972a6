"""`python -m clr_core` end to end on the embedded digits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clr_core.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "clr_core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _main(capfd, *args: str) -> subprocess.CompletedProcess:
    """What ``_cli`` gives, less an interpreter's start and the engine's import: the same
    ``main`` that ``python -m clr_core`` calls, run here, with its exit status and what it
    wrote to stdout and stderr (the file descriptors, as a process's would be). For the
    refusals before a run; the tests of runs and of their output (a progress bar is drawn
    for a process's stderr) start the process itself."""
    capfd.readouterr()
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's own refusals exit, as they would the process
        code = e.code
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(["python", "-m", "clr_core", *args], code, out, err)


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


def test_bad_input_is_a_message_and_exit_code_2_missing_data_a_failed_run(tmp_path, capfd):
    proc = _main(capfd, "range-test", "--start-lr", "5", "--end-lr", "1")
    assert proc.returncode == 2
    assert "start_lr" in proc.stderr and "Traceback" not in proc.stderr
    # the flags are fine; the data is not on disk: the run failed (1), it was not bad usage
    proc = _main(capfd, "range-test", "--dataset", "cifar10", "--data-root", str(tmp_path))
    assert proc.returncode == 1
    assert str(tmp_path) in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"policy": "triangular", "base_lr": 0.2, "max_lr": 0.1,
                               "step_size_up": 20}))
    proc = _main(capfd, "train", "--schedule", str(bad))
    assert proc.returncode == 2 and "base_lr" in proc.stderr


# -- the fault matrix's CLI cases: a message naming what is wrong, never a traceback ----

def test_json_to_a_folder_is_refused_before_the_run(tmp_path, capfd):
    proc = _main(capfd, "range-test", "--num-iter", "20", "--json", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is a folder" in proc.stderr and "range test on" not in proc.stdout  # never ran


def test_a_binary_or_malformed_schedule_file_is_named(tmp_path, capfd):
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    proc = _main(capfd, "train", "--schedule", str(binary), "--num-iter", "20")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(binary) in proc.stderr and "not a text file" in proc.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"policy": "triangular", "max_lr": }')
    proc = _main(capfd, "train", "--schedule", str(broken), "--num-iter", "20")
    assert proc.returncode == 2 and str(broken) in proc.stderr and "line 1" in proc.stderr
    missing = tmp_path / "missing.json"
    proc = _main(capfd, "train", "--schedule", str(missing))
    assert proc.returncode == 2 and str(missing) in proc.stderr


def test_zero_iterations_with_a_schedule_is_a_message(tmp_path, capfd):
    sched = tmp_path / "s.json"
    sched.write_text(json.dumps({"policy": "triangular", "base_lr": 0.01, "max_lr": 0.1,
                                 "step_size_up": 20}))
    proc = _main(capfd, "train", "--schedule", str(sched), "--num-iter", "0")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "num_iter" in proc.stderr
    proc = _main(capfd, "range-test", "--num-iter", str(10**12))
    assert proc.returncode == 2 and "num_iter" in proc.stderr and "10,000,000" in proc.stderr


def test_quiet_prints_the_result_only_and_verbose_the_configuration(tmp_path):
    out_file = tmp_path / "rt.json"
    quiet = _cli("range-test", "--num-iter", "20", "--no-record", "--quiet", "--json",
                 str(out_file))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""  # no progress bar, no notes
    assert quiet.stdout.startswith("range test on digits") and out_file.exists()
    verbose = _cli("range-test", "--num-iter", "20", "--no-record", "--verbose", "--json",
                   str(out_file))
    assert verbose.returncode == 0, verbose.stderr
    config_line = next(x for x in verbose.stderr.splitlines() if x.startswith("config: "))
    config = json.loads(config_line.removeprefix("config: "))
    assert config["num_iter"] == 20 and config["dataset"] == "digits"
    assert "%" in verbose.stderr and f"wrote {out_file}" in verbose.stderr


def test_the_help_names_python_m_clr_core_when_run_so():
    proc = _cli("--help")
    assert proc.returncode == 0 and proc.stdout.startswith("usage: python -m clr_core ")
    assert "exit status" in proc.stdout.lower()


def test_the_cli_saves_its_run_to_the_store_the_app_reads(tmp_path):
    db = tmp_path / "runs.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLR_STUDIO_DB": str(db)}
    proc = subprocess.run([sys.executable, "-m", "clr_core", "range-test", "--num-iter", "20"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    from clr_core.runs.store import RunStore

    (run,) = RunStore(db).list_runs()
    assert run.kind == "range_test" and run.status == "done"
    assert f"run #{run.id}" in proc.stderr


def test_ctrl_c_cancels_and_keeps_the_partial_curve(tmp_path):
    import signal
    import time

    out_file, db = tmp_path / "rt.json", tmp_path / "runs.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLR_STUDIO_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "clr_core", "range-test", "--num-iter", "200000", "--end-lr",
         "0.05", "--json", str(out_file)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    from clr_core.runs.store import RunStore

    while time.monotonic() < deadline:  # wait until its curve is growing in the store
        time.sleep(0.5)
        running = db.exists() and RunStore(db).list_runs(status="running")
        if running and RunStore(db).read_events(running[0].id)[1] >= 20:
            break
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "partial curve is kept" in stderr
    rt = json.loads(out_file.read_text())["range_test"]
    assert rt["stop_reason"] == "cancelled" and 0 < len(rt["lrs"]) < 200000
    (run,) = RunStore(db).list_runs()
    assert run.status == "cancelled"
