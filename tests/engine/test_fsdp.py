"""FSDP "where it applies" (issue 33): the range test under a real ``torchrun`` with the model
sharded by FSDP2 (``fully_shard``) on CPU gloo, 2 processes, needs nothing of its own: the
curve is the single-process curve on the whole batches, and every rank's model is put back."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from test_distributed import finished, rank_results, torchrun

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("fsdp_worker.py")


def _single_process() -> list[float]:
    spec = importlib.util.spec_from_file_location("fsdp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.single_process()


def test_an_fsdp2_range_test_is_the_single_process_curve(tmp_path):
    proc = torchrun(str(WORKER), str(tmp_path), db=tmp_path / "runs.db")
    _, stderr = finished(proc, timeout=120)
    assert proc.returncode == 0, stderr[-3000:]
    ranks = rank_results(tmp_path)
    alone = _single_process()
    for got in ranks:
        assert got["restored"]
        # sharded for real: each rank holds half of the first layer's 4 rows
        assert got["shards"][0] == [2, 3]
        assert len(got["losses"]) == len(alone) > 0
        np.testing.assert_allclose(got["losses"], alone, rtol=1e-9)
