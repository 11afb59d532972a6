"""A confirmation as the page, the CLI and the Runs page show it: what each trial reached
versus its peak LR (each candidate's training curve in its hover label), the winner and
the sweep's own pick marked, a table of the trials and the outcome in a few lines.

Drawn from `TrialCurve` s (read by their fields, so this layer needs no run store), so a confirmation still running (its trial events so far) and a
finished one (its `ConfirmReport`) draw alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from clr_core.present.style import GUESS, HIGHLIGHT, PALETTE, finish
from clr_core.present.words import agreement_line

if TYPE_CHECKING:  # read by attribute only: present sits below the run store's layer
    from clr_core.runs.reports import ConfirmReport, TrialCurve

__all__ = ["confirm_figure", "confirm_lines", "metric_of", "reached", "share_label",
           "sparkline", "trial_curves_figure", "trials_table"]

_BARS = "▁▂▃▄▅▆▇█"


def metric_of(trials: Sequence[TrialCurve]) -> str:
    """"accuracy" when the trials measured one (classification), else "loss"."""
    return "accuracy" if any(math.isfinite(t.val_accuracy) for t in trials) else "loss"


def reached(trial: TrialCurve, metric: str) -> float:
    """What a trial reached as it is shown: accuracy in percent, or the validation loss;
    NaN when it diverged."""
    if not math.isfinite(trial.score):
        return math.nan
    return -100.0 * trial.score if metric == "accuracy" else trial.score


def share_label(fraction: float, budget: int) -> str:
    """A round's share of the planned budget: "1/8 of the budget (38 steps)"."""
    steps = max(1, int(round(budget * fraction)))
    if fraction >= 1.0:
        return f"the full budget ({steps} steps)"
    f = Fraction(fraction).limit_denominator(16)
    return f"{f.numerator}/{f.denominator} of the budget ({steps} steps)"


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """A loss curve in eight block characters, for a hover label: its shape at a glance."""
    v = np.asarray([x for x in values if math.isfinite(x)], dtype=float)
    if not v.size:
        return "—"
    if v.size > width:
        v = np.array([chunk.mean() for chunk in np.array_split(v, width)])
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-12:
        return _BARS[0] * len(v)
    return "".join(_BARS[int(round((x - lo) / (hi - lo) * (len(_BARS) - 1)))] for x in v)


def _y_title(metric: str) -> str:
    return "reached validation accuracy (%)" if metric == "accuracy" else "reached validation loss"


def confirm_figure(trials: Sequence[TrialCurve], *, budget: int, metric: str | None = None,
                   winner: float | None = None, sweep_pick: float | None = None) -> go.Figure:
    """Reached accuracy (or loss) versus peak LR, log x with decade ticks: one series per
    round (its share of the budget), a diverged trial as an × on the axis' worst end, the
    winner a star, the sweep's pick a dashed line. Each point's hover label holds its
    trial's training-loss curve (``sparkline``) and where it ended."""
    metric = metric or metric_of(trials)
    fig = go.Figure()
    values = np.array([reached(t, metric) for t in trials], dtype=float)
    finite = values[np.isfinite(values)]
    worst = (float(finite.min()) if metric == "accuracy" else float(finite.max())) \
        if finite.size else 0.0
    unit = "%" if metric == "accuracy" else ""
    fmt = ".1f" if metric == "accuracy" else ".4f"
    shares = sorted({t.fraction for t in trials})
    for i, frac in enumerate(shares):
        group = [t for t in trials if t.fraction == frac]
        ys = [reached(t, metric) for t in group]
        ok = [(t, y) for t, y in zip(group, ys, strict=True) if math.isfinite(y)]
        bad = [t for t, y in zip(group, ys, strict=True) if not math.isfinite(y)]
        color = PALETTE[i % len(PALETTE)]
        name = share_label(frac, budget)
        if ok:
            fig.add_trace(go.Scatter(
                x=[t.peak for t, _ in ok], y=[y for _, y in ok], mode="markers+lines",
                name=name, marker={"size": 10 + 3 * i, "color": color},
                line={"color": color, "width": 1, "dash": "dot"},
                customdata=[[t.steps, sparkline(t.losses), _last(t.losses), t.seed]
                            for t, _ in ok],
                hovertemplate=(f"peak %{{x:.3g}}<br>reached %{{y:{fmt}}}{unit}<br>{name}"
                               "<br>training loss %{customdata[1]} → %{customdata[2]}"
                               "<br>seed %{customdata[3]}<extra></extra>")))
        if bad:
            fig.add_trace(go.Scatter(
                x=[t.peak for t in bad], y=[worst] * len(bad), mode="markers",
                name=f"diverged ({name})", marker={"size": 12, "symbol": "x", "color": color},
                customdata=[[t.stop_reason] for t in bad],
                hovertemplate="peak %{x:.3g}<br>%{customdata[0]}: no score<extra></extra>"))
    if winner is not None and math.isfinite(winner):
        best = [t for t in trials if t.peak == winner and math.isfinite(t.score)]
        top = max(best, key=lambda t: t.fraction) if best else None
        y = reached(top, metric) if top is not None else (worst if finite.size else 0.0)
        fig.add_trace(go.Scatter(
            x=[winner], y=[y], mode="markers", name=f"confirmed: max_lr {winner:.3g}",
            marker={"size": 22, "symbol": "star", "color": HIGHLIGHT,
                    "line": {"width": 1.5, "color": "black"}},
            hovertemplate="confirmed max_lr %{x:.3g}<extra></extra>"))
    if sweep_pick is not None and math.isfinite(sweep_pick):
        fig.add_vline(x=sweep_pick, line_dash="dash", line_color=GUESS, line_width=2)
        fig.add_trace(go.Scatter(  # the line's legend entry and hover: a line has none
            x=[sweep_pick], y=[worst], mode="markers", name=f"the sweep's pick: {sweep_pick:.3g}",
            marker={"size": 10, "symbol": "line-ns-open", "color": GUESS, "line": {"width": 2}},
            hovertemplate="the sweep's pick %{x:.3g}<extra></extra>"))
    fig.update_xaxes(type="log", title_text="peak learning rate")
    fig.update_yaxes(title_text=_y_title(metric))
    if finite.size:  # room above and below, so the winner's star is never cut by the frame
        lo, hi = float(finite.min()), float(finite.max())
        pad = 0.12 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1e-12)
        fig.update_yaxes(range=[lo - pad, hi + pad])
    fig.update_layout(uirevision="confirm", hovermode="closest", margin={"t": 30})
    return finish(fig, plot_height=340)


def _last(losses: Sequence[float]) -> str:
    finite = [v for v in losses if math.isfinite(v)]
    return f"{finite[-1]:.3g}" if finite else "—"


def trial_curves_figure(trials: Sequence[TrialCurve], *, budget: int) -> go.Figure:
    """Each trial's training loss versus its share of the run (0 to 1), so a short trial and
    a full one lie on one axis; coloured by round, as in `confirm_figure`."""
    fig = go.Figure()
    shares = sorted({t.fraction for t in trials})
    for t in trials:
        y = np.asarray(t.losses, dtype=float)
        if not y.size:
            continue
        i = shares.index(t.fraction)
        fig.add_trace(go.Scatter(
            x=np.linspace(0, 1, y.size), y=y, mode="lines",
            name=f"{t.peak:.3g} · {share_label(t.fraction, budget)}",
            line={"color": PALETTE[i % len(PALETTE)], "width": 1 + i},
            hovertemplate=f"peak {t.peak:.3g}<br>%{{x:.0%}} of its run<br>loss %{{y:.4f}}"
                          "<extra></extra>"))
    fig.update_xaxes(title_text="share of the trial's run", tickformat=".0%")
    fig.update_yaxes(title_text="training loss")
    fig.update_layout(margin={"t": 20}, showlegend=False)
    return finish(fig, plot_height=260, legend=False)


def trials_table(trials: Sequence[TrialCurve], *, budget: int, metric: str | None = None
                 ) -> pd.DataFrame:
    """One row per trial in the order they ran: round share, peak, steps, what it reached."""
    metric = metric or metric_of(trials)
    col = "accuracy %" if metric == "accuracy" else "val loss"
    return pd.DataFrame([{"round": share_label(t.fraction, budget), "peak": t.peak,
                          "steps": t.steps, "seed": t.seed, col: reached(t, metric),
                          "ended": t.stop_reason} for t in trials],
                        columns=["round", "peak", "steps", "seed", col, "ended"])


def confirm_lines(report: ConfirmReport) -> list[str]:
    """The outcome as the page and the CLI say it: the winner and what it reached, the
    sweep's pick beside it, and the cost in trainings of the planned budget."""
    best, metric = report.result.best_peak, report.metric
    lines = []
    top = [t for t in report.trials if t.peak == best and math.isfinite(t.score)]
    if math.isfinite(best) and top:
        t = max(top, key=lambda t: t.fraction)
        value = reached(t, metric)
        what = f"{value:.1f}% accuracy" if metric == "accuracy" else f"validation loss {value:.4g}"
        lines.append(f"Confirmed max_lr {best:.3g}: {what} at {share_label(t.fraction, report.budget)}.")
    elif math.isfinite(best):
        lines.append(f"Confirmed max_lr {best:.3g}.")
    else:
        lines.append("No peak confirmed: no trial finished with a score.")
    pick = report.sweep_pick
    if pick is not None and math.isfinite(pick) and math.isfinite(best):
        decades = math.log10(best / pick)
        said = f"The sweep's pick for this schedule and budget was {pick:.3g}"
        lines.append(f"{said} ({abs(decades):.2f} decades "
                     f"{'below' if decades > 0 else 'above'} the confirmed peak)."
                     if abs(decades) >= 0.01 else f"{said}: the same peak.")
    if (verdict := agreement_line(best, pick, report.result.plan.cost_in_trainings)) is not None:
        lines.append(verdict)
    lines.append(f"Cost: {report.result.cost_in_trainings:.3g} trainings of the planned "
                 f"{report.budget} steps ({len(report.trials)} trials"
                 f"{', stopped early' if report.cancelled else ''}).")
    return lines
