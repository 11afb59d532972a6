"""A schedule's form, built from its policy's `ParamSpec`s: one widget per parameter kind.

Nothing here names a policy: a new policy class gets its form for free. Values live in
session state under `param_key(policy, name)`, so switching policies keeps each one's
values, and `set_value` is how a preset, a hand-off or a link fills a field.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import streamlit as st

from clr_core.schedules.shapes import SHAPES
from clr_core.schedules.spec import BOOL, CHOICE, FLOAT, INT, PHASES, ParamSpec
from ui.widgets import float_input, fmt, fmt_int, int_input

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["param_key", "param_widget", "set_value"]

PHASE_COLUMNS = ["shape", "start", "end", "steps", "pct"]
#: Whole-number parameters are step counts: past a billion steps no training (or preview)
#: fits in memory, so the box refuses them by name instead of failing later.
MAX_STEPS = 10**9


def param_key(policy: str, name: str) -> str:
    return f"designer.{policy}.{name}"


def _version_key(key: str) -> str:
    return f"{key}.version"


def _set_rows(key: str, rows: list[dict[str, Any]]) -> None:
    """New phase rows; the table widget is re-created (a new key) so that its pending
    edits are not applied a second time on top of them."""
    st.session_state[key] = rows
    st.session_state[_version_key(key)] = st.session_state.get(_version_key(key), 0) + 1


def set_value(policy: str, spec: ParamSpec, value: Any) -> None:
    """Put `value` in the field's session state the way its widget stores it."""
    key = param_key(policy, spec.name)
    if spec.kind == FLOAT:
        st.session_state[key] = fmt(value)
    elif spec.kind == INT:
        st.session_state[key] = fmt_int(value)  # 1e300 shows as 1e+300 and is refused
    elif spec.kind == PHASES:
        _set_rows(key, [dict(row) for row in value])
    else:
        st.session_state[key] = value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Table rows as phase dicts: empty cells dropped, whole step counts as ints."""
    rows = []
    for record in frame.to_dict("records"):
        row = {}
        for col in PHASE_COLUMNS:
            v = record.get(col)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if col == "steps" and isinstance(v, float) and v.is_integer():
                v = int(v)
            row[col] = v.item() if hasattr(v, "item") else v
        if row:
            rows.append(row)
    return rows


def _phases_widget(label: str, key: str, spec: ParamSpec) -> list[dict[str, Any]]:
    """An editable table, one row per phase, and an "Add a phase" button. The table's own
    edits are folded into `key` on every run, so they survive page changes."""
    if key not in st.session_state:
        st.session_state[key] = [dict(row) for row in spec.default]
    rows = st.session_state[key]
    version = st.session_state.get(_version_key(key), 0)
    # here, not at the top: only the phases policy draws a table, and the designer's first
    # chart on a fresh server would wait for pandas (a second) otherwise
    import pandas as pd

    frame = pd.DataFrame(rows, columns=PHASE_COLUMNS)
    st.caption(f"{label}: {spec.help}")
    edited = st.data_editor(
        frame, key=f"btn.{key}.editor.{version}", num_rows="dynamic", hide_index=True,
        width="stretch",
        # widths that fit the form's column: every column in view without scrolling
        column_config={
            "shape": st.column_config.SelectboxColumn("shape", options=list(SHAPES),
                                                      required=True, width=76),
            "start": st.column_config.NumberColumn("start LR", format="%g", width=82),
            "end": st.column_config.NumberColumn("end LR", format="%g", width=76),
            "steps": st.column_config.NumberColumn("steps", min_value=1, step=1, width=64),
            "pct": st.column_config.NumberColumn("pct", min_value=0.0, max_value=1.0,
                                                 format="%g", width=52),
        })
    value = _rows(edited)
    if value != rows:  # fold the edits in; a fresh table starts from them next run
        _set_rows(key, value)

    def _add_phase() -> None:
        current = st.session_state[key]
        last = current[-1].get("end", current[-1].get("start", 0.0)) if current else 0.0
        _set_rows(key, [*current, {"shape": "linear", "start": last, "end": last,
                                       "steps": 100}])

    st.button("Add a phase", key=f"btn.{key}.add", on_click=_add_phase,
              help="Append a phase starting where the last one ends; edit its cells above.")
    return value


def param_widget(policy: str, spec: ParamSpec, errors: list[str]) -> Any:
    """One widget per parameter, keyed per policy; a bad float adds to `errors`."""
    key = param_key(policy, spec.name)
    label = spec.name
    if spec.kind == FLOAT:
        return float_input(label, key, spec.default, help=spec.help, optional=spec.optional,
                           errors=errors)
    if spec.kind == PHASES:
        return _phases_widget(label, key, spec)
    if spec.kind == INT:
        return int_input(label, key, spec.default, help=spec.help, optional=spec.optional,
                         max_value=MAX_STEPS, errors=errors)
    if key not in st.session_state:
        st.session_state[key] = bool(spec.default) if spec.kind == BOOL else spec.default
    if spec.kind == BOOL:
        return st.checkbox(label, key=key, help=spec.help)
    if spec.kind == CHOICE:
        return st.selectbox(label, list(spec.choices), key=key, help=spec.help)
    raise TypeError(f"unknown parameter kind {spec.kind!r}")
