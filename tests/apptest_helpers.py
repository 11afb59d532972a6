"""Driving the live pages under AppTest, where `run_every` never fires: rerun until done."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

#: The app, by absolute path: AppTest resolves a relative one against the calling file.
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def plain(markdown: str) -> str:
    """Drawn markdown as a reader sees it: the backslash escapes and invisible word joiners
    that ``ui.text.shown`` puts in foreign text (so it draws no markup or link) taken out."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def open_page(page: str, timeout: float = 60) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def open_designer_link(query: dict) -> AppTest:
    """The home page (the designer) opened from a link with ``query`` as its parameters."""
    app = AppTest.from_file(APP, default_timeout=60)
    for k, v in query.items():
        app.query_params[k] = v
    app.run()
    assert not app.exception, app.exception
    return app


def open_learn(query: dict | None = None) -> AppTest:
    """The Learn page opened with ``query`` as its link's parameters."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    # a link opens the Learn page alone: not with the designer's own parameters, which
    # the home page's run wrote and a browser's navigation would clear
    for k in list(at.query_params):
        del at.query_params[k]
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("pages/learn.py").run()
    assert not at.exception, at.exception
    return at


def job_state(at: AppTest, slot: str) -> str | None:
    from ui.jobs import registry

    job_id = at.session_state[slot] if slot in at.session_state else None  # noqa: SIM401 (no .get on AppTest state)
    return registry().status(job_id).state if job_id else None


def run_until_events(at: AppTest, slot: str, n: int, timeout: float = 60) -> None:
    """Rerun until the job in `slot` has streamed at least n events, then once more so the
    page has drawn them (they may arrive between a run and the count)."""
    from ui.jobs import registry

    deadline = time.monotonic() + timeout
    while registry().status(at.session_state[slot]).n_events < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {n} events after {timeout}s")
        time.sleep(0.1)
        at.run()
        assert not at.exception, at.exception
    at.run()
    assert not at.exception, at.exception


def run_until_done(at: AppTest, slot: str, timeout: float = 120) -> str:
    """Rerun the page (as the fragment's polling would) until the job in `slot` ends."""
    deadline = time.monotonic() + timeout
    while True:
        state = job_state(at, slot)
        if state in ("done", "cancelled", "failed"):
            at.run()  # the final full run draws results
            assert not at.exception, at.exception
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"job in {slot} still {state} after {timeout}s")
        time.sleep(0.2)
        at.run()
        assert not at.exception, at.exception


def as_array(value) -> np.ndarray:
    """A plotly trace array, which may arrive base64-encoded as {"dtype", "bdata"}."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def chart_traces(at: AppTest, key_part: str) -> list[dict]:
    """The plotly traces of the chart whose spec mentions `key_part` in its uirevision."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if key_part in json.dumps(spec.get("layout", {}).get("uirevision", "")):
            traces = spec["data"]
            for t in traces:
                for axis in ("x", "y"):
                    if axis in t:
                        t[axis] = as_array(t[axis])
            return traces
    raise AssertionError(f"no chart with uirevision containing {key_part!r}")


def panel_traces(at: AppTest, key_part: str, y_title: str) -> list[dict]:
    """The traces on one panel (the y axis titled `y_title`) of the chart whose uirevision
    mentions `key_part`: a training chart draws loss, accuracy, LR and momentum as panels."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        if key_part not in json.dumps(layout.get("uirevision", "")):
            continue
        axes = [k for k, v in layout.items() if k.startswith("yaxis") and isinstance(v, dict)
                and (v.get("title") or {}).get("text") == y_title]
        assert axes, f"no panel titled {y_title!r}"
        ref = "y" + axes[0][5:]
        return [t for t in chart_traces(at, key_part) if t.get("yaxis", "y") == ref]
    raise AssertionError(f"no chart with uirevision containing {key_part!r}")


SAVE_A_RUN = """
import json, sys
from clr_core.jobs.engine_jobs import engine_registry
from clr_core.runs.store import RunStore
# the range test in this process's own thread: the store is written the same way, and a worker
# process would import the engine a second time for nothing
reg = engine_registry(store=RunStore(), executor="thread")
job = reg.submit("range_test", {"num_iter": 40}, label=sys.argv[1])
status = reg.wait(job, timeout=120)
reg.shutdown()
json.dump({"run_id": status.run_id, "suggestions": status.result["range_test"]["suggestions"]},
          sys.stdout)
"""


def save_run_in_another_process(db: str | os.PathLike, label: str) -> dict:
    """Run a range test in a separate Python process that saves to the store at `db`, as a
    previous app session would; returns its run id and suggestions."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "CLR_STUDIO_DB": str(db), "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", SAVE_A_RUN, label], env=env, cwd=root, check=True,
                         capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout)
