"""What the pages and the CLI show, computed without Streamlit: plotly figures (``plots``),
their PNG/SVG export (``figure_export``), display labels (``labels``) and tables with
display columns (``tables``).

May import: ``clr_core.runs`` (reports), ``clr_core.setup``, ``clr_core.engine``,
``clr_core.suggest``, ``clr_core.schedules`` and the foundation. Not ``clr_core.jobs``.
"""

from __future__ import annotations

from clr_core.present.figure_export import FORMATS, browser_for_export, figure_image
from clr_core.present.labels import HANDOFF_LABELS, SWEEP_PARAM_LABELS
from clr_core.present.plots import (
    LIVE_MAX_POINTS,
    MAX_POINTS,
    PALETTE,
    Curve,
    accuracy_figure,
    decimate,
    line_figure,
    range_test_figure,
    schedule_figures,
    stability_limit_label,
    sweep_figure,
)
from clr_core.present.tables import suggestions_table

__all__ = [
    "Curve",
    "FORMATS",
    "HANDOFF_LABELS",
    "LIVE_MAX_POINTS",
    "MAX_POINTS",
    "PALETTE",
    "SWEEP_PARAM_LABELS",
    "accuracy_figure",
    "browser_for_export",
    "decimate",
    "figure_image",
    "line_figure",
    "range_test_figure",
    "schedule_figures",
    "stability_limit_label",
    "suggestions_table",
    "sweep_figure",
]
