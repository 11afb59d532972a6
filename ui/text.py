"""The one way text that is not the app's own reaches the page, and the one way an
unexpected error does.

`shown` is for every piece of text a visitor, a link, a stored run or an exception
supplied (a run's name, a job's error, a value typed or read from a URL, a library's
message quoting it): it is shown as text, with no markdown, link, image or HTML in it
(`clr_core.present.escape.markdown_text`), the server's folders named by role
(`clr_core.redact.scrub_paths`), and at most `SHOWN_LIMIT` characters of it. The app's
own words around it stay markdown: ``st.error(f"**From the link:** {shown(problem)}")``.

`show_unexpected` is for an error the app did not plan for: its traceback goes to the
server's log under a short id, and the page shows only that id (OWASP Error Handling
Cheat Sheet: log the details, show the user a reference).
"""

from __future__ import annotations

import logging
import numbers
import uuid
from typing import TYPE_CHECKING

import streamlit as st

from clr_core.present.escape import markdown_text
from clr_core.redact import scrub_paths

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NOTE_LIMIT", "SHOWN_LIMIT", "log_unexpected", "show_unexpected", "shown", "shown_error",
           "shown_frame", "shown_note"]

logger = logging.getLogger("clr_studio.unexpected")

#: At most this many characters of one piece of foreign text are drawn (a message that
#: quotes a 50 MB upload took 63 s to render).
SHOWN_LIMIT = 400
#: The notes, caveats and explanations a result carries (a stored run brings them; a
#: script may have written them) are longer: up to this many characters.
NOTE_LIMIT = 2000


def shown(text: object, *, limit: int = SHOWN_LIMIT) -> str:
    """`text` as markdown that draws exactly these characters (cut to `limit`)."""
    raw = str(text)
    if len(raw) > 16 * limit:  # never scan megabytes for paths that are cut anyway
        raw = raw[:16 * limit]
    return markdown_text(scrub_paths(raw), limit=limit)


def shown_note(text: object) -> str:
    """A result's note, caveat or explanation, `shown` up to `NOTE_LIMIT` characters."""
    return shown(text, limit=NOTE_LIMIT)


def shown_frame(frame: pd.DataFrame, *, limit: int = NOTE_LIMIT) -> pd.DataFrame:
    """A copy of `frame` for ``st.table``, which draws every cell as markdown: its text
    cells `shown` (numbers are left for the table's own formatting)."""
    # here, not at the top: app.py imports this module for every page, and the designer's
    # first chart would wait for pandas, which only tables need
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(lambda v: v if v is None or isinstance(v, numbers.Number)
                                    else shown(v, limit=limit))
    return out


def shown_error(exc: BaseException, *, with_type: bool = False) -> str:
    """A planned exception's message (a `ClrError`'s words), `shown`; with its type's
    name in front for the errors of a library that speak less plainly."""
    return shown(f"{type(exc).__name__}: {exc}" if with_type else exc)


def log_unexpected(exc: BaseException, doing: str) -> str:
    """Log `exc` with its traceback under a new short id; return the id."""
    error_id = uuid.uuid4().hex[:8]
    logger.error("error id %s while %s", error_id, doing, exc_info=exc)
    return error_id


def show_unexpected(exc: BaseException, doing: str) -> str:
    """An error the app did not plan for, while `doing` (the app's words: "reading this
    run's result"): logged with its traceback, shown as a short id; returns the id."""
    error_id = log_unexpected(exc, doing)
    st.error(f"Something went wrong while {doing}. The server's log has the details under "
             f"**error id {error_id}**; please quote it when you report this.", icon="🐞")
    return error_id
