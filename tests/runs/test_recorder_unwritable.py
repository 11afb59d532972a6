"""Issue 29's probe: ``record=`` on a store that cannot be written. A store that turns
unwritable mid-run (what SQLite says when the file's folder can no longer be written) is
given up at once with the store's own reason, once: no retrying for minutes after the run
ends. A busy store is still waited for (tests/runs/test_store_busy.py)."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from clr_core.range_test import run_range_test
from clr_core.runs import writer as writer_mod
from clr_core.runs.connection import store_error
from clr_core.runs.recorder import RunRecorder
from clr_core.runs.store import RunStore


def unwritable(store: RunStore, message: str = "unable to open database file") -> list[int]:
    """From now on every write to ``store`` fails as SQLite fails on a folder it cannot
    write; returns the list that counts the attempts."""
    attempts: list[int] = []

    @contextlib.contextmanager
    def refuse(*_args):
        attempts.append(1)
        raise store_error(store.path, sqlite3.OperationalError(message))
        yield  # pragma: no cover - a generator for contextmanager

    store._write = refuse
    return attempts


@pytest.fixture(autouse=True)
def short_retry(monkeypatch):
    # were the failure retried, finish would sleep through this and try a dozen times
    monkeypatch.setattr(writer_mod, "RETRY_FOR_S", 5.0)


@pytest.mark.parametrize("message", ["unable to open database file",
                                     "attempt to write a readonly database",
                                     "database or disk is full", "disk I/O error"])
def test_a_store_unwritable_mid_run_is_given_up_at_once_with_its_reason(tmp_path, message):
    store = RunStore(tmp_path / "runs.db")
    rec = RunRecorder("train", {"dataset": "digits"}, label="x", store=store, flush_s=0.1)
    assert rec.run_id is not None
    attempts = unwritable(store, message)
    rec({"kind": "step", "iteration": 0})
    with pytest.warns(RuntimeWarning, match=f"recording run {rec.run_id} .* stopped"):
        rec.finish("done", {"headline": "h"})
    assert len(attempts) == 1  # one try, no back-off loop after the run ended
    assert message in rec.save_error and rec.finished


def test_a_store_unwritable_from_the_start_is_said_before_the_run(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    attempts = unwritable(store)
    with pytest.warns(RuntimeWarning, match="unable to open database file"):
        rec = RunRecorder("train", {}, label="x", store=store, flush_s=0.1)
    assert rec.save_error is not None and "unable to open database file" in rec.save_error
    rec({"kind": "step"})
    rec.finish("done", {})
    assert len(attempts) == 1


def test_record_on_an_unwritable_store_returns_the_result_and_says_why_it_was_not_saved(
        tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    data = [(torch.randn(8, 4), torch.randint(0, 2, (8,))) for _ in range(4)]
    store = RunStore(tmp_path / "runs.db")
    attempts = unwritable(store, "attempt to write a readonly database")
    with pytest.warns(RuntimeWarning, match="readonly database"):
        result = run_range_test(model, opt, F.cross_entropy, data, end_lr=1.0, num_iter=20,
                                record="unsaved", store=store)
    assert len(result.losses) == 20 and len(attempts) == 1
