"""The designer's state in the query string, keyed exactly as `Schedule.to_dict()`.

Opening a link fills the form the way typing would: a number goes into its text box as
written, so a bad one gets the very message a typed one gets, and every other key of the
link still applies. Every edit writes the URL back. A link fills the form once, on the session's first
run: opening or pasting a link starts a new session, and later query strings are the
ones this session wrote itself.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import streamlit as st

from clr_core.errors import ScheduleError
from clr_core.schedules import POLICIES
from clr_core.schedules.ramp import RAMP_PARAMS
from clr_core.schedules.spec import BOOL, CHOICE, FLOAT, INT, PHASES, ParamSpec, coerce
from ui.designer_state import POLICY_KEY, PRESET_KEY
from ui.schedule_form import param_key, set_value

__all__ = ["apply_link", "encode", "form_specs", "link_for", "query_for", "write_link"]

WRITTEN = "designer.link.written"
APPLIED = "designer.link.applied"


def form_specs(policy: str) -> list[ParamSpec]:
    """The policy's parameters and the warm-up modifier's, in form order."""
    return [*POLICIES[policy].params, *RAMP_PARAMS]


def encode(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def query_for(config: dict[str, Any]) -> dict[str, str]:
    """Query parameters for a config: its keys, empty values left out."""
    return {k: encode(v) for k, v in config.items() if v is not None and v != ""}


def link_for(query: dict[str, str]) -> str:
    """The full link to the designer showing `query`."""
    base = st.context.url or "/"
    parts = urlsplit(base)
    root = f"{parts.scheme}://{parts.netloc}/" if parts.netloc else "/"
    return root + "?" + urlencode(query)


def _parse(policy: str, spec: ParamSpec, text: str) -> Any:
    """A query value as the widget stores it; ScheduleError naming the parameter."""
    name = spec.name
    if spec.kind in (FLOAT, INT):
        return text  # the text box parses it, with the message a typed value gets
    if spec.kind == BOOL:
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0"):
            return False
        raise ScheduleError(f"{policy}: {name} must be true or false, got {text!r}.")
    if spec.kind == CHOICE:
        return coerce(policy, spec, text)
    if spec.kind == PHASES:
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
            raise ScheduleError(f"{policy}: {name} must be a JSON list of phases, got "
                                f"{text!r}.") from None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ScheduleError(f"{policy}: {name} must be a JSON list of phases, got "
                                f"{text!r}.")
        return value
    raise ScheduleError(f"{policy}: {name} cannot be set from a link.")


def apply_link() -> list[str]:
    """Fill the form from the link the session was opened with; the messages for values
    that could not be applied (every other key still is)."""
    if st.session_state.get(APPLIED):
        return []
    st.session_state[APPLIED] = True
    query = st.query_params.to_dict()
    if not query:
        return []
    policy = query.get("policy", st.session_state.get(POLICY_KEY, "triangular"))
    if policy not in POLICIES:
        return [f"policy: unknown policy {policy!r} in the link; valid policies: "
                f"{', '.join(POLICIES)}."]
    st.session_state[POLICY_KEY] = policy
    st.session_state[PRESET_KEY] = None  # the box would name a preset the link is not
    specs = {s.name: s for s in form_specs(policy)}
    problems = []
    for name, text in query.items():
        if name == "policy":
            continue
        spec = specs.get(name)
        if spec is None:
            problems.append(f"{policy}: unknown parameter {name!r} in the link; valid "
                            f"parameters: {', '.join(specs)}.")
            continue
        try:
            value = _parse(policy, spec, text)
            if spec.kind in (FLOAT, INT):
                st.session_state[param_key(policy, name)] = value
            else:
                set_value(policy, spec, value)
        except ScheduleError as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - whatever a value raises, named by its key
            problems.append(f"{policy}: {name} in the link could not be read "
                            f"({type(exc).__name__}); the default is kept.")
    return problems


def write_link(config: dict[str, Any]) -> str:
    """Put `config` in the URL (if it changed) and return the full link."""
    query = query_for(config)
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)
    st.session_state[WRITTEN] = query
    return link_for(query)
