"""What another process sees of a run while it trains: ``python store_probe.py DB RUN_ID``
waits (up to 20 s) until the run has streamed steps and prints its status and count."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def probe(db, run_id: int) -> dict:
    """Run this module in a fresh interpreter against ``db`` and return what it printed."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, __file__, str(db), str(run_id)], capture_output=True,
                          text=True, timeout=60, cwd=root, env={"PYTHONPATH": str(root),
                                                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(db: str, run_id: int) -> None:
    from clr_core.runs.store import RunStore

    store = RunStore(db)
    deadline = time.monotonic() + 20
    while True:
        events, _ = store.read_events(run_id)
        steps = [e for e in events if e["kind"] == "step"]
        if steps or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    run = {r.id: r for r in store.list_runs()}[run_id]
    print(json.dumps({"status": run.status, "label": run.label, "steps": len(steps),
                      "kind": run.kind}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
