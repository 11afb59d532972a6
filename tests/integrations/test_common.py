"""What both integrations share: a live training that a dying script still ends (marked, its
steps kept), and a recommendation sized into a designed schedule."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from clr_core.engine.results import RangeTestResult
from clr_core.errors import ConfigError
from clr_core.integrations.common import LiveTraining, recommendation, schedule_for
from clr_core.runs.store import RunStore
from clr_core.suggest.types import Suggestion

ROOT = Path(__file__).resolve().parents[2]

DYING = textwrap.dedent('''
    import sys
    from clr_core.integrations.common import LiveTraining
    live = LiveTraining("dies", store=sys.argv[1])
    live.start(dict(model="M"), num_iter=10, iters_per_epoch=5, device="cpu")
    for i in range(3):
        live.step(i, 1.0 / (i + 1), [0.1, 0.01], [0.9, 0.9])
    raise {exc}
''')


@pytest.mark.parametrize(("exc", "status", "error"), [
    ("RuntimeError('out of memory')", "failed", "RuntimeError: out of memory"),
    ("KeyboardInterrupt()", "cancelled", "interrupted from the keyboard"),
])
def test_a_script_that_dies_still_ends_its_run_with_what_it_recorded(tmp_path, exc, status,
                                                                      error):
    db = tmp_path / "runs.db"
    done = subprocess.run([sys.executable, "-c", DYING.replace("{exc}", exc), str(db)], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    store = RunStore(db)
    run = store.load_run(store.list_runs()[0].id)
    assert (run.status, run.error) == (status, error)
    assert run.result["runs"][0]["train"]["losses"] == pytest.approx([1.0, 0.5, 1 / 3])
    assert run.headline == "dies: last loss 0.3333"  # no accuracy logged: the loss headlines
    events, _ = store.read_events(run.id)
    assert [e["group_lrs"] for e in events] == [[0.1, 0.01]] * 3
    assert {e["lr"] for e in events} == {0.1}  # the largest group is the reference


def test_a_live_training_as_a_context_manager(tmp_path):
    live = LiveTraining("ctx", store=tmp_path / "runs.db")
    with pytest.raises(ValueError), live:
        live.start({}, num_iter=4, iters_per_epoch=None, device="cpu")
        live.step(0, 0.5, [0.1], [float("nan")])
        live.evaluated(1, val_loss=0.4, val_accuracy=0.75, metrics={"val_f1": 0.7})
        raise ValueError("bad batch")
    run = RunStore(tmp_path / "runs.db").load_run(live.run_id)
    assert run.status == "failed" and "bad batch" in run.error
    train = run.result["runs"][0]["train"]
    assert train["best_val_accuracy"] == 0.75 and train["momentums"] == [None]


def _suggestion(max_lr=0.3, base_lr=0.05):
    return Suggestion(method="recommended", base_lr=base_lr, max_lr=max_lr, explanation="",
                      source="test", index=0, marker_lr=max_lr, marker_value=1.0)


def test_schedule_for_sizes_each_policy_from_the_run_length():
    rec = _suggestion()
    one = schedule_for(rec, "one_cycle", total_steps=1000)
    assert one.params["max_lr"] == 0.3 and one.params["total_steps"] == 1000
    tri = schedule_for(rec, "triangular", total_steps=1000)
    assert (tri.params["base_lr"], tri.params["step_size_up"]) == (0.05, 250)  # two cycles
    wsd = schedule_for(rec, "wsd", total_steps=1000)
    assert (wsd.params["warmup_steps"], wsd.params["decay_steps"]) == (100, 200)
    # WSD holds its peak: the peak that keeps 1cycle's mean LR, as the benchmark trains it
    trace = wsd.lr(np.arange(1000))
    assert 0.15 < np.max(trace) < 0.22 and np.mean(trace) == pytest.approx(
        np.mean(one.lr(np.arange(1000))), rel=0.02)
    assert schedule_for(rec, "wsd", total_steps=1000, max_lr=0.3).params["max_lr"] == 0.3
    cos = schedule_for(rec, "warmup_cosine", total_steps=1000, warmup_steps=50)
    assert cos.params["warmup_steps"] == 50  # given values win
    with pytest.raises(ConfigError, match="policy"):
        schedule_for(rec, "nope", total_steps=1000)
    with pytest.raises(ConfigError, match="total_steps"):
        schedule_for(rec, "one_cycle", total_steps=2.5)


def test_a_result_without_a_recommendation_says_so():
    empty = RangeTestResult(lrs=np.array([1e-3]), losses=np.array([1.0]),
                            smoothed=np.array([1.0]), diverged=True, stop_reason="diverged")
    with pytest.raises(ConfigError, match="no 'recommended'"):
        recommendation(empty)
    assert recommendation(_suggestion()).max_lr == 0.3


def test_importing_the_package_loads_neither_stack():
    code = ("import sys, clr_core.integrations, clr_core.integrations.common\n"
            "print(sorted(m for m in ('lightning', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
