"""Drawing a run's typed result; shared by the live pages and the runs page so a reopened
run looks exactly as it did when it finished."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import streamlit as st

from clr_core.engine.baselines import compare_runs
from clr_core.engine.events import EventColumns
from clr_core.engine.results import RangeTestResult
from clr_core.present.escape import csv_safe_frame
from clr_core.present.plots import (
    LIVE_MAX_POINTS,
    MAX_POINTS,
    Curve,
    accuracy_figure,
    line_figure,
    range_test_figure,
    stability_limit_label,
)
from clr_core.present.summary import TOO_SHORT, RangeTestSummary
from clr_core.present.tables import leaders, summary_table
from clr_core.present.training_plots import training_figure
from clr_core.runs.reports import TrainReport
from clr_core.setup.data_catalogue import summary_of
from clr_core.suggest.families import family_label
from clr_core.suggest.recommend import RECOMMENDED
from clr_core.suggest.types import Suggestion
from ui.charts import plot
from ui.text import shown, shown_frame
from ui.text import shown_note as _note


def curve_frame(rt: RangeTestResult) -> pd.DataFrame:
    return pd.DataFrame({"iteration": np.arange(rt.iterations), "lr": rt.lrs,
                         "loss": rt.losses, "smoothed": rt.smoothed})


def range_summary(rt: RangeTestResult, config: Mapping | None = None) -> RangeTestSummary:
    """The one summary a page draws a range test from (headline, chart, rules, warnings),
    with the run's config: its dataset says whether accuracy regret applies."""
    return summary_of(rt, config)


def show_range_test(rt: RangeTestResult, *, key: str, highlight: str | None = RECOMMENDED,
                    config: Mapping | None = None, live: bool = False,
                    summary: RangeTestSummary | None = None) -> None:
    """The loss-versus-LR chart, the recommendation highlighted, the other rules a layer,
    the stability limit on its own panel when the sharpness was measured, and accuracy if
    measured. ``config``: the run's (its momentum names the limit); ``summary``: the
    result's, when the page has it already. ``live``: a job still streaming (fewer points)."""
    log_x = rt.mode == "exp"
    summary = summary if summary is not None else range_summary(rt, config)
    fig = range_test_figure(rt, summary, highlight=highlight,
                            max_points=LIVE_MAX_POINTS if live else MAX_POINTS)
    plot(fig, key=f"chart.{key}.loss")
    beta = summary.stability_beta
    smooth = float((config or {}).get("smooth_beta") or 0.98)
    notes = [f"Dots: the loss of each batch. Line: their running average over about "
             f"{1 / max(1 - smooth, 1e-3):.0f} batches, which lags the dots — it bottoms out "
             "later and higher than they do."]
    if rt.suggestions:
        notes.append("Green: the recommended max_lr and the band of max_lr the curve supports. "
                     "Click “other rules” under the chart to show every rule's pick.")
    if len(rt.sharpness) and rt.sharpness_kind == "adam":
        notes.append(f"Lower panel: the LR divided by Adam's stability limit "
                     f"{stability_limit_label(beta, 'adam')}, λmax the sharpness preconditioned by "
                     "Adam's second-moment estimate (λmax(P⁻¹H), P = √v̂ + ε); above the dashed line "
                     "at 1 the adaptive step overshoots (Cohen et al., “Adaptive Gradient Methods at "
                     "the Edge of Stability”, 2022).")
    elif len(rt.sharpness):
        notes.append(f"Lower panel: the LR divided by the stability limit "
                     f"{stability_limit_label(beta, rt.sharpness_kind)}; above the dashed line at 1 gradient "
                     "descent overshoots and the loss soon blows up (Cohen et al., “Gradient "
                     "Descent on Neural Networks Typically Occurs at the Edge of Stability”, 2021).")
    st.caption(" ".join(notes))
    if rt.sharpness_note:
        st.caption(_note(rt.sharpness_note.capitalize() + "."))
    if rt.optimizer_family:  # which family the limit and the margin assumed (issue 31)
        st.caption(shown(family_label(rt)))
    if len(rt.accuracies) and np.isfinite(rt.val_accuracy).any():
        plot(accuracy_figure([Curve("validation accuracy", rt.val_lrs, rt.val_accuracy)],
                             log_x=log_x), key=f"chart.{key}.acc")
    elif len(rt.accuracies):  # no accuracy (a language model): its validation loss instead
        fig = line_figure([Curve("validation loss", rt.val_lrs, rt.val_losses)],
                          x_title="learning rate", y_title="validation loss", log_x=log_x,
                          height=300, uirevision="val-loss-lr")
        fig.update_traces(mode="lines+markers")
        plot(fig, key=f"chart.{key}.val_loss")


def unreliable_reason(suggestions: Mapping[str, Suggestion]) -> str | None:
    """Why there is no recommendation to act on (its confidence is "none": the reason and
    what to do next), or None when there is one."""
    s = suggestions.get(RECOMMENDED)
    if s is None:
        return TOO_SHORT
    return None if s.reliable else s.caveat


def show_range_test_headline(summary: RangeTestSummary) -> bool:
    """The range test's answer first, in plain words ("Train with max_lr 0.1"), its band in a
    sentence, then the rule's own explanation; or "No reliable recommendation", why, and
    what to do next: the summary's fields, as the CLI and a notebook print them. Returns
    whether there is a confident recommendation to act on (the page offers "Use in
    designer" as its primary button only then)."""
    s, said = summary.recommendation, summary.advice
    if s is None or not s.reliable:
        reason = unreliable_reason({} if s is None else {RECOMMENDED: s})
        st.warning(f"**No reliable recommendation**: {_note(reason)}", icon="🤷")
        if s is not None:
            st.caption(f"The rules' best guess, not to train with unchecked: max_lr "
                       f"{s.max_lr:.3g}. " + _note(s.explanation))
        return False
    if said.warning:
        warn = f"**{shown(said.warning_lead)}**: {_note(said.warning)}"
        if said.primary:  # usable, with its caveat
            st.info(warn, icon="⚠️")
        else:  # the page's own numbers say not to train with it yet
            st.warning(warn, icon="⚠️")
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.metric("Recommended max_lr", f"{s.max_lr:.3g}")
    c2.metric("base_lr", f"{s.base_lr:.3g}")
    if summary.band_text:
        c3.metric("max_lr band", summary.band_text,
                  help="The max_lr values this curve supports; narrower after a seed sweep.")
    st.markdown(f"**{shown(said.action_lead)}**{_note(said.action)}")
    if s.explanation:
        st.caption(_note(s.explanation))
    return said.primary


def show_suggestions(rt: RangeTestResult, summary: RangeTestSummary, *, lead: bool = True) -> None:
    """The recommendation first (``lead=False``: the page already headlines it), then the
    other rules by origin with their measured regret (not for a task scored by loss, which
    has no accuracy to lose: ``summary.regret_shown``), and a warning when they disagree by
    more than half a decade."""
    if lead:
        show_range_test_headline(summary)
    warning = summary.warning("disagreement")
    if warning:
        st.warning(_note(warning.text), icon="⚠️")
    table = summary_table(summary)
    if len(table):
        if not summary.regret_shown:
            st.markdown("**Other rules** — the benchmark's regret (validation-accuracy points lost "
                        "on its classification tasks) is not shown: this model is scored by its "
                        "loss, and those numbers say nothing about it")
        else:
            st.markdown("**Other rules** — regret: points of validation accuracy lost against a "
                        "grid search when 1cycle trains at the rule's suggestion (worst and mean "
                        "over the suggestion benchmark's tasks)")
        # a static table: its cells wrap, so no column or explanation is cut short
        st.table(shown_frame(table).style.format(
            {"max_lr": "{:.3g}", "base_lr": "{:.3g}", "worst regret (points)": "{:.1f}",
             "mean regret (points)": "{:.2f}"}, na_rep="").hide(axis="index"))
    elif summary.warning("no_suggestion"):
        st.warning(summary.warning("no_suggestion").text, icon="🤷")
    if summary.divergence_note:
        st.info(_note(summary.divergence_note.capitalize() + "."), icon="ℹ️")
    if summary.group_lrs:
        lrs = ", ".join(f"group {i}: **{lr:.3g}**" for i, lr in enumerate(summary.group_lrs))
        st.caption(f"Per-group LRs at the recommended max_lr: {lrs}. The test swept group "
                   f"{summary.reference_group} (the largest LR) and kept every other group's "
                   "ratio to it, so these LRs are what the recommendation means for your param "
                   "groups.")


def show_sweep_verdict(report) -> None:
    """The paper's rule applied to a sweep: green only with evidence; a tie says so."""
    rec = report.recommendation
    if rec is None:
        return
    if rec.tie:
        st.info(f"**No verdict**: {_note(rec.why)}.", icon="🟰")
    else:
        st.success(f"Use **{_note(report.param)} = {_note(rec.value)}**: {_note(rec.why)}.", icon="✅")


def training_frame(report: TrainReport) -> tuple[pd.DataFrame, str | None]:
    """The comparison table of a training job (Smith 2015's claim: CLR reaches the
    fixed-LR accuracy in fewer iterations) and the name of the reference run."""
    runs = {r.label: r.train for r in report.curves}
    if not runs:
        return pd.DataFrame(), None
    df = compare_runs(runs).reset_index()
    reference = df.loc[df["is_reference"], "run"].iloc[0]
    table = pd.DataFrame({
        "run": df["run"], "final val acc": df["final_val_accuracy"],
        "best val acc": df["best_val_accuracy"],
        "iterations to reference accuracy": df["iters_to_target"],
        "speed-up": df["speedup"], "stopped": df["stop_reason"],
    })
    val_loss = {r.label: r.train.eval_curve("val_loss")[1] for r in report.curves}
    if any(np.isfinite(v).any() for v in val_loss.values()):  # what a language model is scored by
        table["final val loss"] = [_last_finite(val_loss[n]) for n in table["run"]]
        table["best val loss"] = [float(np.nanmin(val_loss[n])) if np.isfinite(val_loss[n]).any()
                                  else np.nan for n in table["run"]]
    return table, reference


def _last_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if len(finite) else np.nan


def training_curves(report: TrainReport) -> tuple[list[Curve], ...]:
    """Loss, accuracy, LR, momentum and validation-loss curves of a finished training job
    (validation loss only where accuracy does not apply, as for a language model)."""
    loss, acc, lr, mom, val_loss = [], [], [], [], []
    for r in report.curves:
        t, label = r.train, r.label
        it = np.asarray(t.iterations, dtype=float)
        loss.append(Curve(label, it, np.asarray(t.losses, dtype=float)))
        lr.append(Curve(label, it, np.asarray(t.lrs, dtype=float)))
        moms = np.asarray(t.momentums, dtype=float)
        if len(moms) and np.isfinite(moms).any():
            mom.append(Curve(label, it, moms))
        if t.evals:
            its, accs = t.eval_curve("val_accuracy")
            if np.isfinite(accs).any():
                acc.append(Curve(label, its, accs))
            else:
                val_loss.append(Curve(label, *t.eval_curve("val_loss")))
    return loss, acc, lr, mom, val_loss


def streamed_training_curves(series: dict[tuple[str, str], EventColumns]
                             ) -> tuple[list[Curve], ...]:
    """Per-curve loss, accuracy, LR, momentum and (no accuracy) validation loss from a
    running job's streamed events."""
    loss, acc, lr, mom, val_loss = [], [], [], [], []
    for (kind, curve), cols in series.items():
        curve = curve or "run"
        if kind == "step":
            loss.append(Curve(curve, cols.iteration, cols.loss))
            lr.append(Curve(curve, cols.iteration, cols.lr))
            if np.isfinite(cols.momentum).any():
                mom.append(Curve(curve, cols.iteration, cols.momentum))
        elif kind == "eval" and np.isfinite(cols.val_accuracy).any():
            acc.append(Curve(curve, cols.iteration, cols.val_accuracy))
        elif kind == "eval":
            val_loss.append(Curve(curve, cols.iteration, cols.val_loss))
    return loss, acc, lr, mom, val_loss


def show_training_curves(loss: list[Curve], acc: list[Curve], lr: list[Curve], mom: list[Curve],
                         val_loss: list[Curve] = (), *, key: str, live: bool = False,
                         by_policy: bool = True, details: Mapping[str, str] | None = None) -> None:
    """Loss, accuracy (or validation loss where accuracy does not apply), LR and momentum as
    panels of one chart with one legend (`clr_core.present.training_plots.training_figure`);
    ``live``: a job still streaming (fewer points); ``by_policy``: runs coloured by their
    policy (False: an overlay of runs, one palette colour each); ``details``: each curve's
    full description, on hover."""
    if not (loss or acc or lr or mom or val_loss):
        return
    fig = training_figure(loss, acc, lr, mom, val_loss, by_policy=by_policy, details=details,
                          max_points=LIVE_MAX_POINTS if live else MAX_POINTS,
                          uirevision=f"{key}-training")
    plot(fig, key=f"chart.{key}.training")


def show_training_table(report: TrainReport) -> None:
    table, reference = training_frame(report)
    if not len(table):
        return
    shown_table = table.copy()  # a run that never got there says so, not "None"
    shown_table["iterations to reference accuracy"] = [
        "not reached" if pd.isna(v) else f"{int(v)}"
        for v in table["iterations to reference accuracy"]]
    # no speed-up without reaching the reference: a dash, where a number column shows "None"
    shown_table["speed-up"] = ["—" if pd.isna(v) else f"{v:.2f}×" for v in table["speed-up"]]
    shown_table = shown_table.dropna(axis=1, how="all")  # accuracy, for a language model
    st.dataframe(csv_safe_frame(shown_table), hide_index=True, width="stretch",
                 column_config={"final val acc": st.column_config.NumberColumn(format="percent"),
                                "best val acc": st.column_config.NumberColumn(format="percent")})
    st.caption(f"Reference accuracy: 99% of the best of **{shown(reference)}**. Speed-up: its "
               "iterations to get there divided by each run's.")
    acc = leaders(dict(zip(table["run"], table["best val acc"], strict=True)))
    if len(acc) > 1:  # the table cannot tell them apart: no trophy for one of them
        st.info(f"No single best: {', '.join(f'**{shown(r)}**' for r in acc)} tie at "
                f"{table.set_index('run').loc[acc[0], 'best val acc']:.1%} best validation "
                "accuracy.", icon="🟰")
    elif acc:
        best = table.set_index("run").loc[acc[0]]
        st.success(f"Best validation accuracy: **{shown(acc[0])}** ({best['best val acc']:.1%}).", icon="🏆")
    elif "best val loss" in table and table["best val loss"].notna().any():
        low = leaders(dict(zip(table["run"], table["best val loss"], strict=True)), higher=False,
                      fmt="{:.4g}")
        value = table.set_index("run").loc[low[0], "best val loss"]
        if len(low) > 1:
            st.info(f"No single best: {', '.join(f'**{shown(r)}**' for r in low)} tie at "
                    f"{value:.4g} lowest validation loss.", icon="🟰")
        else:
            st.success(f"Lowest validation loss: **{shown(low[0])}** ({value:.4g}); "
                       "accuracy does not apply to this model.", icon="🏆")
