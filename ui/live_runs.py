"""Runs that another process is recording (a script's ``record=``, the CLI, a worker),
drawn live on the Runs page from the run store: the page learns that a run started or
ended without a reload, and a running range test or training grows its curves as the
store receives events (``clr_core.recorder`` flushes them at least once a second)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from clr_core.plots import Curve
from clr_core.store import Run, RunStore
from ui.jobs import POLL_S, cached_series
from ui.results import show_range_test, show_training_curves

__all__ = ["LIST_POLL_S", "show_live_run", "streamed_range_test", "watch_runs"]

LIST_POLL_S = 2.0  # how soon the list shows a run another process started or ended

Series = dict[tuple[str, str], dict[str, np.ndarray]]


def streamed_range_test(series: Series, mode: str, curve: str = "") -> dict:
    """The streamed part of a running range test, in the shape of a finished result."""
    pts = series.get(("step", curve), {})
    vals = series.get(("eval", curve), {})
    empty = np.array([])
    acc = (np.column_stack([vals["iteration"], vals["lr"], vals["val_accuracy"], vals["val_loss"]])
           if vals else np.empty((0, 4)))
    return {"mode": mode, "lrs": pts.get("lr", empty), "losses": pts.get("loss", empty),
            "smoothed": pts.get("smoothed", empty), "suggestions": {}, "accuracies": acc.tolist()}


def _streamed_training(series: Series) -> tuple[list[Curve], ...]:
    loss, acc, lr, mom = [], [], [], []
    for (kind, curve), cols in series.items():
        label = curve or "run"
        if kind == "step" and "iteration" in cols:
            it = cols["iteration"]
            loss.append(Curve(label, it, cols.get("loss", np.full(len(it), np.nan))))
            lr.append(Curve(label, it, cols.get("lr", np.full(len(it), np.nan))))
            m = cols.get("momentum")
            if m is not None and np.isfinite(m).any():
                mom.append(Curve(label, it, m))
        elif kind == "eval" and "val_accuracy" in cols:
            acc.append(Curve(label, cols["iteration"], cols["val_accuracy"]))
    return loss, acc, lr, mom


def watch_runs(store: RunStore, shown_running: set[int]) -> None:
    """Rerun the page when a run starts or ends in any process, so the list is current."""

    @st.fragment(run_every=LIST_POLL_S)
    def watch() -> None:
        if {r.id for r in store.list_runs(status="running")} != shown_running:
            st.rerun()

    watch()


def show_live_run(store: RunStore, run: Run, *, key: str) -> None:
    """Draw a running run from its events as they arrive; when it ends, rerun the page
    once so it is drawn as finished, with its suggestions."""

    @st.fragment(run_every=POLL_S)
    def view() -> None:
        if run.id not in {r.id for r in store.list_runs(status="running")}:
            st.rerun()
        series = cached_series(f"store-run:{store.path}:{run.id}",
                               lambda since: store.read_events(run.id, since))
        total = run.config.get("num_iter")
        if run.kind == "range_test":
            rt = streamed_range_test(series, run.config.get("mode", "exp"))
            done = len(rt["lrs"])
            if done:
                st.caption(f"Running in another process · current LR **{float(rt['lrs'][-1]):.3g}**"
                           f" · loss {float(rt['losses'][-1]):.4f} · {done} of {total} iterations")
            else:
                st.caption("Running in another process · waiting for its first iteration…")
            show_range_test(rt, key=key)
        else:
            curves = _streamed_training(series)
            n = max((len(c.x) for c in curves[0]), default=0)
            st.caption(f"Running in another process · {n} of {total} iterations")
            show_training_curves(*curves, key=key)

    view()
