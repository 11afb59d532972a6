"""Run labels for lists that hold only a run's summary (the Runs table and chips, the
Overview): the config is read once per run and session, so every list names a run by what
differs (``clr_core.present.labels.run_label``), also runs saved before labels said so."""

from __future__ import annotations

import streamlit as st

from clr_core.errors import StoreError
from clr_core.present.labels import run_label

__all__ = ["label_of"]

_CACHE = "runlabels.configs"


def label_of(store, summary) -> str:
    """``summary``'s label: what differs, led by a name it was recorded or renamed under."""
    configs = st.session_state.setdefault(_CACHE, {})
    if summary.id not in configs:
        try:
            configs[summary.id] = store.load_run(summary.id).config
        except StoreError:
            configs[summary.id] = {}
    return run_label(summary.kind, configs[summary.id], summary.label)
