"""Keep widget values when the user visits another page and comes back.

Streamlit forgets a widget's value once a run doesn't draw it; re-assigning the key at
the top of every run turns it into plain session state that survives page changes.
Buttons, downloads and uploaders can't be assigned, so their keys start with "btn."."""

from __future__ import annotations

import streamlit as st

PERSISTENT_PREFIXES = ("designer.", "rt.", "train.", "sweep.", "runs.", "learn.")


def keep_widget_state() -> None:
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(PERSISTENT_PREFIXES):
            st.session_state[key] = st.session_state[key]


def default(key: str, value) -> str:
    """Give a widget its first value through session state (never through `value=`, which
    would clash with the kept state); returns the key for the widget call."""
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def keep_valid(key: str, options, fallback=None) -> str:
    """Drop kept selections that are no longer options (a deleted run, a vanished filter
    value, another test's methods): Streamlit refuses a widget whose value is not among its
    options. A multiselect keeps the rest; a single choice becomes `fallback`."""
    value = st.session_state.get(key)
    if isinstance(value, list):
        st.session_state[key] = [v for v in value if v in options]
    elif value not in options and fallback is not None:
        st.session_state[key] = fallback
    return key
