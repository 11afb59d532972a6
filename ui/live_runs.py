"""Runs that another process is recording (a script's ``record=``, the CLI, a worker),
drawn live on the Runs page from the run store: the page learns that a run started or
ended without a reload, and a running range test or training grows its curves as the
store receives events (``clr_core.runs.recorder`` flushes them at least once a second)."""

from __future__ import annotations

import streamlit as st

from clr_core.engine.events import EVAL, STEP, EventTable
from clr_core.engine.results import RangeTestResult
from clr_core.errors import StoreError
from clr_core.runs.format import Run
from clr_core.runs.store import RunStore
from ui.jobs import POLL_S, cached_series
from ui.results import (
    show_range_test,
    show_training_curves,
    streamed_training_curves,
)
from ui.text import show_unexpected, shown

__all__ = ["LIST_POLL_S", "show_live_run", "show_partial_run", "watch_runs"]

LIST_POLL_S = 2.0  # how soon the list shows a run another process started or ended

def watch_runs(store: RunStore, shown_running: set[int]) -> None:
    """Rerun the page when a run starts or ends in any process, so the list is current."""

    @st.fragment(run_every=LIST_POLL_S)
    def watch() -> None:
        try:
            running = {r.id for r in store.list_runs(status="running")}
        except StoreError as exc:  # busy: say so, look again on the next tick
            st.caption(shown(exc))
            return
        if running != shown_running:
            st.rerun()

    watch()


def _draw_events(run: Run, series: EventTable, *, key: str, status: str, live: bool) -> None:
    """A run's curves as far as its events go, with a caption that starts with ``status``."""
    try:
        _draw_series(run, series, key=key, status=status, live=live)
    except Exception as exc:  # noqa: BLE001 - events another process wrote: an id, no traceback
        show_unexpected(exc, "drawing this run's recorded events")


def _read_events(run: Run) -> EventTable:
    series = EventTable()
    for event in run.events or []:
        series.add(event)
    return series


def _draw_series(run: Run, series: EventTable, *, key: str, status: str, live: bool) -> None:
    total = run.config.get("num_iter")
    if run.kind == "range_test":
        rt = RangeTestResult.streamed(series.get(STEP), series.get(EVAL),
                                      mode=run.config.get("mode", "exp"))
        if rt.iterations:
            st.caption(f"{status} · current LR **{rt.lrs[-1]:.3g}** · loss {rt.losses[-1]:.4f}"
                       f" · {rt.iterations} of {total} iterations")
        else:
            st.caption(f"{status} · waiting for its first iteration…")
        show_range_test(rt, key=key, config=run.config, live=live)
    elif run.kind == "confirm":  # its trials are points of one chart, drawn once it ends
        n = sum(1 for kind, _ in series.columns() if kind == "trial")
        st.caption(f"{status} · {n} trial(s) finished; the chart is drawn when it ends")
    else:
        curves = streamed_training_curves(series.columns())
        n = max((len(c.x) for c in curves[0]), default=0)
        st.caption(f"{status} · {n} of {total} iterations")
        show_training_curves(*curves, key=key, live=live)


def show_live_run(store: RunStore, run: Run, *, key: str) -> None:
    """Draw a running run from its events as they arrive; when it ends, rerun the page
    once so it is drawn as finished, with its suggestions."""

    @st.fragment(run_every=POLL_S)
    def view() -> None:
        try:
            if run.id not in {r.id for r in store.list_runs(status="running")}:
                st.rerun()
            series = cached_series(f"store-run:{store.path}:{run.id}",
                                   lambda since: store.read_events(run.id, since))
        except StoreError as exc:  # busy: say so, look again on the next tick
            st.caption(shown(exc))
            return
        except Exception as exc:  # noqa: BLE001 - events another process wrote: an id, no traceback
            show_unexpected(exc, "reading this run's recorded events")
            return
        _draw_events(run, series, key=key, status="Running in another process", live=True)

    view()


def show_partial_run(run: Run, *, key: str) -> None:
    """A run whose process died before it ended: its curve up to the last saved events
    (flushed at least once a second), so the work done is not lost."""
    st.warning("Interrupted: the process recording this run stopped before it ended. "
               "The curve up to its last saved iteration is kept.", icon="✂️")
    try:
        series = _read_events(run)
    except Exception as exc:  # noqa: BLE001 - events another process wrote: an id, no traceback
        show_unexpected(exc, "reading this run's recorded events")
        return
    _draw_events(run, series, key=key, status="Interrupted", live=False)
