"""What recording a range test to the run store costs (``record=NAME``) on top of the same
range test unrecorded, and how soon a reader in another process sees its events.

Same small model, same pre-built batches, same LR sweep; the recorded and plain runs are
interleaved (order rotated every repeat); the fastest of the repeats is the headline
(on a shared machine other work only ever adds time), the median beside it. The
lag is measured from a second process that polls ``read_events`` while a recorded run
goes: the time from an event's creation to its arrival in the reader.

    python bench/record_overhead.py [--iters 2000] [--reps 5] [--width 64]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from clr_core.range_test import run_range_test
from clr_core.runs.recorder import RunRecorder
from clr_core.runs.store import RunStore

READER = """
import json, sys, time
from clr_core.runs.store import RunStore
store, lags, offset = RunStore(sys.argv[1]), [], 0
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    runs = store.list_runs(limit=1)
    if runs:
        events, offset = store.read_events(runs[0].id, offset)
        now = time.time()
        lags += [now - e["lr"] for e in events]  # the writer puts its clock in "lr"'s place
        if runs[0].status != "running" and not events:
            break
    time.sleep(0.05)
print(json.dumps(lags))
"""


def _setup(width: int, iters: int):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, width), nn.ReLU(), nn.Linear(width, 10))
    batches = [(torch.randn(64, 32), torch.randint(0, 10, (64,))) for _ in range(64)]
    return model, batches


def _one(model, batches, iters, record, store) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=0.9)
    t0 = time.perf_counter()
    run_range_test(model, opt, nn.CrossEntropyLoss(), batches, end_lr=1e-2, num_iter=iters,
                   diverge_threshold=None, record=record, store=store)
    return time.perf_counter() - t0


def _lag(db: Path, iters: int) -> list[float]:
    """Seconds from an event's creation to a reader process seeing it."""
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), "60"],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the reader is polling before the run starts
    with RunRecorder("range_test", {"bench": "lag"}, label="lag", store=db) as rec:
        for i in range(iters):
            rec({"kind": "step", "iteration": i, "lr": time.time()})
            time.sleep(0.002)
        rec.finish("done", {})
    out, _ = reader.communicate(timeout=120)
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--width", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, batches = _setup(a.width, a.iters)
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "runs.db")
        times: dict[str, list[float]] = {"plain": [], "recorded": []}
        _one(model, batches, 50, None, None)  # warm-up
        for rep in range(a.reps):
            order = ["plain", "recorded"] if rep % 2 == 0 else ["recorded", "plain"]
            for name in order:
                record = f"bench {rep}" if name == "recorded" else None
                times[name].append(_one(model, batches, a.iters, record, store))
        plain, recorded = (min(times[k]) for k in ("plain", "recorded"))
        med_plain, med_rec = (statistics.median(times[k]) for k in ("plain", "recorded"))
        n_events = store.read_events(store.list_runs(limit=1)[0].id)[1]
        lags = sorted(_lag(Path(tmp) / "lag.db", 1000))
    print(f"range test, {a.iters} iterations, MLP width {a.width}, 1 thread, best of {a.reps}")
    print(f"  plain      {plain * 1e3:8.1f} ms  ({plain / a.iters * 1e6:.1f} us/iteration)")
    print(f"  recorded   {recorded * 1e3:8.1f} ms  ({n_events} events saved)")
    print(f"  ratio recorded / plain: {recorded / plain:.3f} (best), "
          f"{med_rec / med_plain:.3f} (median)")
    if lags:
        p50, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        print(f"reader in another process sees an event after: median {p50 * 1e3:.0f} ms, "
              f"p99 {p99 * 1e3:.0f} ms, max {lags[-1] * 1e3:.0f} ms ({len(lags)} events)")


if __name__ == "__main__":
    main()
