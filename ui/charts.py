"""The one place the app hands a plotly figure to the browser, with the one chart config:
plotly's tips off (its "Double-click on legend to isolate one trace" note sits in the page's
body, outside the chart, so it stayed on screen after a switch to another page) and no
plotly logo. Every page draws with `plot`; tests/app/test_chart_config.py keeps it so."""

from __future__ import annotations

from typing import Any

import streamlit as st

__all__ = ["CHART_CONFIG", "plot"]

#: plotly.js config for every chart (https://plotly.com/javascript/configuration-options/).
CHART_CONFIG: dict[str, Any] = {"showTips": False, "displaylogo": False}


def plot(fig, *, key: str | None = None, where=None, config: dict[str, Any] | None = None,
         **kwargs: Any) -> None:
    """Draw ``fig`` full width in ``where`` (a column or container; the page by default),
    with `CHART_CONFIG` and anything ``config`` adds (an export button's file name)."""
    (where or st).plotly_chart(fig, width=kwargs.pop("width", "stretch"), key=key,
                               config={**CHART_CONFIG, **(config or {})}, **kwargs)
