"""Text that people typed (run names, labels, recorded names) shown as text: never as
markdown, never as the HTML plotly draws in legends and hovers, never as a spreadsheet
formula in a CSV export (OWASP's CSV-injection advice: a leading ' disarms it)."""

from __future__ import annotations

import html
import string
from typing import Any

import pandas as pd

__all__ = ["csv_cell", "csv_safe_frame", "markdown_text", "plotly_text"]

_MD_SPECIAL = frozenset(string.punctuation)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def markdown_text(text: Any) -> str:
    """`text` for Streamlit markdown: every ASCII punctuation mark backslash-escaped
    (CommonMark allows it for all of them), so no emphasis, link, directive (:red[..]),
    LaTeX ($..$), HTML or bare-URL autolink comes out of it; line breaks become spaces."""
    s = " ".join(str(text).split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in s)


def plotly_text(text: Any) -> str:
    """`text` for a plotly legend, hover or annotation: its pseudo-HTML (<a>, <b>, <br>)
    and hovertemplate placeholders (%{x}) shown literally."""
    return html.escape(str(text), quote=True).replace("%", "&#37;")


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet opens as text: strings that would start a formula get a
    leading apostrophe; anything else is returned as it is."""
    if isinstance(value, str) and value.lstrip(" ").startswith(_FORMULA_START) and not _number(value):
        return "'" + value
    return value


def _number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names are disarmed for CSV (and for
    Streamlit's own table download, which exports what is shown)."""
    out = frame.copy()
    out.columns = [csv_cell(c) for c in out.columns]
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):  # object or pandas' str dtype
            out[col] = out[col].map(csv_cell)
    return out
