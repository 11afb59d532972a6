"""`clr-studio range-test --confirm N`: the sweep, then its confirmation, printed with the
same numbers as the page (each trial, the winner, the cost in trainings) and saved."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from clr_core.cli import main
from clr_core.engine.confirm import planned_pick
from clr_core.present.confirm import confirm_lines
from clr_core.runs.reports import ConfirmReport, report_from_dict
from clr_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "clr_core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_range_test_then_its_confirmation_prints_each_trial_the_winner_and_the_cost(tmp_path):
    out_file, db = tmp_path / "cf.json", tmp_path / "runs.db"
    proc = _cli("range-test", "--num-iter", "40", "--start-lr", "1e-4", "--confirm", "2",
                "--budget", "16", "--json", str(out_file), "--record", "cli confirm",
                env={"CLR_STUDIO_DB": str(db)})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(out_file.read_text())
    report = ConfirmReport.from_dict(out)
    assert out["range_test_report"]["kind"] == "range_test"
    # the sweep's pick for the planned schedule: the recommendation as the hand-off fits it
    swept = report_from_dict(out["range_test_report"]).range_test
    assert report.sweep_pick == planned_pick(swept, report.policy, report.budget)
    assert report.result.sweep_pick == report.sweep_pick
    # one printed row per trial, in the order they ran, with its peak as the JSON has it
    rows = [ln for ln in proc.stdout.splitlines() if "of the budget (" in ln
            and not ln.startswith("Confirmed")]
    assert len(rows) == len(report.trials) == len(report.result.trials) > 0
    for row, trial in zip(rows, report.trials, strict=True):
        assert f"{trial.peak:.4g}" in row
    for line in confirm_lines(report):  # the page's lines, word for word
        assert line in proc.stdout
    assert math.isfinite(report.result.best_peak)
    assert f"Cost: {report.result.cost_in_trainings:.3g} trainings" in proc.stdout
    kinds = sorted(r.kind for r in RunStore(db).list_runs())
    assert kinds == ["confirm", "range_test"]  # both saved, as the app saves them


def test_a_confirmation_below_the_cheapest_cost_is_refused_before_the_sweep(capfd):
    # main() in this process (a refusal before any run needs no interpreter of its own)
    assert main(["range-test", "--confirm", "0.5", "--no-record"]) == 2
    out, err = capfd.readouterr()
    assert "--confirm" in err and "at least 1" in err
    assert "range test on" not in out  # nothing ran
