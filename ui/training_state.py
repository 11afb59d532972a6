"""Filling the training page's form from another page (the range test's Verify), so the form
shows exactly what runs: the job is then started from the form itself.

Widget values can only be set before their widget is drawn, so the config is parked in
session state and applied at the top of the training page's next run."""

from __future__ import annotations

import streamlit as st

from ui.widgets import fmt, fmt_int

__all__ = ["PENDING", "VERIFY", "apply_pending", "carried", "load_training"]

PENDING = "train.pending"
#: (note, runs, carried) of the Verify source while it is offered: runs[0] trains the
#: schedule being verified, runs[1] the fixed LR it is compared with; carried: the range
#: test's settings the training form has no field for (`carried`).
VERIFY = "train.verify"
AUTOSTART = "train.autostart"

# every field of the shared data/model/optimizer form (ui.forms.data_model_form): what the
# range test trained with reaches the training form, AdamW's β2 included
_TEXT_FLOATS = ("weight_decay", "momentum", "beta2")
_TEXT_INTS = ("batch_size", "seed")
_CHOICES = ("dataset", "model", "optimizer", "device")
_FLAGS = ("nesterov", "amp", "download")
_TEXTS = ("data_root",)
_FORM = _TEXT_FLOATS + _TEXT_INTS + _CHOICES + _FLAGS + _TEXTS
#: what the training page sets itself around the form: the run's length and its schedules
_OWN = ("num_iter", "eval_every", "schedule", "runs")


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
    extra = {k: v for k, v in config.items() if k not in _FORM + _OWN}
    ss[VERIFY] = (note + _carried_words(extra), [dict(r) for r in config["runs"]], extra)
    ss["train.source"] = "verify"
    ss["train.baselines"] = ["fixed"]
    return start


def carried() -> dict:
    """The Verify source's settings the training form has no field for (gradient
    accumulation, clipping, a registered loss...), as the range test ran them: the page adds
    them to what it trains while the source is Verify, so nothing the test knew is dropped
    on the way (issue 32)."""
    verify = st.session_state.get(VERIFY)
    return dict(verify[2]) if verify and len(verify) > 2 else {}


#: How the note under the Verify source names a carried setting.
_WORDS = {"accumulation_steps": "gradient accumulation over {} batches",
          "grad_clip_norm": "gradient norm clipped at {}",
          "grad_clip_value": "gradients clipped at ±{}",
          "amp": "mixed precision {}", "loss": "loss {}", "batch_to_inputs": "batch split {}"}
#: A carried setting at this value changes nothing, so the note leaves it out.
_NEUTRAL = {"accumulation_steps": 1}


def _carried_words(extra: dict) -> str:
    """" Also as the range test ran: gradient accumulation over 4 batches." (empty when
    every carried setting is at its neutral value)."""
    said = [_WORDS.get(k, k + " {}").format(v) for k, v in extra.items()
            if v not in (None, False, "") and _NEUTRAL.get(k) != v]
    return f" Also as the range test ran: {', '.join(said)}." if said else ""
