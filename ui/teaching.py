"""Streamlit pieces of the Learn page's teacher mode: a lesson's controls as widgets, the link
that reopens the lesson exactly as set, the projector style, figure downloads."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from urllib.parse import urlencode

import plotly.graph_objects as go
import streamlit as st

from clr_core.lessons import Control, Lesson
from clr_core.present.figure_export import FORMATS, browser_for_export, figure_image
from clr_core.present.style import for_projector
from ui.charts import plot

__all__ = ["PROJECTOR_TEXT_SCALE", "control_key", "draw_control", "draw_figure", "lesson_link",
           "projector_style"]

#: The projector's text over the page's (the 1.45rem below).
PROJECTOR_TEXT_SCALE = 1.45
_PROJECTOR_CSS = """
<style>
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stWidgetLabel"] p, [data-testid="stMetricValue"] { font-size: 1.45rem !important; }
[data-testid="stMarkdownContainer"] h1 { font-size: 3.2rem !important; }
[data-testid="stMarkdownContainer"] h2, h2 { font-size: 2.5rem !important; }
</style>
"""


def control_key(lesson: Lesson, control: Control) -> str:
    return f"learn.{lesson.key}.{control.key}"


def draw_control(lesson: Lesson, control: Control) -> None:
    """The widget for one control; its value lives in session state under control_key."""
    key = control_key(lesson, control)
    if key not in st.session_state:
        st.session_state[key] = control.default
    if control.kind == "steps":
        st.select_slider(control.label, options=list(control.options), key=key,
                         help=control.help or None, format_func=lambda v: f"{v:g}")
    elif control.kind == "choice":
        st.radio(control.label, options=list(control.options), key=key, horizontal=True,
                 help=control.help or None)
    elif control.kind == "toggle":
        st.toggle(control.label, key=key, help=control.help or None)
    else:
        whole = isinstance(control.default, int)
        number = int if whole else float
        st.slider(control.label, min_value=number(control.lo), max_value=number(control.hi),
                  step=number(control.step), key=key, help=control.help or None,
                  format=None if whole else control.slider_format())


def lesson_link(query: Mapping[str, str]) -> str:
    """The address of this page with ``query``: what "Copy link" hands out."""
    base = ""
    with contextlib.suppress(AttributeError, RuntimeError):  # no browser (AppTest): a bare query
        base = (st.context.url or "").split("?")[0]
    return f"{base}?{urlencode(query)}"


def projector_style(on: bool) -> None:
    if on:
        st.html(_PROJECTOR_CSS)


def draw_figure(fig: go.Figure, *, key: str, name: str, projector: bool) -> None:
    """A chart with PNG and SVG downloads (rendered only when clicked: kaleido takes seconds)."""
    if projector:
        fig = for_projector(fig)
    plot(fig, key=f"chart.{key}",
         config={"toImageButtonOptions": {"filename": name, "scale": 2}})
    if browser_for_export() is None:
        st.caption("PNG/SVG downloads need Chromium on the server (apt-get install chromium); "
                   "the chart's camera button still saves a PNG.")
        return
    cols = st.columns(len(FORMATS) + 3)
    for col, fmt in zip(cols, FORMATS, strict=False):
        with col:
            st.download_button(f"⬇ {fmt.upper()}", data=lambda f=fig, x=fmt: figure_image(f, x),
                               file_name=f"{name}.{fmt}", mime=FORMATS[fmt],
                               key=f"btn.dl.{key}.{fmt}", on_click="ignore", type="tertiary")
