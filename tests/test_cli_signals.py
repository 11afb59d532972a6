"""Issue 29's probe: SIGTERM (kill, a batch scheduler's time limit) and SIGHUP (a closed
terminal) cancel a recorded CLI range test the way Ctrl-C does: the partial curve is kept,
written to --json and saved "cancelled", instead of the process dying with nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clr_core.cli import CtrlC
from clr_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_the_handler_turns_the_signal_into_a_cancel_and_is_removed_after(sig):
    before = signal.getsignal(sig)
    with CtrlC().installed() as stop:
        assert not stop()
        assert signal.getsignal(sig) == stop._handle  # else the kill below ends pytest
        os.kill(os.getpid(), sig)
        time.sleep(0.05)  # let the interpreter run the handler
        assert stop()
    assert signal.getsignal(sig) is before


# SIGTERM end to end: SIGHUP meets the same handler (the test above: CtrlC installs it for
# both), and SIGINT's run end to end is test_cli's Ctrl-C test; a third process run of the
# same path proved nothing more
@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_a_signalled_recorded_range_test_keeps_its_partial_curve(tmp_path, sig):
    out_file, db = tmp_path / "rt.json", tmp_path / "runs.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLR_STUDIO_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "clr_core", "range-test", "--num-iter", "200000", "--end-lr",
         "0.05", "--json", str(out_file)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until its curve is growing in the store
        time.sleep(0.5)
        running = db.exists() and RunStore(db).list_runs(status="running")
        if running and RunStore(db).read_events(running[0].id)[1] >= 20:
            break
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {stderr}"
    assert "Traceback" not in stderr and "partial curve is kept" in stderr
    rt = json.loads(out_file.read_text())["range_test"]
    assert rt["stop_reason"] == "cancelled" and 0 < len(rt["lrs"]) < 200000
    (run,) = RunStore(db).list_runs()
    assert run.status == "cancelled"
