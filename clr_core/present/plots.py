"""Plotly figures the pages draw. Built here so they are testable without Streamlit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from clr_core.present.escape import plotly_text  # user labels shown as text
from clr_core.present.style import GUESS, HIGHLIGHT, PALETTE, color_for, finish, tick_text
from clr_core.present.summary import RangeTestSummary, summarize
from clr_core.suggest.recommend import RECOMMENDED
from clr_core.suggest.stability import LIMIT_KINDS, stability_limit

if TYPE_CHECKING:
    from clr_core.engine.results import RangeTestResult

__all__ = ["LIVE_MAX_POINTS", "MAX_POINTS", "PALETTE", "Curve", "accuracy_figure", "decimate",
           "line_figure", "range_test_figure", "schedule_figures", "stability_limit_label",
           "stability_ratio", "sweep_figure"]

@dataclass(frozen=True)
class Curve:
    """One named series; x and y are equal-length 1-D arrays."""

    label: str
    x: np.ndarray
    y: np.ndarray
    dash: str | None = None
    #: this curve's own suggested max_lr (overlays): a marker drawn on this curve only
    marker: float | None = None


_DASHES = ("dash", "dot", "dashdot", "longdash")

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
    height: int = 300,
    uirevision: str | None = None,
    max_points: int = MAX_POINTS,
    by_policy: bool = True,
) -> go.Figure:
    """A line chart of several curves with a hover that names both coordinates; each curve
    in its policy's colour (``by_policy``; else the palette in order), a repeated colour
    dashed, dotted, …, the legend below the plot."""
    fig = go.Figure()
    seen: dict[str, int] = {}
    for i, c in enumerate(curves):
        x, y = decimate(c.x, c.y, max_points)
        color = color_for(c.label, i) if by_policy else PALETTE[i % len(PALETTE)]
        repeat = seen.get(color, 0)
        dash = c.dash or (None if not repeat else _DASHES[(repeat - 1) % len(_DASHES)])
        seen[color] = repeat + 1
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                name=plotly_text(c.label),
                line={"color": color, "dash": dash},
                hovertemplate=f"{plotly_text(c.label)}<br>{x_title}: {hover_x}<br>{y_title}: {hover_y}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title,
        margin={"t": 48 if title else 16},
        hovermode="closest",
        uirevision=uirevision or title or "fixed",
    )
    fig.update_xaxes(title_text=x_title, type="log" if log_x else "linear")
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear")
    return finish(fig, plot_height=height)


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
            height=200, uirevision="schedule-mom",
        )
    return lr_fig, mom_fig


def _clip_loss_axis(fig: go.Figure, finite: np.ndarray, *, keep_first: bool = False,
                    floor: float = np.inf, row: int | None = None) -> None:
    """Cut the loss axis above the 95th percentile so a diverging tail doesn't flatten
    the interesting part of the curve (keeping the starting loss in view if asked)."""
    if not len(finite):
        return
    lo, hi = min(float(finite.min()), floor), float(np.quantile(finite, 0.95))
    if keep_first:
        hi = max(hi, float(finite[0]))
    pad = 0.1 * max(hi - lo, 1e-6)
    fig.update_yaxes(range=[lo - pad, hi + pad], row=row, col=1 if row else None)


def stability_limit_label(momentum: float, kind: str = "gd") -> str:
    """The stability limit's formula for a run's optimizer and β: the same words live and
    reopened (both read from the run's config)."""
    if kind == "adam":
        return f"(2+2β1)/((1−β1)·λmax(P⁻¹H)), β1={momentum:g}"
    if kind == "nesterov":
        return f"2(1+β)/((1+2β)·λmax), Nesterov β={momentum:g}"
    return "2/λmax" if not momentum else f"2(1+β)/λmax, β={momentum:g}"


def stability_ratio(sharpness, momentum: float, kind: str = "gd") -> tuple[np.ndarray, np.ndarray]:
    """(lr, lr / limit) at each sharpness estimate: for gradient descent with heavy-ball
    momentum the limit is 2(1+β)/λmax (Cohen et al. 2021; Nesterov's in
    `clr_core.suggest.stability.stability_limit`), for Adam (2+2β1)/((1−β1)·λmax)
    of the preconditioned Hessian (Cohen et al. 2022). Above 1 the sweep has passed the LR
    where the optimizer overshoots."""
    rows = np.asarray(sharpness, dtype=float).reshape(-1, 3)
    lam = rows[:, 2]
    ok = np.isfinite(lam) & (lam > 0) & (kind in LIMIT_KINDS)  # no limit known otherwise
    lr = rows[ok, 1]
    limit = np.array([stability_limit(v, momentum, kind) for v in lam[ok]])
    return lr, lr / limit


def _log_crossing(lr: np.ndarray, ratio: np.ndarray, k: int) -> float:
    """The LR where log(ratio) crosses 0 between estimates k-1 and k (log-linear)."""
    if k == 0:
        return float(lr[0])
    a, b = np.log(ratio[k - 1]), np.log(ratio[k])
    t = a / (a - b) if a != b else 1.0
    return float(np.exp(np.log(lr[k - 1]) + t * (np.log(lr[k]) - np.log(lr[k - 1]))))


#: What the panel says where it stops drawing: past the limit the run is unstable, and the
#: sharpness measured on it no longer tells where the limit is.
UNMEASURED_NOTE = {
    "adam": ("not measured past here: over the limit, Adam's second moment<br>grows with the "
             "blow-up, so λmax(P⁻¹H) and this ratio fall<br>while the loss runs away"),
    "gd": ("not measured past here: over the limit the run is unstable,<br>and the sharpness "
           "it measures no longer locates the limit"),
}


def _add_stability_panel(fig: go.Figure, sharpness, momentum: float, kind: str = "gd") -> None:
    """The stability limit on its own small panel under the loss, sharing its LR axis: the
    LR divided by the limit, on a log scale, with the line at 1 where the LR passes it.
    The span over the limit is shaded up to where the ratio falls back under 1; after
    that the panel draws nothing and says why (Adam's preconditioner grows with the
    blow-up, so its ratio drops while the loss runs away: drawing it would read "stable")."""
    lr, ratio = stability_ratio(sharpness, momentum, kind)
    if not len(lr):
        return
    over = np.nonzero(ratio >= 1.0)[0]
    back = np.nonzero((ratio < 1.0) & (np.arange(len(ratio)) > over[0]))[0] if len(over) else []
    end = int(back[0]) if len(back) else len(lr)  # estimates drawn: up to the fall-back
    label = stability_limit_label(momentum, kind)
    fig.add_trace(go.Scatter(
        x=lr[:end], y=ratio[:end], mode="lines+markers", name=f"stability limit {label}",
        line={"color": "#d62728", "width": 2}, marker={"size": 7},
        hovertemplate=f"lr %{{x:.3g}}<br>LR ÷ {label}: %{{y:.3g}}<extra></extra>",
    ), row=2, col=1)
    fig.add_hline(y=1.0, line={"color": "#d62728", "dash": "dash", "width": 1}, row=2, col=1)
    if len(over):
        cross = _log_crossing(lr, ratio, int(over[0]))
        top = float(lr[end - 1]) if end < len(lr) else float(lr.max())
        if top > cross:
            fig.add_vrect(x0=cross, x1=top, fillcolor="red", opacity=0.08, line_width=0,
                          row=2, col=1)
        if end < len(lr):  # said, not drawn
            fig.add_vrect(x0=top, x1=float(lr.max()), fillcolor="grey", opacity=0.10,
                          line_width=0, row=2, col=1)
            # in the panel's own frame (its x axis may be log or linear), at its right end
            fig.add_annotation(x=1.0, y=0.02, xref="x2 domain", yref="y2 domain",
                               xanchor="right", yanchor="bottom",
                               text=UNMEASURED_NOTE.get(kind, UNMEASURED_NOTE["gd"]),
                               showarrow=False, font={"size": 10}, align="right")
    # two decades under the limit are enough to see it coming; lower is off the panel
    lo, hi = 0.01, float(max(ratio.max(), 2.0))
    decades = [10.0 ** d for d in range(-2, int(np.ceil(np.log10(hi))) + 1)]  # a small panel
    fig.update_yaxes(type="log", title_text="LR ÷ limit", range=[np.log10(lo) - 0.1, np.log10(hi) + 0.1],
                     tickmode="array", tickvals=decades, ticktext=[tick_text(v) for v in decades],
                     row=2, col=1)


def _marker_y(x: float, lrs: np.ndarray, curve: np.ndarray, fallback: float) -> float:
    order = np.argsort(lrs)
    return float(np.interp(x, lrs[order], np.nan_to_num(curve[order], nan=fallback)))


def range_test_figure(
    result: RangeTestResult, summary: RangeTestSummary | None = None, *,
    highlight: str | None = RECOMMENDED, max_points: int = MAX_POINTS,
) -> go.Figure:
    """Loss versus LR, read in two seconds: the smoothed curve bold over the raw points, the
    highlighted suggestion (the recommendation) the one marked thing, with its band; the
    other rules one toggleable layer, off by default (click "other rules" in the legend);
    the stability limit on its own small panel sharing the LR axis; the LR axis cut to the
    sweep. ``summary``: the result's (`clr_core.present.summary.summarize`, with the run's
    config: its β names the stability limit), computed here when not given; ``highlight``:
    the rule marked as the answer (None: none); ``max_points``: fewer while a job streams.
    The page, the Runs page, a notebook's ``result.plot()``, the Learn page and the trackers
    all draw this one figure."""
    summary = summary if summary is not None else summarize(result)
    lrs = np.asarray(result.lrs, dtype=float)
    smoothed = np.asarray(result.smoothed, dtype=float)
    raw = np.asarray(result.losses, dtype=float)
    log_x = result.mode == "exp"
    suggestions = result.suggestions
    sharpness, momentum, sharpness_kind = result.sharpness, summary.stability_beta, result.sharpness_kind
    panel = sharpness is not None and len(sharpness) and len(stability_ratio(sharpness, momentum, sharpness_kind)[0])
    if panel:
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.74, 0.26],
                            vertical_spacing=0.05)
    else:
        fig = make_subplots(rows=1, cols=1)
    raw_x, raw_y = decimate(lrs, raw, max_points)
    sm_x, sm_y = decimate(lrs, smoothed, max_points)
    fig.add_trace(go.Scatter(
        x=raw_x, y=raw_y, mode="markers", name="loss (raw)",
        marker={"size": 4, "color": "rgba(31,119,180,0.35)"},
        hovertemplate="lr %{x:.3g}<br>loss %{y:.4f}<extra>one batch</extra>",
    ), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=sm_x, y=sm_y, mode="lines", name="loss (smoothed)",
        line={"color": PALETTE[0], "width": 3},
        hovertemplate="lr %{x:.3g}<br>averaged loss %{y:.4f}<extra>averaged</extra>",
    ), row=1, col=1)
    finite = smoothed[np.isfinite(smoothed)]
    raw_low = raw[np.isfinite(raw)].min(initial=np.inf)
    if suggestions and len(finite):
        fallback = float(finite.max())
        others = [(n, s) for n, s in suggestions.items() if n != highlight]
        if others:
            fig.add_trace(go.Scatter(
                x=[float(s.max_lr) for _, s in others],
                y=[_marker_y(float(s.max_lr), lrs, smoothed, fallback) for _, s in others],
                mode="markers", name="other rules", visible="legendonly",
                customdata=[[n + (" (past divergence)" if getattr(s, "past_divergence", False) else ""),
                             float(s.base_lr)] for n, s in others],
                marker={"size": 10, "symbol": "line-ns-open", "color": "#555555",
                        "line": {"width": 2}},
                hovertemplate="%{customdata[0]}<br>max_lr %{x:.3g}<br>base_lr "
                              "%{customdata[1]:.3g}<extra></extra>",
            ), row=1, col=1)
        s = suggestions.get(highlight) if highlight else None
        if s is not None:
            max_lr = float(s.max_lr)
            past = " (past divergence)" if getattr(s, "past_divergence", False) else ""
            # a guess (no reliable recommendation) is drawn, but never as the answer
            guess = not getattr(s, "reliable", True)
            color = GUESS if guess else HIGHLIGHT
            lo, hi = (float(s.low), float(s.high)) if s.has_band else (float(s.base_lr), max_lr)
            fig.add_vrect(x0=lo, x1=hi, fillcolor=color, opacity=0.10 if guess else 0.16,
                          line_width=0, row=1, col=1)
            y = _marker_y(max_lr, lrs, smoothed, fallback)
            what = f"{highlight} (a guess)" if guess else highlight
            fig.add_trace(go.Scatter(
                x=[max_lr], y=[y], mode="markers", name=f"{what}: max_lr {max_lr:.3g}{past}",
                marker={"size": 16, "symbol": "diamond-open" if guess else "diamond",
                        "color": color, "line": {"width": 1.5, "color": color if guess else "black"}},
                hovertemplate=f"{what}<br>max_lr %{{x:.3g}}<br>base_lr {s.base_lr:.3g}"
                              f"<br>band {lo:.3g} – {hi:.3g}<extra></extra>",
            ), row=1, col=1)
            # the one label on the chart, on its own background so no line runs through it
            label = f"a guess: {max_lr:.3g}" if guess else f"<b>max_lr {max_lr:.3g}</b>"
            fig.add_annotation(x=np.log10(max_lr) if log_x else max_lr, y=y, row=1, col=1,
                               text=label, showarrow=True, arrowhead=0,
                               ax=0, ay=-44, font={"size": 14 if guess else 16, "color": color},
                               bgcolor="rgba(255,255,255,0.9)", bordercolor=color)
    _clip_loss_axis(fig, finite, keep_first=True, floor=raw_low, row=1)
    fig.update_yaxes(title_text="loss", row=1, col=1)
    if panel:
        _add_stability_panel(fig, sharpness, momentum, sharpness_kind)
    pos = lrs[np.isfinite(lrs) & (lrs > 0)] if log_x else lrs[np.isfinite(lrs)]
    rng = None
    if len(pos) > 1 and pos.min() < pos.max():  # the axis ends where the sweep ended
        rng = ([float(np.log10(pos.min())), float(np.log10(pos.max()))] if log_x
               else [float(pos.min()), float(pos.max())])
    fig.update_xaxes(type="log" if log_x else "linear", range=rng)
    fig.update_xaxes(title_text="learning rate", row=2 if panel else 1, col=1)
    fig.update_layout(uirevision="range-test", hovermode="closest", margin={"t": 30})
    return finish(fig, plot_height=460 if panel else 380)


def accuracy_figure(curves: Sequence[Curve], *, log_x: bool = True, x_title: str = "learning rate") -> go.Figure:
    """Validation accuracy versus LR (Smith's range test) or versus iteration (training)."""
    fig = line_figure(curves, x_title=x_title, y_title="validation accuracy", log_x=log_x,
                      hover_y="%{y:.1%}", height=240, uirevision=f"acc-{x_title}")
    for trace in fig.data:
        trace.mode = "lines+markers"
    fig.update_yaxes(tickformat=".0%")
    return fig


def sweep_figure(curves: Sequence[Curve], *, log_x: bool = True) -> go.Figure:
    """Smoothed loss versus LR for several range tests on one chart (Smith 2018's
    weight-decay and batch-size plots), each curve's own suggested max_lr (``Curve.marker``)
    marked on that curve in its colour: two runs with the same name keep their own."""
    fig = line_figure(curves, x_title="learning rate", y_title="smoothed loss", log_x=log_x,
                      hover_x="%{x:.3g}", hover_y="%{y:.4f}", height=380, uirevision="sweep",
                      by_policy=False)  # runs, not policies: told apart by colour
    ys = np.concatenate([np.asarray(c.y, dtype=float) for c in curves]) if curves else np.array([])
    finite = ys[np.isfinite(ys)]
    for trace, c in zip(list(fig.data), curves, strict=True):
        lr = c.marker
        if lr is None or not len(c.x):
            continue
        x, y = np.asarray(c.x, dtype=float), np.asarray(c.y, dtype=float)
        order = np.argsort(x)
        ok = np.isfinite(y[order])
        yv = float(np.interp(lr, x[order][ok], y[order][ok])) if ok.any() else 0.0
        fig.add_trace(go.Scatter(
            x=[lr], y=[yv], mode="markers", showlegend=False, name=f"{plotly_text(c.label)} max_lr",
            legendgroup=c.label, meta=c.label,
            marker={"size": 13, "symbol": "diamond", "color": trace.line.color,
                    "line": {"width": 1, "color": "black"}},
            hovertemplate=f"{plotly_text(c.label)}<br>suggested max_lr %{{x:.3g}}<extra></extra>",
        ))
    _clip_loss_axis(fig, finite)
    pos = np.concatenate([np.asarray(c.x, dtype=float) for c in curves]) if curves else np.array([])
    pos = pos[np.isfinite(pos) & (pos > 0)]
    if log_x and len(pos) > 1 and pos.min() < pos.max():
        fig.update_xaxes(range=[float(np.log10(pos.min())), float(np.log10(pos.max()))])
    return finish(fig)
