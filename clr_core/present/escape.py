"""Text that people typed (run names, labels, recorded names, a link's values, messages
that quote them) shown as text: never as markdown, a link, an image or HTML in the page,
never as the HTML plotly draws in legends and hovers, never as a spreadsheet formula in a
CSV export (OWASP's CSV-injection advice: a leading ' disarms it)."""

from __future__ import annotations

import html
import re
import string
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["csv_cell", "csv_safe_frame", "markdown_text", "plotly_text"]

_MD_SPECIAL = frozenset(string.punctuation)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")

#: WORD JOINER (U+2060): invisible and not a word character, so a bare-URL pattern
#: cannot run through it.
WORD_JOINER = "\u2060"
#: Where a joiner goes so no bare URL or e-mail address becomes a link. Backslash escapes
#: are not enough: Streamlit's markdown (react-markdown with remark-gfm) finds GFM's
#: "autolink literals" (http://, https://, www., name@host; GFM spec 0.29, section 6.9)
#: in the text *after* escapes are resolved, so "https\\://evil" is still a link there.
#: Breaking "scheme:" and "www." and joining before "@" defeats those patterns; between
#: two slashes, linkify-it's protocol-relative "//host" too.
_AUTOLINK_BREAK = re.compile(
    r"(?i)(?:(?<=http)|(?<=https)|(?<=ftp)|(?<=mailto)|(?<=xmpp))(?=:)"
    r"|(?<=www)(?=\.)|(?=@)|(?<=/)(?=/)")
ELLIPSIS = "…"


def markdown_text(text: Any, *, limit: int | None = None) -> str:
    """`text` for Streamlit markdown (st.error, st.caption, a heading, a label): every
    ASCII punctuation mark backslash-escaped (CommonMark allows it for all of them), so
    no emphasis, link, image, directive (:red[..]), LaTeX ($..$) or HTML comes out of it;
    bare URLs and e-mail addresses broken by an invisible joiner, so none is linkified;
    line breaks become spaces. With `limit`, at most that many characters of `text` are
    kept (and an ellipsis says so): a 50 MB upload quoted in a message is not drawn."""
    raw = str(text)
    bound = None if limit is None else 4 * max(limit, 0) + 64  # never split 50 MB
    s = " ".join(raw[:bound].split())
    if limit is not None and (len(s) > limit or len(raw) > bound):
        s = s[:max(limit, 0)] + ELLIPSIS
    s = _AUTOLINK_BREAK.sub(WORD_JOINER, s)
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
    # here, not at the top: pandas costs the designer's first chart a second on a fresh
    # server (every page imports this module through app.py), and only tables need it
    import pandas as pd

    out = frame.copy()
    out.columns = [csv_cell(c) for c in out.columns]
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):  # object or pandas' str dtype
            out[col] = out[col].map(csv_cell)
    return out
