"""Plotly figures the pages draw. Built here so they are testable without Streamlit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

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


def decimate(x: np.ndarray, y: np.ndarray, max_points: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Thin a long series for the browser while keeping every bucket's min and max,
    so peaks of a cyclical schedule survive (plain striding would alias them away)."""
    x = np.asarray(x)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n <= max_points:
        return x, y
    buckets = max(1, max_points // 2)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep = [0, n - 1]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi <= lo:
            continue
        seg = y[lo:hi]
        if np.all(np.isnan(seg)):
            keep.append(lo)
            continue
        keep.append(lo + int(np.nanargmin(seg)))
        keep.append(lo + int(np.nanargmax(seg)))
    idx = np.unique(np.asarray(keep))
    return x[idx], y[idx]


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
) -> go.Figure:
    """A line chart of several curves with a hover that names both coordinates."""
    fig = go.Figure()
    for i, c in enumerate(curves):
        x, y = decimate(c.x, c.y)
        fig.add_trace(
            go.Scattergl(
                x=x,
                y=y,
                mode="lines",
                name=c.label,
                line={"color": PALETTE[i % len(PALETTE)], "dash": c.dash},
                hovertemplate=f"{c.label}<br>{x_title}: {hover_x}<br>{y_title}: {hover_y}<extra></extra>",
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
        lr_curves.append(Curve(label, k, sched.lr(k)))
        mom = sched.momentum(k)
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
