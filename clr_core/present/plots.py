"""Plotly figures the pages draw. Built here so they are testable without Streamlit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from clr_core.present.escape import plotly_text  # user labels shown as text
from clr_core.suggest.stability import stability_limit
from clr_core.suggest.types import Suggestion

__all__ = ["LIVE_MAX_POINTS", "MAX_POINTS", "PALETTE", "Curve", "accuracy_figure", "decimate", "line_figure", "range_test_figure",
           "schedule_figures", "stability_limit_label", "sweep_figure"]

PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
)


@dataclass(frozen=True)
class Curve:
    """One named series; x and y are equal-length 1-D arrays."""

    label: str
    x: np.ndarray
    y: np.ndarray
    dash: str | None = None


#: Points per series sent to the browser: enough to see every cycle's peak, few enough that
#: a chart redrawn twice a second while a job streams doesn't block the page.
MAX_POINTS = 1500
#: Points per series while a job streams. The browser redraws a live chart twice a second on
#: the machine that also trains, and its redraw cost grows with the points: bench/ui_latency.py
#: measures how much longer a typed value takes to answer while a job streams. Bucket minima and maxima still show every spike.
LIVE_MAX_POINTS = 300


def decimate(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Thin a long series for the browser while keeping every bucket's min and max,
    so peaks of a cyclical schedule survive (plain striding would alias them away)."""
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n <= max_points:
        return x, y
    buckets = max(1, max_points // 2)
    size = -(-n // buckets)  # ceil: equal buckets, the last one may be shorter
    full = n // size
    # NaN (a diverged loss) must not win a bucket; without any, no masked copy is needed
    lows_of, highs_of = (y, y) if not np.isnan(y).any() else (
        np.where(np.isnan(y), np.inf, y), np.where(np.isnan(y), -np.inf, y))
    keep = [np.array([0, n - 1])]
    for ext, pick in ((lows_of, np.argmin), (highs_of, np.argmax)):
        starts = np.arange(full) * size
        keep.append(starts + pick(ext[:full * size].reshape(full, size), axis=1))
        if full * size < n:
            keep.append(np.array([full * size + pick(ext[full * size:])]))
    keep = np.unique(np.concatenate(keep))
    return x[keep], y[keep]


def line_figure(
    curves: Sequence[Curve],
    *,
    x_title: str,
    y_title: str,
    title: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    hover_x: str = "%{x}",
    hover_y: str = "%{y:.4g}",
    height: int = 360,
    uirevision: str | None = None,
    max_points: int = MAX_POINTS,
) -> go.Figure:
    """A line chart of several curves with a hover that names both coordinates."""
    fig = go.Figure()
    for i, c in enumerate(curves):
        x, y = decimate(c.x, c.y, max_points)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                name=plotly_text(c.label),
                line={"color": PALETTE[i % len(PALETTE)], "dash": c.dash},
                hovertemplate=f"{plotly_text(c.label)}<br>{x_title}: {hover_x}<br>{y_title}: {hover_y}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hovermode="closest",
        uirevision=uirevision or title or "fixed",
    )
    fig.update_xaxes(title_text=x_title, type="log" if log_x else "linear")
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear")
    return fig


def schedule_figures(
    schedules: Sequence[tuple[str, object]], num_iterations: int, *, log_y: bool = False
) -> tuple[go.Figure, go.Figure | None]:
    """LR and momentum previews of labelled schedules; the momentum figure is None
    when no schedule has momentum."""
    lr_curves, mom_curves = [], []
    for label, sched in schedules:
        n = num_iterations
        total = getattr(sched, "total_steps", None)
        if total is not None:
            n = min(n, int(total))
        k = np.arange(n, dtype=np.int64)
        lr_curves.append(Curve(label, k, sched.trace(n)))
        mom = sched.momentum_trace(n)
        if mom is not None:
            mom_curves.append(Curve(label, k, mom))
    lr_fig = line_figure(
        lr_curves, x_title="iteration", y_title="learning rate", log_y=log_y,
        hover_y="%{y:.4g}", uirevision="schedule-lr",
    )
    mom_fig = None
    if mom_curves:
        mom_fig = line_figure(
            mom_curves, x_title="iteration", y_title="momentum", hover_y="%{y:.4f}",
            height=260, uirevision="schedule-mom",
        )
    return lr_fig, mom_fig


def _clip_loss_axis(fig: go.Figure, finite: np.ndarray, *, keep_first: bool = False,
                    floor: float = np.inf) -> None:
    """Cut the loss axis above the 95th percentile so a diverging tail doesn't flatten
    the interesting part of the curve (keeping the starting loss in view if asked)."""
    if not len(finite):
        return
    lo, hi = min(float(finite.min()), floor), float(np.quantile(finite, 0.95))
    if keep_first:
        hi = max(hi, float(finite[0]))
    pad = 0.1 * max(hi - lo, 1e-6)
    fig.update_yaxes(range=[lo - pad, hi + pad])


def stability_limit_label(momentum: float, kind: str = "gd") -> str:
    if kind == "adam":
        return f"(2+2β1)/((1−β1)·λmax(P⁻¹H)), β1={momentum:g}"
    return "2/λmax" if not momentum else f"2(1+β)/λmax, β={momentum:g}"


def _add_stability_limit(fig: go.Figure, sharpness, momentum: float, kind: str = "gd") -> None:
    """The LR at which the loss becomes unstable, 2(1+β)/λmax (Cohen et al. 2021), on a
    right-hand log axis against the LR, beside the diagonal "LR itself": where the LR curve
    crosses the limit, the sweep has passed it; from there on the band is shaded."""
    rows = np.asarray(sharpness, dtype=float).reshape(-1, 3)
    lam = rows[:, 2]
    ok = np.isfinite(lam) & (lam > 0)
    if not ok.any():
        return
    lr = rows[ok, 1]
    limit = np.array([stability_limit(v, momentum, kind) for v in lam[ok]])
    label = stability_limit_label(momentum, kind)
    fig.add_trace(go.Scatter(
        x=lr, y=limit, mode="lines+markers", name=f"stability limit {label}", yaxis="y2",
        line={"color": "#d62728", "dash": "dot", "width": 2}, marker={"size": 6},
        hovertemplate=f"lr %{{x:.3g}}<br>{label} %{{y:.3g}}<extra></extra>",
    ))
    span = np.array([min(lr.min(), limit.min()), max(lr.max(), limit.max())])
    fig.add_trace(go.Scatter(x=span, y=span, mode="lines", name="LR itself", yaxis="y2",
                             line={"color": "#7f7f7f", "dash": "dash", "width": 1},
                             hoverinfo="skip"))
    over = np.nonzero(lr >= limit)[0]
    if len(over):
        k = over[0]
        cross = lr[k]
        if k > 0:  # log-linear interpolation of log(lr / limit) between the two estimates
            a, b = np.log(lr[k - 1] / limit[k - 1]), np.log(lr[k] / limit[k])
            t = a / (a - b) if a != b else 1.0
            cross = float(np.exp(np.log(lr[k - 1]) + t * (np.log(lr[k]) - np.log(lr[k - 1]))))
        fig.add_vrect(x0=cross, x1=float(lr.max()), fillcolor="red", opacity=0.08, line_width=0,
                      annotation_text=f"LR > {label}", annotation_position="bottom left")
    lo, hi = np.log10(span[0]) - 0.2, np.log10(span[1]) + 0.2
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "type": "log",
                              "range": [lo, hi], "dtick": 1, "tickformat": ".0e",
                              "title": {"text": "stability limit (LR)"}, "showgrid": False})


def range_test_figure(
    lrs, losses, smoothed, *, log_x: bool = True,
    suggestions: Mapping[str, Suggestion] | None = None,
    highlight: str | None = None, sharpness=None, momentum: float = 0.0,
    max_points: int = MAX_POINTS, sharpness_kind: str = "gd",
) -> go.Figure:
    """Loss versus LR: raw points faint, the smoothed curve bold, each suggestion a marker
    at its max_lr, and the highlighted one's [base_lr, max_lr] band shaded. ``sharpness``
    rows (iteration, lr, lambda_max) add the stability limit 2(1+β)/λmax."""
    lrs = np.asarray(lrs, dtype=float)
    smoothed = np.asarray(smoothed, dtype=float)
    fig = go.Figure()
    raw_x, raw_y = decimate(lrs, np.asarray(losses, dtype=float), max_points)
    sm_x, sm_y = decimate(lrs, smoothed, max_points)
    fig.add_trace(go.Scatter(
        x=raw_x, y=raw_y, mode="markers", name="loss (raw)",
        marker={"size": 4, "color": "rgba(31,119,180,0.35)"},
        hovertemplate="lr %{x:.3g}<br>loss %{y:.4f}<extra>raw</extra>",
    ))
    fig.add_trace(go.Scatter(
        x=sm_x, y=sm_y, mode="lines", name="loss (smoothed)", line={"color": PALETTE[0], "width": 3},
        hovertemplate="lr %{x:.3g}<br>smoothed %{y:.4f}<extra>smoothed</extra>",
    ))
    finite = smoothed[np.isfinite(smoothed)]
    raw = np.asarray(losses, dtype=float)
    raw_low = raw[np.isfinite(raw)].min(initial=np.inf)
    if suggestions and len(finite):
        order = np.argsort(lrs)
        for j, (name, s) in enumerate(suggestions.items()):
            max_lr = float(s.max_lr)
            past = " (past divergence)" if getattr(s, "past_divergence", False) else ""
            y = float(np.interp(max_lr, lrs[order], np.nan_to_num(smoothed[order], nan=finite.max())))
            fig.add_trace(go.Scatter(
                x=[max_lr], y=[y], mode="markers+text", name=f"{name}: {max_lr:.3g}{past}",
                text=[name], textposition="top center",
                marker={"size": 12, "symbol": "diamond", "color": PALETTE[(j + 2) % len(PALETTE)],
                        "line": {"width": 1, "color": "black"}},
                hovertemplate=f"{name}<br>max_lr %{{x:.3g}}<br>base_lr {s.base_lr:.3g}<extra></extra>",
            ))
            if name == highlight and s.has_band:
                # the max_lr band the evidence supports (clr_core.suggest.recommend)
                fig.add_vrect(x0=float(s.low), x1=float(s.high), fillcolor="green",
                              opacity=0.15, line_width=0, annotation_text=f"{name} max_lr band",
                              annotation_position="top left")
            elif name == highlight:
                fig.add_vrect(x0=float(s.base_lr), x1=max_lr, fillcolor="green", opacity=0.12,
                              line_width=0, annotation_text=f"{name} band", annotation_position="top left")
    _clip_loss_axis(fig, finite, keep_first=True, floor=raw_low)
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
                      uirevision="range-test")
    fig.update_xaxes(title_text="learning rate", type="log" if log_x else "linear")
    fig.update_yaxes(title_text="loss")
    if sharpness is not None and len(sharpness):  # after the loss axis is set: its own axis
        _add_stability_limit(fig, sharpness, momentum, sharpness_kind)
    return fig


def accuracy_figure(curves: Sequence[Curve], *, log_x: bool = True, x_title: str = "learning rate") -> go.Figure:
    """Validation accuracy versus LR (Smith's range test) or versus iteration (training)."""
    fig = line_figure(curves, x_title=x_title, y_title="validation accuracy", log_x=log_x,
                      hover_y="%{y:.1%}", height=300, uirevision=f"acc-{x_title}")
    for trace in fig.data:
        trace.mode = "lines+markers"
    fig.update_yaxes(tickformat=".0%")
    return fig


def sweep_figure(curves: Sequence[Curve], *, log_x: bool = True,
                 markers: dict[str, float] | None = None) -> go.Figure:
    """Smoothed loss versus LR for several range tests on one chart (Smith 2018's
    weight-decay and batch-size plots), each with its suggested max_lr marked."""
    fig = line_figure(curves, x_title="learning rate", y_title="smoothed loss", log_x=log_x,
                      hover_x="%{x:.3g}", hover_y="%{y:.4f}", height=460, uirevision="sweep")
    ys = np.concatenate([np.asarray(c.y, dtype=float) for c in curves]) if curves else np.array([])
    finite = ys[np.isfinite(ys)]
    for i, c in enumerate(curves):
        lr = (markers or {}).get(c.label)
        if lr is None or not len(c.x):
            continue
        x, y = np.asarray(c.x, dtype=float), np.asarray(c.y, dtype=float)
        order = np.argsort(x)
        ok = np.isfinite(y[order])
        yv = float(np.interp(lr, x[order][ok], y[order][ok])) if ok.any() else 0.0
        fig.add_trace(go.Scatter(
            x=[lr], y=[yv], mode="markers", showlegend=False, name=f"{plotly_text(c.label)} max_lr",
            marker={"size": 13, "symbol": "diamond", "color": PALETTE[i % len(PALETTE)],
                    "line": {"width": 1, "color": "black"}},
            hovertemplate=f"{plotly_text(c.label)}<br>suggested max_lr %{{x:.3g}}<extra></extra>",
        ))
    _clip_loss_axis(fig, finite)
    return fig
