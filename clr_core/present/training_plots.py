"""Training curves, of one job or of several overlaid: loss, accuracy (or validation loss),
LR and momentum as panels of one figure that share the iteration axis and one legend.

Why one figure: as four charts, each had its own legend (the LR and momentum legends side
by side cut every long name), a run could be blue in one and orange in another, and ten
runs of one policy were ten blues told apart by dashes. Here a run keeps one colour in
every panel, its legend entry (one per run, short, the full description on hover) hides
or shows it everywhere, and the legend sits below the panels, so ten runs make the figure
taller and never a panel smaller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from clr_core.present.escape import ELLIPSIS, plotly_text
from clr_core.present.plots import MAX_POINTS, Curve, decimate
from clr_core.present.style import PALETTE, color_for, finish

__all__ = ["LEGEND_CHARS", "QUIET_OPACITY", "legend_name", "run_colors", "training_figure"]

#: A legend entry's most characters: the training page's view column at 1400 px shows this
#: many at the chart font on one line (an overlay's entries were 80 characters, wider than
#: the chart); the whole name is in the hover.
LEGEND_CHARS = 40
#: How visible a run is beside a highlighted one: there, not competing.
QUIET_OPACITY = 0.3
_DASHES = ("dash", "dot", "dashdot", "longdash")
#: Vertical gap between two panels, in pixels.
_GAP_PX = 28


@dataclass(frozen=True)
class _Panel:
    curves: Sequence[Curve]
    y_title: str
    height: int
    log_y: bool = False
    hover_y: str = "%{y:.4g}"
    markers: bool = False
    tickformat: str | None = None


def legend_name(label: str, limit: int = LEGEND_CHARS) -> str:
    """``label`` short enough for a legend entry: whole when it fits, else cut at the last
    word boundary before ``limit`` with an ellipsis (the full label goes in the hover)."""
    label = " ".join(str(label).split())
    if len(label) <= limit:
        return label
    cut = label[:limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:  # a word boundary not too far back
        cut = cut[:space]
    return cut.rstrip(" ·:,;-—") + ELLIPSIS


def run_colors(labels: Sequence[str], *, by_policy: bool = True) -> dict[str, tuple[str, str | None]]:
    """(colour, dash) of each run, in the order given: its policy's colour (``by_policy``,
    the training page: Welch is Welch-orange everywhere) or the palette's next one (an
    overlay of runs, where ten runs of one policy must still be ten colours). A colour
    already taken is dashed, so only a run past the palette's ten, or a second run of the
    same policy, shares a hue with another."""
    out: dict[str, tuple[str, str | None]] = {}
    seen: dict[str, int] = {}
    for i, label in enumerate(dict.fromkeys(labels)):
        color = color_for(label, i) if by_policy else PALETTE[i % len(PALETTE)]
        repeat = seen.get(color, 0)
        seen[color] = repeat + 1
        out[label] = (color, None if not repeat else _DASHES[(repeat - 1) % len(_DASHES)])
    return out


def training_figure(
    loss: Sequence[Curve], acc: Sequence[Curve] = (), lr: Sequence[Curve] = (),
    mom: Sequence[Curve] = (), val_loss: Sequence[Curve] = (), *,
    by_policy: bool = True, details: Mapping[str, str] | None = None,
    highlight: str | None = None, max_points: int = MAX_POINTS, uirevision: str = "training",
) -> go.Figure:
    """One figure of a training job's (or an overlay's) curves, a panel per quantity that
    has any: training loss (log: a run that blows up must not flatten the others), validation
    accuracy (or validation loss, where accuracy does not apply), learning rate, momentum.
    A run is a curve label; the same label in several panels is the same run, drawn in one
    colour (`run_colors`) and one legend group. ``details``: label -> the run's full
    description, shown on hover (the legend shows `legend_name`); ``highlight``: a label
    drawn bold while the others are quieter."""
    panels = [p for p in (
        _Panel(loss, "training loss (log)", 250, log_y=True),
        _Panel(acc, "validation accuracy", 210, hover_y="%{y:.1%}", markers=True,
               tickformat=".0%"),
        _Panel(val_loss, "validation loss", 210, markers=True),
        # as tall as the loss: a schedule's shape is what the page is about (was ~190 px)
        _Panel(lr, "learning rate", 250),
        _Panel(mom, "momentum", 170, hover_y="%{y:.4f}"),
    ) if len(p.curves)]
    labels = [c.label for p in panels for c in p.curves]
    colors = run_colors(labels, by_policy=by_policy)
    details = details or {}
    rows = max(len(panels), 1)
    plot_height = sum(p.height for p in panels) + _GAP_PX * (rows - 1) if panels else 260
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True,
                        vertical_spacing=_GAP_PX / plot_height if rows > 1 else 0.0,
                        row_heights=[p.height for p in panels] or None)
    in_legend: set[str] = set()
    for row, panel in enumerate(panels, start=1):
        for c in panel.curves:
            x, y = decimate(np.asarray(c.x), np.asarray(c.y, dtype=float), max_points)
            color, dash = colors[c.label]
            quiet = highlight is not None and c.label != highlight
            full = plotly_text(details.get(c.label, c.label))
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines+markers" if panel.markers else "lines",
                name=plotly_text(legend_name(c.label)), legendgroup=plotly_text(c.label),
                showlegend=c.label not in in_legend,
                opacity=QUIET_OPACITY if quiet else 1.0,
                line={"color": color, "dash": c.dash or dash,
                      "width": 3 if c.label == highlight else 2},
                hovertemplate=f"{full}<br>iteration %{{x}}<br>{panel.y_title}: "
                              f"{panel.hover_y}<extra></extra>",
            ), row=row, col=1)
            in_legend.add(c.label)
        fig.update_yaxes(title_text=panel.y_title, type="log" if panel.log_y else "linear",
                         tickformat=panel.tickformat, row=row, col=1)
    fig.update_xaxes(title_text="iteration", row=rows, col=1)
    fig.update_layout(hovermode="closest", uirevision=uirevision, margin={"t": 16})
    finish(fig, plot_height=plot_height)
    # one row per run: a legend group's default gap would outgrow the room `finish` made
    # for the legend, and plotly would scroll it, showing two runs of ten
    fig.update_layout(legend={"tracegroupgap": 0})
    return fig
