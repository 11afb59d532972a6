"""Session-state keys of the designer, and the hand-off other pages use to fill it.

Widget values can only be set before their widget is drawn, so a hand-off is parked in
session state and applied at the top of the designer's next run."""

from __future__ import annotations

import streamlit as st

from clr_core import schedules
from ui.schedule_form import param_key, set_value

POLICY_KEY = "designer.policy"
OVERLAYS = "designer.overlays"
PENDING = "designer.pending"
CURRENT = "designer.current"  # the last valid schedule dict, read by the training page

__all__ = [
    "CURRENT",
    "OVERLAYS",
    "PENDING",
    "POLICY_KEY",
    "apply_handoff",
    "load_config",
    "param_key",
    "send_to_designer",
]


def load_config(config: dict, note: str | None = None) -> None:
    """Ask the designer to show `config` (a schedule dict) on its next run."""
    st.session_state[PENDING] = (dict(config), note)


def send_to_designer(config: dict, note: str) -> None:
    """Fill the designer from another page and switch to it."""
    load_config(config, note)
    st.switch_page("pages/designer.py")


def apply_handoff() -> str | None:
    """Write a parked config into the widgets' keys; returns the note to show, if any."""
    pending = st.session_state.pop(PENDING, None)
    if not pending:
        return None
    config, note = pending
    policy = config.get("policy")
    if policy not in schedules.POLICIES:
        return None
    st.session_state[POLICY_KEY] = policy
    for spec in schedules.POLICIES[policy].params:
        if spec.name not in config:
            continue
        set_value(policy, spec, config[spec.name])
    return note
