"""Filling the training page's form from another page (the range test's Verify), so the form
shows exactly what runs: the job is then started from the form itself.

Widget values can only be set before their widget is drawn, so the config is parked in
session state and applied at the top of the training page's next run."""

from __future__ import annotations

import streamlit as st

from ui.widgets import fmt, fmt_int

__all__ = ["PENDING", "VERIFY", "apply_pending", "load_training"]

PENDING = "train.pending"
#: (note, runs) of the Verify source while it is offered: runs[0] trains the schedule being
#: verified, runs[1] the fixed LR it is compared with.
VERIFY = "train.verify"
AUTOSTART = "train.autostart"

# every field of the shared data/model/optimizer form (ui.forms.data_model_form): what the
# range test trained with reaches the training form, AdamW's β2 included
_TEXT_FLOATS = ("weight_decay", "momentum", "beta2")
_TEXT_INTS = ("batch_size", "seed")
_CHOICES = ("dataset", "model", "optimizer", "device")
_FLAGS = ("nesterov", "amp", "download")
_TEXTS = ("data_root",)


def load_training(config: dict, *, note: str, start: bool = True) -> None:
    """Ask the training page to show ``config`` (a train job's config whose first run is
    the schedule to test, the second a fixed LR) and, with ``start``, to run it."""
    st.session_state[PENDING] = (dict(config), note, start)


def apply_pending() -> bool:
    """Write a parked config into the form's keys; True when the page should start it."""
    pending = st.session_state.pop(PENDING, None)
    if not pending:
        return False
    config, note, start = pending
    ss = st.session_state
    for name in _CHOICES + _FLAGS:
        if name in config:
            ss[f"train.{name}"] = config[name]
    for name in _TEXTS:
        if name in config:
            ss[f"train.{name}"] = config[name] or ""
    for name in _TEXT_FLOATS:
        if name in config:
            ss[f"train.{name}"] = fmt(config[name])
    for name in _TEXT_INTS:
        if name in config:
            ss[f"train.{name}"] = fmt_int(config[name])
    ss["train.num_iter"] = fmt_int(config["num_iter"])
    ss["train.eval_every"] = fmt_int(config.get("eval_every", 50))
    ss[VERIFY] = (note, [dict(r) for r in config["runs"]])
    ss["train.source"] = "verify"
    ss["train.baselines"] = ["fixed"]
    return start
