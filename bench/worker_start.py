"""Start -> first event of a range test as the app runs it, worker start-up included.

Each trial is a fresh process set up as the Streamlit server is while a page runs: its
``__main__`` is the module Streamlit makes for app.py (a plain module with app.py's path,
no loader); the registry is made as ui.jobs makes it (``engine_registry``, a warm worker
started with it); a small range test is submitted at once (a click straight after the
page is drawn), then a second on the reused worker.

"skipped": how the process executor starts workers (app.py is not re-run in them).
"re-run": the same main given a loader, so spawn re-imports app.py in the worker as it did
for Streamlit's main before the fix (the worker ran the whole app bare first).

Workers run at the server's priority here (``CLR_STUDIO_WORKER_IDLE=0``, ``..._NICE=0``):
a worker below everyone on a shared machine measures the neighbours' load, not its start.
The two ways alternate trial by trial, so a change in that load hits both alike.

    .venv/bin/python bench/worker_start.py [--trials 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from importlib.machinery import SourceFileLoader
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"num_iter": 30, "end_lr": 1.0}


def first_event_s(reg, job_id: str, t0: float) -> float:
    while reg.status(job_id).n_events == 0:
        if reg.status(job_id).is_terminal:
            raise SystemExit(f"the job ended without events: {reg.status(job_id).error}")
        time.sleep(0.005)
    return time.monotonic() - t0


def trial(mode: str) -> None:
    """One trial, in this process: print the two times as JSON."""
    main = types.ModuleType("__main__")
    main.__file__ = str(ROOT / "app.py")
    if mode == "re-run":
        main.__loader__ = SourceFileLoader("__main__", main.__file__)
    sys.modules["__main__"] = main
    from clr_core.jobs.engine_jobs import engine_registry
    from clr_core.runs.store import RunStore

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        reg = engine_registry(store=RunStore(Path(tmp) / "runs.db"))
        first = first_event_s(reg, reg.submit("range_test", CONFIG, device="cpu"), t0)
        reg.wait(reg.list()[0].id, timeout=300)
        t0 = time.monotonic()
        again = first_event_s(reg, reg.submit("range_test", CONFIG, device="cpu"), t0)
        reg.shutdown(timeout=60)
    print(json.dumps({"first": first, "again": again}))


def main(trials: int) -> None:
    env = {**os.environ, "CLR_STUDIO_WORKER_IDLE": "0", "CLR_STUDIO_WORKER_NICE": "0",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    print(f"Range test, start -> first event (median of {trials} fresh servers; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    runs: dict[str, list[dict]] = {"re-run": [], "skipped": []}
    for _ in range(trials):
        for mode in runs:
            out = subprocess.run([sys.executable, __file__, "--trial", mode], env=env, cwd=ROOT,
                                 capture_output=True, text=True, timeout=600, check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for mode, runs_of in runs.items():
        first = statistics.median(r["first"] for r in runs_of)
        again = statistics.median(r["again"] for r in runs_of)
        label = ("app.py re-run in the worker (before)" if mode == "re-run"
                 else "app.py not re-run (now)")
        print(f"  {label:38s} first job {first:.2f} s, next job on the warm worker {again:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--trial", choices=["re-run", "skipped"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    trial(args.trial) if args.trial else main(args.trials)
