"""Session-state keys of the designer, and the hand-off other pages use to fill it.

Widget values can only be set before their widget is drawn, so a hand-off is parked in
session state and applied at the top of the designer's next run."""

from __future__ import annotations

import contextlib

import streamlit as st

from clr_core import schedules
from clr_core.errors import ScheduleError
from clr_core.schedules import rules
from ui.schedule_form import param_key, set_value
from ui.widgets import fmt_int

POLICY_KEY = "designer.policy"
OVERLAYS = "designer.overlays"
PENDING = "designer.pending"
CURRENT = "designer.current"  # the last valid schedule dict, read by the training page
PRESET_KEY = "designer.preset"  # the preset box: None once the form came from elsewhere

__all__ = [
    "CURRENT",
    "IPE",
    "OVERLAYS",
    "PENDING",
    "POLICY_KEY",
    "PRESET_KEY",
    "PREVIEW",
    "apply_handoff",
    "load_config",
    "param_key",
    "send_to_designer",
]


IPE = "designer.ipe"
PREVIEW = "designer.n"


def load_config(config: dict, note: str | None = None, *,
                iters_per_epoch: int | None = None, preset: str | None = None) -> None:
    """Ask the designer to show `config` (a schedule dict) on its next run, previewed whole,
    with the iterations per epoch its step sizes were counted in (so "epochs per cycle"
    agrees with the note that says how it was sized); ``preset``: the preset it is, so the
    preset box goes on naming it (anything else clears the box, which would name a
    schedule no longer shown)."""
    st.session_state[PENDING] = (dict(config), note, iters_per_epoch, preset)


def send_to_designer(config: dict, note: str, *, iters_per_epoch: int | None = None) -> None:
    """Fill the designer from another page and switch to it."""
    load_config(config, note, iters_per_epoch=iters_per_epoch)
    st.switch_page("pages/designer.py")


def apply_handoff() -> str | None:
    """Write a parked config into the widgets' keys; returns the note to show, if any."""
    pending = st.session_state.pop(PENDING, None)
    if not pending:
        return None
    config, note, ipe, preset = (*pending, None, None)[:4]  # callers may omit the last ones
    policy = config.get("policy")
    if policy not in schedules.POLICIES:
        return None
    st.session_state[PRESET_KEY] = preset
    st.session_state[POLICY_KEY] = policy
    if ipe:
        st.session_state[IPE] = fmt_int(ipe)
    with contextlib.suppress(ScheduleError):  # previewed whole (a 100k-step WSD: its cool-down)
        st.session_state[PREVIEW] = fmt_int(rules.preview_length(schedules.from_dict(config)))
        st.session_state[PREVIEW + ".for"] = policy  # the page keeps it: not its 1000 floor
        st.session_state[PREVIEW + ".auto"] = st.session_state[PREVIEW]  # not typed: it follows
    for spec in schedules.POLICIES[policy].params:
        if spec.name not in config:
            continue
        set_value(policy, spec, config[spec.name])
    return note
