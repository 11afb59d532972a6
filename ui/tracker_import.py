"""The Runs page's "Import from TensorBoard or MLflow": a past run's loss and LR curves
brought into the run store (`clr_core.trackers`), so they are drawn and overlaid with
designed schedules like the app's own runs.

Only folders under the data roots the server's operator allows are read
(`clr_core.setup.data_roots.confine`): a visitor names a folder relative to the data root
(or inside another allowed root), never an arbitrary server path, and messages name the
folder by its role, never by where it is on the disk.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from clr_core.errors import ClrError
from clr_core.present.plots import Curve, line_figure
from clr_core.runs.reports import TrainReport, report_from_dict
from clr_core.runs.store import RunStore
from clr_core.schedules import from_dict as schedule_from_dict
from clr_core.schedules.rules import fit_to_length
from clr_core.setup.data_roots import confine, shown
from clr_core.trackers import import_mlflow, import_tensorboard, tensorboard_runs
from ui.charts import plot
from ui.designer_state import CURRENT
from ui.jobs import owner_id
from ui.text import shown as shown_text

__all__ = ["tracker_import_expander"]

SOURCES = ("TensorBoard log folder", "MLflow run")


def _failed(exc: BaseException) -> None:
    """A message without a traceback or a server path: ours say what is wrong; a
    library's own failure is named by its type only."""
    if isinstance(exc, ClrError):
        st.error(shown_text(exc), icon="🚫")
    else:
        st.error(f"That could not be read ({type(exc).__name__}); is it a TensorBoard log "
                 "folder or an MLflow store?", icon="🚫")


def _tensorboard(store: RunStore) -> int | None:
    typed = st.text_input("Log folder", key="runs.import.tb_dir",
                          placeholder="e.g. tb_logs (under the data root)",
                          help="A folder with TensorBoard event files (tensorboard --logdir), "
                               "inside the data root or another folder the server allows.")
    if not typed.strip():
        return None
    try:
        folder = confine(typed)
        runs = tensorboard_runs(folder)
    except Exception as exc:  # noqa: BLE001 - said on the page, never a traceback
        _failed(exc)
        return None
    if not runs:
        st.warning("No TensorBoard scalars in that folder.", icon="🔎")
        return None
    run = st.selectbox("Run", runs, key="runs.import.tb_run", format_func=lambda r: r or ".") \
        if len(runs) > 1 else runs[0]
    if not st.button("Import", key="btn.runs.import.tb"):
        return None
    name = shown(folder / run) if run else shown(folder)
    try:
        short = "/".join(p for p in (folder.name, run) if p)
        return import_tensorboard(folder, run=run, store=store, source_name=name,
                                  label=f"tensorboard: {short}", owner=owner_id())
    except Exception as exc:  # noqa: BLE001
        _failed(exc)
        return None


def _mlflow(store: RunStore) -> int | None:
    typed = st.text_input("MLflow tracking folder", key="runs.import.mlflow_dir",
                          placeholder="e.g. mlruns (under the data root)",
                          help="The folder MLflowSink wrote (its mlflow.db), inside the data "
                               "root or another folder the server allows.")
    run_id = st.text_input("Run id", key="runs.import.mlflow_run",
                           help="The run's id, as the MLflow UI shows it.")
    if not st.button("Import", key="btn.runs.import.mlflow"):
        return None
    if not typed.strip() or not run_id.strip():
        st.error("Name the tracking folder and the run id.", icon="🚫")
        return None
    try:
        folder = confine(typed)
        return import_mlflow(run_id.strip(), tracking_uri=folder, store=store,
                             source_name=f"{run_id.strip()[:12]} in {shown(folder)}",
                             label=f"mlflow: {run_id.strip()[:12]}", owner=owner_id())
    except Exception as exc:  # noqa: BLE001
        _failed(exc)
        return None


def designed_overlay(store: RunStore, run_id: int) -> None:
    """The imported run's LR per step with the designer's current schedule fitted to the
    same number of steps (`fit_to_length`), on one chart: the LR that was run beside the
    one designed. Nothing without a designed schedule in this session."""
    designed = st.session_state.get(CURRENT)
    if not designed:
        st.caption("Design a schedule on the Schedule designer to see it here over this run.")
        return
    try:
        report = report_from_dict(store.load_run(run_id).result, "train")
        if not isinstance(report, TrainReport) or not report.curves:
            return
        train = report.curves[0].train
        steps = np.asarray(train.iterations, dtype=float)
        fitted, note = fit_to_length(dict(designed), len(steps))
        lrs = schedule_from_dict(fitted).trace(len(steps))
    except Exception as exc:  # noqa: BLE001 - a schedule that cannot fit: said, not raised
        _failed(exc)
        return
    curves = [Curve("imported", steps, np.asarray(train.lrs, dtype=float)),
              Curve(f"designed: {fitted['policy']}", steps, np.asarray(lrs, dtype=float))]
    plot(line_figure(curves, x_title="step", y_title="learning rate", height=260,
                     uirevision="runs.import.overlay"), key="chart.runs.import.overlay")
    if note:
        st.caption(shown_text(note))


def tracker_import_expander(store: RunStore) -> None:
    """The import form in an expander; an imported run is opened at once (call it before
    the page's run picker is drawn)."""
    with st.expander("Import from TensorBoard or MLflow"):
        st.caption("A past run's training loss and learning rate per step (and validation "
                   "metrics, momentum where logged), stored as a training run: open it "
                   "with a designed schedule's training to overlay them.")
        if owner_id() is None:  # an anonymous visitor of a shared server adds no run
            st.info("Importing a run into this shared server needs a sign-in.", icon="🔒")
            return
        source = st.radio("Source", SOURCES, key="runs.import.source", horizontal=True)
        new_id = _tensorboard(store) if source == SOURCES[0] else _mlflow(store)
        if new_id is not None:
            st.session_state["runs.open"] = [new_id]
            st.session_state["runs.imported"] = new_id
        imported = st.session_state.get("runs.imported")
        if imported is not None:
            st.success(f"Imported as run #{imported}.", icon="📥")
            designed_overlay(store, imported)
