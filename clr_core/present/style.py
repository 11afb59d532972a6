"""Chart conventions, held in one place so every page draws alike: log axes labelled with
whole values (1e-4, 1e-3, … or 1, 2, 5 per decade, never a bare "2" that means 0.02), one
colour per policy on every page, legends below the plot that add height instead of taking
it, readable fonts, and a projector scale for a room."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go

__all__ = [
    "FONT_SIZE",
    "GUESS",
    "HIGHLIGHT",
    "PALETTE",
    "POLICY_COLORS",
    "PROJECTOR_FONT",
    "color_for",
    "finish",
    "for_projector",
    "legend_below",
    "log_ticks",
    "tick_text",
    "tiles_per_row",
]

PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
)
#: The one thing a chart wants the reader to see (the recommended LR and its band).
HIGHLIGHT = "#1a9850"
#: A number the curve cannot support ("no reliable recommendation"): shown, quieter.
GUESS = "#8c8c8c"
FONT_SIZE = 14
PROJECTOR_FONT = 22
_LEGEND_ROW_PX = 22  # one vertical legend entry at FONT_SIZE
#: A metric tile label's mean character width at the page's 14 px font (Source Sans
#: measured in Chromium: 6.1 px; rounded up so a label of wide letters still fits).
_LABEL_CHAR_PX = 7.0
#: The page's content width at 1400 px (Streamlit's wide-mode main block) and its column gap.
PAGE_WIDTH_PX, _COLUMN_GAP_PX = 940, 16
_AXIS_SPACE_PX = 58  # x tick labels and the x title below the plot

#: One colour per policy (and per baseline), the same on the designer, training, lessons
#: and runs pages: Welch is Welch-orange everywhere.
POLICY_COLORS = {
    "triangular": "#1f77b4", "triangular2": "#9467bd", "exp_range": "#8c564b",
    "welch": "#ff7f0e", "hann": "#17becf", "one_cycle": "#d62728", "1cycle": "#d62728",
    "cosine_restarts": "#2ca02c", "sgdr": "#2ca02c", "timm_cosine": "#006d2c",
    "warmup_linear": "#e377c2", "warmup_cosine": "#bc80bd", "warmup_constant": "#fdb462",
    "polynomial": "#b15928", "inverse_sqrt": "#6a3d9a", "wsd": "#e31a1c", "phases": "#bcbd22",
    # the baselines drawn together on the training page: the fixed-LR reference grey, the
    # others each a hue of their own (three greys and a black could not be told apart)
    "fixed": "#7f7f7f", "decay": "#a6761d", "exp": "#1b9e77", "step": "#7570b3",
    "adam": "#e7298a", "cosine": "#2ca02c",
}
_WORD = re.compile(r"[A-Za-z0-9_]+")


def color_for(label: str, index: int = 0) -> str:
    """A curve's colour: its policy's when the label names one ("current: welch", "fixed @
    0.01", "baseline: adam"), else the palette's ``index``-th."""
    words = [w.lower() for w in _WORD.findall(label or "")]
    for w in words:
        if w in POLICY_COLORS:
            return POLICY_COLORS[w]
    return PALETTE[index % len(PALETTE)]


def tiles_per_row(labels: Iterable[str], *, width_px: float = PAGE_WIDTH_PX,
                  max_per_row: int = 4, scale: float = 1.0) -> int:
    """How many metric tiles to put in a row so every label shows whole: Streamlit cuts a
    tile's label to one line with an ellipsis ("schedule-free SGD at WSD's best pe…").
    As many as fit the longest label, then spread evenly over the rows (four tiles as two
    and two, not three and one). ``scale``: the label font's size over the page's (the
    projector's text is larger)."""
    labels = list(labels)
    if not labels:
        return 0
    longest = max(len(label) for label in labels) * _LABEL_CHAR_PX * scale
    fit = next((k for k in range(min(len(labels), max_per_row), 0, -1)
                if (width_px - _COLUMN_GAP_PX * (k - 1)) / k >= longest), 1)
    rows = math.ceil(len(labels) / fit)
    return math.ceil(len(labels) / rows)


def tick_text(value: float) -> str:
    """A log tick's label, whole: 0.02, 1, 10 or 1e-3, 2e-5 (never a bare digit)."""
    if 1e-2 <= value < 1e4:
        return f"{value:.4g}"
    mantissa, exp = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exp)}"


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Tick values and labels for a log axis from ``lo`` to ``hi``: each decade when the axis
    spans three or more, else 1, 2, 5 per decade (1-9 on an axis under a decade)."""
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    lo, hi = min(lo, hi), max(lo, hi)
    span = math.log10(hi / lo)
    steps = (1,) if span >= 3 else (1, 2, 5) if span >= 0.8 else (1, 2, 3, 4, 5, 6, 7, 8, 9)
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if span >= 7:  # too many decades for one label each: every other one
        every = math.ceil(span / 6)
        decades = [d for d in range(first, last + 1) if d % every == 0]
    else:
        decades = list(range(first, last + 1))
    vals = [float(f"{m}e{d}") for d in decades for m in steps]
    eps = 1e-9
    vals = [v for v in vals if lo * (1 - eps) <= v <= hi * (1 + eps)]
    if len(vals) < 2:  # a very narrow axis: its ends
        vals = [lo, hi]
        return vals, [f"{v:.3g}" for v in vals]
    return vals, [tick_text(v) for v in vals]


def _axis_values(fig: go.Figure, axis: str) -> np.ndarray:
    """Every positive finite value the figure's traces put on ``axis`` ("xaxis", "yaxis2")."""
    letter, suffix = axis[0], axis[5:]
    ref = letter + suffix
    out: list[np.ndarray] = []
    for trace in fig.data:
        if (getattr(trace, f"{letter}axis", None) or letter) != ref:
            continue
        vals = getattr(trace, letter, None)
        if vals is None:
            continue
        arr = np.asarray(vals, dtype=float).ravel()
        out.append(arr[np.isfinite(arr) & (arr > 0)])
    return np.concatenate(out) if out else np.array([])


def _log_axes(fig: go.Figure) -> Iterable[str]:
    layout = fig.to_plotly_json()["layout"]
    return [k for k, v in layout.items()
            if re.fullmatch(r"[xy]axis\d*", k) and isinstance(v, dict) and v.get("type") == "log"]


def _apply_log_ticks(fig: go.Figure) -> None:
    for axis in _log_axes(fig):
        ax = fig.layout[axis]
        if ax.tickmode == "array":  # a figure that chose its own ticks keeps them
            continue
        if ax.range is not None:
            lo, hi = 10 ** float(ax.range[0]), 10 ** float(ax.range[1])
        else:
            vals = _axis_values(fig, axis)
            if not len(vals):
                continue
            lo, hi = float(vals.min()), float(vals.max())
        tickvals, ticktext = log_ticks(lo, hi)
        if tickvals:
            fig.layout[axis].update(tickmode="array", tickvals=tickvals, ticktext=ticktext)


def legend_below(fig: go.Figure, *, plot_height: int, top: int = 16) -> None:
    """Put the legend under the plot, one entry a row, and grow the figure by its height:
    six runs make the figure taller, never the plot smaller."""
    entries = sum(1 for t in fig.data if t.showlegend is not False and t.name)
    legend_px = entries * _LEGEND_ROW_PX + 8 if entries > 1 else 0
    bottom = _AXIS_SPACE_PX + legend_px
    fig.update_layout(
        height=plot_height + top + bottom,
        margin={"l": 64, "r": 24, "t": top, "b": bottom},
        showlegend=entries > 1,
        legend={"orientation": "v", "x": 0, "xanchor": "left", "yanchor": "top",
                "y": -_AXIS_SPACE_PX / plot_height, "bgcolor": "rgba(0,0,0,0)"},
    )


def _fonts(fig: go.Figure, size: int) -> None:
    """Text at ``size`` everywhere, set on each axis and the legend: Streamlit's chart theme
    sets tick and legend fonts of its own that a layout-wide font does not override."""
    fig.update_layout(font={"size": size}, hoverlabel={"font": {"size": size}},
                      legend={"font": {"size": size}})
    # invisible outside ticks push the labels off the corner where the axes meet, so the
    # first x label and the lowest y label never overprint
    tick = {"ticks": "outside", "ticklen": 6, "tickcolor": "rgba(0,0,0,0)"}
    fig.update_xaxes(tickfont={"size": size}, title_font={"size": size + 1}, **tick)
    fig.update_yaxes(tickfont={"size": size}, title_font={"size": size + 1}, **tick)


def finish(fig: go.Figure, *, plot_height: int | None = None, legend: bool = True) -> go.Figure:
    """The conventions every figure leaves ``clr_core.present`` with: fonts, log ticks, and
    (with ``plot_height``) the legend below the plot."""
    _fonts(fig, FONT_SIZE)
    if plot_height is not None and legend:
        legend_below(fig, plot_height=plot_height, top=int(fig.layout.margin.t or 16))
    _apply_log_ticks(fig)
    return fig


def for_projector(fig: go.Figure) -> go.Figure:
    """Bigger text, thicker lines and markers, readable from the back of a room; the margins
    grow with the text so a title is never clipped."""
    fig = go.Figure(fig)
    scale = PROJECTOR_FONT / FONT_SIZE
    _fonts(fig, PROJECTOR_FONT)
    fig.update_layout(title_font={"size": PROJECTOR_FONT + 4})
    for trace in fig.data:
        if trace.type == "scatter":
            if trace.line is not None:
                trace.line.width = max(trace.line.width or 2, 2) * 2
            if trace.marker is not None and trace.marker.size is not None:
                trace.marker.size = trace.marker.size * 1.6
    m = fig.layout.margin
    title = bool(fig.layout.title and fig.layout.title.text)
    fig.update_layout(margin={"l": int((m.l or 64) * scale), "r": int((m.r or 24) * scale),
                              "t": max(int((m.t or 16) * scale), 70 if title else 0),
                              "b": int((m.b or 58) * scale)})
    if fig.layout.height:
        fig.update_layout(height=int(fig.layout.height * scale))
    return fig
