"""Runs: every job from the run store, surviving restarts, and the runs other processes
are recording there, drawn live. Filter, overlay several, reopen one exactly as it
finished, rename, delete, download."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pandas as pd
import streamlit as st

from clr_core.engine.results import RangeTestResult
from clr_core.errors import StoreError
from clr_core.jsonsafe import json_safe
from clr_core.present.escape import csv_safe_frame
from clr_core.present.labels import curve_label, run_label
from clr_core.present.plots import Curve, sweep_figure
from clr_core.redact import scrub_paths
from clr_core.runs.reports import (
    ConfirmReport,
    RangeTestReport,
    Report,
    SweepReport,
    TrainReport,
    report_from_dict,
)
from clr_core.suggest.recommend import RECOMMENDED
from ui.charts import plot
from ui.confirm import show_confirm_report
from ui.identity import current as current_identity
from ui.identity import explain_read_only, owner_label
from ui.jobs import may_edit, run_store
from ui.live_runs import show_live_run, show_partial_run, watch_runs
from ui.nav import ensure_app_entry
from ui.results import (
    curve_frame,
    range_summary,
    show_range_test,
    show_range_test_headline,
    show_suggestions,
    show_sweep_verdict,
    show_training_curves,
    show_training_table,
    training_curves,
)
from ui.run_labels import label_of
from ui.state import default, keep_valid
from ui.text import show_unexpected, shown
from ui.tracker_import import tracker_import_expander

ensure_app_entry()

st.title("🗂️ Runs")
st.caption("Every range test, sweep and training — kept in a SQLite file (CLR_STUDIO_DB), so "
           "they survive restarts. Runs that a script or the CLI records there "
           "(`record=` / `--record`, or a Lightning / Hugging Face `StudioCallback`) appear "
           "at once and can be watched live.")
store = run_store()
tracker_import_expander(store)

try:
    all_runs = store.list_runs()
except StoreError as exc:  # busy (said within a second) or unreadable: a message, no traceback
    st.warning(shown(exc), icon="⏳")
    st.button("Try again", key="btn.runs.retry")
    st.stop()
watch_runs(store, {r.id for r in all_runs if r.status == "running"})
if not all_runs:
    st.info("No runs yet. Finished, cancelled and failed jobs appear here.", icon="🗂️")
    st.stop()

f1, f2 = st.columns(2)
kinds = sorted({r.kind for r in all_runs})
datasets = sorted({r.dataset for r in all_runs if r.dataset})
pick_kinds = f1.multiselect("Kind", kinds, key=keep_valid("runs.kinds", kinds), placeholder="all kinds")
pick_data = f2.multiselect("Data set", datasets, key=keep_valid("runs.datasets", datasets),
                           placeholder="all data sets")
runs = [r for r in all_runs
        if (not pick_kinds or r.kind in pick_kinds) and (not pick_data or r.dataset in pick_data)]

names = {r.id: label_of(store, r) for r in runs}
table = pd.DataFrame([{
    "id": r.id, "when": dt.datetime.fromtimestamp(r.created_at).strftime("%m-%d %H:%M"),
    "run": names[r.id], "status": r.status, "headline": r.headline or "",
    "error": scrub_paths(r.error or ""),  # a run stored before errors were scrubbed
} for r in runs], columns=["id", "when", "run", "status", "headline", "error"])
st.dataframe(csv_safe_frame(table), hide_index=True, width="stretch", key="runs.table", column_config={
    # widths that fit the page at 1400 px: no column scrolled out of view
    "id": st.column_config.NumberColumn("id", width=44),
    "when": st.column_config.TextColumn("when", width=96),
    "run": st.column_config.TextColumn("run", width=340),
    "status": st.column_config.TextColumn("status", width=70),
    "headline": st.column_config.TextColumn("headline", width=300),
    "error": st.column_config.TextColumn("error", width=60)})
labels = {r.id: f"#{r.id} {names[r.id]} · {r.status}" for r in runs}
chosen_ids = st.multiselect("Open runs (one to reopen it, several to overlay)", list(labels),
                            format_func=labels.get, key=keep_valid("runs.open", labels),
                            placeholder="choose runs")
if not chosen_ids:
    st.stop()


def _load(run_id: int):
    try:
        return store.load_run(run_id)
    except StoreError as exc:
        st.error(shown(exc), icon="🚫")
        return None


chosen = [r for r in (_load(i) for i in chosen_ids) if r is not None]


def report_of(run) -> Report | None:
    """A stored run's typed report; None while it runs, after a failure, or (with a
    message) when its result cannot be read back."""
    if not run.result or run.status == "running":
        return None
    try:
        return report_from_dict(run.result, run.kind)
    except Exception as exc:  # noqa: BLE001 - whatever a process stored: an error id, no traceback
        show_unexpected(exc, f"reading back run #{run.id}'s result")
        return None


def name_of(run) -> str:
    """A run as every chip, legend and heading on this page names it: its number and what
    differs from the others (optimizer, model, LR range, the name it was recorded under)."""
    return f"#{run.id} {run_label(run.kind, run.config, run.label)}"


def range_curves(run, report: Report | None) -> list[tuple[str, RangeTestResult]]:
    """(label, range test) pairs held by a run: one for a range test, one per value of a sweep."""
    name = name_of(run)
    if isinstance(report, RangeTestReport):
        return [(name, report.range_test)]
    if isinstance(report, SweepReport):
        return [(f"{name} · {c.label}", c.range_test) for c in report.curves]
    return []


def overlay(pairs: list[tuple[str, RangeTestResult]]) -> list[Curve]:
    """Smoothed curves, each carrying its own recommended max_lr, for `sweep_figure`."""
    return [Curve(label, rt.lrs, rt.smoothed,
                  marker=rt.suggestions[RECOMMENDED].max_lr if RECOMMENDED in rt.suggestions
                  else None) for label, rt in pairs]


if len(chosen) > 1:
    st.subheader(f"Overlay of {len(chosen)} runs")
    reports = [(r, report_of(r)) for r in chosen]
    curves = overlay([p for r, rep in reports for p in range_curves(r, rep)])
    if curves:
        st.markdown("**Range tests** — smoothed loss versus learning rate; ◆ each run's "
                    "recommended max_lr")
        plot(sweep_figure(curves), key="chart.runs.overlay")
    # each training named short (its run's number and its own name), described in full on
    # hover: 80-character names made a legend wider than the chart
    trainings = [(r, tr) for r, rep in reports if isinstance(rep, TrainReport) for tr in rep.curves]
    merged = TrainReport(curves=[replace(tr, label=curve_label(r.id, tr.label)) for r, tr in trainings])
    if merged.curves:
        st.markdown("**Trainings** — versus iteration; each training its own colour in every "
                    "panel (hover a line for its run's full description)")
        show_training_curves(*training_curves(merged), key="runs.train", by_policy=False,
                             details={curve_label(r.id, tr.label): f"{name_of(r)} · {tr.label}"
                                      for r, tr in trainings})
        show_training_table(merged)
    if not curves and not merged.curves:
        st.info("The selected runs hold no curves (failed before the first batch).")
    st.stop()

run = chosen[0]
st.subheader(f"Run {shown(name_of(run))}")
try:
    made_by = owner_label(store.owner_of(run.id))
except StoreError:  # deleted meanwhile or busy: the heading goes without it
    made_by = "unknown"
st.caption(f"{shown(run.kind)} · {shown(run.status)} · {shown(run.dataset or '—')} · "
           f"{dt.datetime.fromtimestamp(run.created_at):%Y-%m-%d %H:%M:%S} · "
           f"made by {shown(made_by)}")
if run.error and run.status != "interrupted":
    st.error(f"This run failed: {shown(run.error)}", icon="🚫")
report = report_of(run)
if run.status == "running":  # recorded by another process: drawn live from the store
    show_live_run(store, run, key="runs.live")
elif run.status == "interrupted" and report is None:
    show_partial_run(run, key="runs.partial")
elif isinstance(report, RangeTestReport):
    summary = range_summary(report.range_test, run.config)  # one reading, drawn three ways
    show_range_test_headline(summary)
    show_range_test(report.range_test, key="runs.one", config=run.config, summary=summary)
    show_suggestions(report.range_test, summary, lead=False)
elif isinstance(report, SweepReport):
    plot(sweep_figure(overlay(range_curves(run, report))), key="chart.runs.sweep")
    show_sweep_verdict(report)
elif isinstance(report, TrainReport):
    show_training_curves(*training_curves(report), key="runs.one.train")
    show_training_table(report)
elif isinstance(report, ConfirmReport):
    show_confirm_report(report, key="runs.one.confirm")

with st.expander("Configuration"):
    st.json(run.config)

d1, d2, d3 = st.columns(3)
d1.download_button("Download JSON", json.dumps(json_safe({
    "id": run.id, "kind": run.kind, "label": run.label, "status": run.status,
    "config": run.config, "result": run.result}), indent=1, allow_nan=False),
                   f"run_{run.id}.json", "application/json", key="btn.runs.dl_json")
if isinstance(report, RangeTestReport):
    d2.download_button("Download curve (CSV)", curve_frame(report.range_test).to_csv(index=False),
                       f"run_{run.id}.csv", "text/csv", key="btn.runs.dl_csv")

if not may_edit(store, run.id):  # a shared server: only its maker (or an admin) edits it
    if current_identity().may_act:
        st.caption("Someone else made this run: you can view, overlay and download it; only "
                   "they (or the server's admin) can rename or delete it.")
    else:
        explain_read_only(key="runs")
    st.stop()
r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
new_label = r1.text_input("Rename", key=default(f"runs.label.{run.id}", run.label or ""))
if r2.button("Save name", key="btn.runs.rename"):
    try:
        store.rename_run(run.id, new_label.strip() or None)
    except StoreError as exc:  # busy or read-only: said, and the name is kept in the box
        st.error(shown(exc), icon="🚫")
    else:
        st.rerun()


d3.button("Delete…", key="btn.runs.delete",
          on_click=lambda: st.session_state.update({"runs.confirm_delete": run.id}))
if st.session_state.get("runs.confirm_delete") == run.id and may_edit(store, run.id):
    st.warning(f"Delete run #{run.id} from the store for good?", icon="🗑️")
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button("Delete", type="primary", key="btn.runs.confirm_delete"):
        try:
            store.delete_run(run.id)
        except StoreError as exc:  # busy or read-only: said, nothing deleted
            st.error(shown(exc), icon="🚫")
        else:
            st.session_state.pop("runs.confirm_delete", None)
            st.rerun()
    c2.button("Keep it", key="btn.runs.keep",
              on_click=lambda: st.session_state.pop("runs.confirm_delete", None))
