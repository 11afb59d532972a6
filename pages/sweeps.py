"""Sweeps: range tests across weight decays, batch sizes, momenta or seeds, overlaid as in
Smith (2018), with the paper's rule applied and each suggestion's stability shown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clr_core.engine.events import STEP
from clr_core.errors import ConfigError
from clr_core.present.labels import SWEEP_PARAM_LABELS, run_label
from clr_core.present.plots import Curve, sweep_figure
from clr_core.present.tables import stability_note, stability_table
from clr_core.runs.reports import SweepReport, report_from_dict
from clr_core.setup.configs import SWEEP_PARAMS, SweepConfig, job_device
from clr_core.suggest.recommend import RECOMMENDED
from ui.charts import plot
from ui.forms import data_model_form
from ui.jobs import current_job, job_series, job_slot, live_job, start_cancel
from ui.nav import ensure_app_entry
from ui.results import show_sweep_verdict
from ui.state import default
from ui.text import shown, shown_note
from ui.widgets import float_input, int_input

ensure_app_entry()

SLOT = job_slot("sweep")
DEFAULT_VALUES = {
    "weight_decay": "1e-3, 1e-4, 1e-5, 0",
    "batch_size": "32, 64, 128, 256",
    "momentum": "0.8, 0.9, 0.95, 0.99",
    "seed": "0, 1, 2, 3, 4",
}
RULES = {
    "weight_decay": "Smith (2018): run a range test at each weight decay and pick the largest "
                    "weight decay that still allows a high maximum learning rate.",
    "batch_size": "Smith (2018): larger batches allow larger learning rates; use the largest "
                  "batch that fits in memory.",
    "momentum": "Smith (2018): a momentum range test shows little; test 0.9–0.99 and use cyclical "
                "momentum 0.95 → 0.85 with 1cycle.",
    "seed": "No other finder shows it: repeat the same test with other seeds and see how far "
            "each suggestion moves. Trust a method whose spread is small.",
}

st.title("🧹 Sweeps")
st.caption("Range tests across a hyper-parameter, overlaid on one chart, as in Smith (2018).")


def parse_values(param: str, text: str) -> list:
    """Comma-separated values typed by a person, checked per item."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    out = []
    for t in items:
        try:
            v = float(t)
        except ValueError:
            raise ConfigError(f"values: '{t}' is not a number") from None
        if param in ("batch_size", "seed"):
            if v != int(v):
                raise ConfigError(f"values: {param} must be whole numbers, got '{t}'")
            v = int(v)
        out.append(v)
    return out


form_col, view_col = st.columns([1, 2], gap="large")
with form_col:
    param = st.radio("Sweep over", list(SWEEP_PARAMS), key=default("sweep.param", "weight_decay"),
                     format_func=lambda p: p.replace("_", " "), horizontal=True)
    st.caption(SWEEP_PARAM_LABELS[param])
    values_text = st.text_input("Values (comma-separated)",
                                key=default(f"sweep.values.{param}", DEFAULT_VALUES[param]))
    errors: list[str] = []
    base = data_model_form("sweep", errors, exclude=(param,))
    st.markdown("**Each range test**")
    c1, c2, c3 = st.columns(3)
    with c1:
        start_lr = float_input("Start LR", "sweep.start_lr", 1e-4, errors=errors)
    with c2:
        end_lr = float_input("End LR", "sweep.end_lr", 10.0, errors=errors)
    num_iter = int_input("Iterations", "sweep.num_iter", 80, min_value=10, max_value=100_000,
                         errors=errors, container=c3)
    config = None
    if not errors:
        try:
            values = parse_values(param, values_text or "")
            config = {"base": {**base, "start_lr": start_lr, "end_lr": end_lr, "num_iter": num_iter,
                               "mode": "exp"},
                      "param": param, "values": values}
            SweepConfig(**config).validate()
        except ConfigError as exc:
            config = None
            st.error(shown(exc), icon="🚫")

with form_col:
    start_cancel("sweep", "sweep", config, start_label="Start sweep",
                 label=run_label("sweep", config or {"param": param, "base": base}),
                 device=job_device(config["base"]) if config else None)


def curves_from_events(job_id: str) -> list[Curve]:
    return [Curve(curve, cols.lr, cols.smoothed)
            for (kind, curve), cols in job_series(job_id).columns().items() if kind == STEP]


def curves_from_report(report: SweepReport) -> list[Curve]:
    """Each value's smoothed curve carrying its own recommended max_lr."""
    return [Curve(c.label, c.range_test.lrs, c.range_test.smoothed,
                  marker=getattr(c.range_test.suggestions.get(RECOMMENDED), "max_lr", None))
            for c in report.curves]


def draw(job) -> None:
    if job.is_terminal and job.result:
        curves = curves_from_report(report_from_dict(job.result))
    else:
        curves = curves_from_events(job.id)
    if curves:
        plot(sweep_figure(curves), key="chart.sweep")


with view_col:
    live_job("sweep", "sweep", noun="sweep", draw=draw,
             empty_hint="Choose what to sweep, the values, and press **Start sweep**. One range "
                        "test runs per value; the curves appear here as they run.")
    status = current_job(SLOT, "sweep")
    if status is not None and status.is_terminal and status.result:
        report = report_from_dict(status.result)
        p = report.param
        st.markdown(f"**The rule.** {RULES[p]}")
        show_sweep_verdict(report)
        rows = []  # the recommendation of each value; every rule's pick is on the Runs page
        for c in report.curves:
            s = c.range_test.suggestions.get(RECOMMENDED)
            rows.append({p: c.value, "recommended max_lr": None if s is None else s.max_lr,
                         "band": "" if s is None or not s.has_band else f"{s.low:.3g} – {s.high:.3g}",
                         "stopped": c.range_test.stop_reason,
                         "confidence": c.range_test.confidence})
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        if report.stability:
            combined = report.recommended
            if combined is not None and not combined.reliable:
                st.warning(f"**No reliable recommendation** from these seeds: {shown_note(combined.caveat)}",
                           icon="🤷")
            elif combined is not None:
                st.success(f"**Recommended max_lr {combined.max_lr:.3g}** (band "
                           f"{combined.low:.3g} – {combined.high:.3g}), base_lr "
                           f"{combined.base_lr:.3g}. {shown_note(combined.explanation)}", icon="🎯")
            st.subheader("Suggestion stability across seeds")
            st.dataframe(stability_table(report.stability), hide_index=True,
                         width="stretch")
            note = stability_note(report.stability)  # from the table's own numbers
            st.caption("Spread is log10(max / min) of the suggested max_lr: 0.3 means a factor "
                       "of 2." + (f" {note}" if note else ""))
