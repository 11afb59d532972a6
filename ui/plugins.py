"""Your own models and data in the app: the choices the server's plugins add to the forms,
and the list of plugins on the overview page. Nothing here imports anything: the plugin
modules come from ``CLR_STUDIO_PLUGINS``, read by ``clr_core.setup.plugins`` at first lookup."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clr_core.setup import plugins
from ui.text import shown

__all__ = ["choice_label", "show_plugins"]


def choice_label(kind: str, name: str, builtin_label: str | None) -> str:
    """How a model or data choice reads in a selectbox: a plugin's own name, marked."""
    if builtin_label is not None:
        return builtin_label
    if plugins.is_registered(kind, name):
        return f"🔌 {plugins.factory(kind, name).label}"
    return name


def show_plugins() -> None:
    """The plugins this server loaded, what each adds, and why a listed one failed."""
    st.subheader("Your models and data (plugins)")
    for error in plugins.plugin_errors():
        st.error(f"A plugin could not be loaded: {shown(error)}", icon="🔌")
    entries = plugins.registered("model") + plugins.registered("data")
    if not entries:
        st.caption(f"No plugins. To offer your own models and data sets here, start the server "
                   f"with `{plugins.ENV_VAR}=my_module` (comma-separated import paths); each "
                   "module defines `CLR_STUDIO_MODELS` and/or `CLR_STUDIO_DATA`, dicts of name → "
                   "function. Only the person starting the server chooses what is imported.")
        return
    st.dataframe(pd.DataFrame([{"plugin": e.label, "kind": e.kind, "module": e.module,
                                "name in configs": e.name, "about": e.description}
                               for e in entries]), hide_index=True, width="stretch",
                 key="overview.plugins")
    st.caption(f"Loaded from {plugins.ENV_VAR}: {shown(', '.join(plugins.plugin_modules()))}. "
               "They appear in the Model and Data set choices of the run pages.")
