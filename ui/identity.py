"""Who this visitor is, for the pages: Streamlit's side of `clr_core.runs.identity`.

Gathers what only the server knows — the connection's headers and peer address
(``st.context``) and Streamlit's own sign-in (``st.user``) — and hands them to the pure
decision. Nothing here reads ``st.query_params``: a URL carries no identity, so a copied
link gives its receiver nothing of the sender's, and every tab of one person is the same
person."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from clr_core.present.escape import markdown_text
from clr_core.runs.identity import Identity, decide, describe_owner, may_manage
from clr_core.settings import get_settings

__all__ = ["can_sign_in", "current", "explain_read_only", "manages", "owner_label", "show_mode"]


def _connection() -> tuple[Mapping[str, str], str | None]:
    """The browser connection's headers and peer address (None for loopback)."""
    return st.context.headers, st.context.ip_address


def _user() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict())
    except Exception:  # noqa: BLE001 - no sign-in configured or no session: nobody signed in
        return {}


def current() -> Identity:
    """This visitor, decided afresh on every run (a sign-in or an operator's change of
    settings takes effect at once; nothing is cached where a page could alter it)."""
    headers, peer = _connection()
    return decide(get_settings(), headers=headers, peer=peer, user=_user())


def manages(owner: str | None) -> bool:
    """Whether this visitor may rename, delete or cancel what ``owner`` made."""
    return may_manage(current(), owner)


def owner_label(owner: str | None) -> str:
    return describe_owner(owner, current())


def can_sign_in() -> bool:
    """Whether Streamlit's sign-in is set up (an ``[auth]`` section in secrets.toml)."""
    try:  # load_if_toml_exists: no "No secrets found" error when there is no file at all
        return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)
    except Exception:  # noqa: BLE001 - an unreadable secrets file: no sign-in offered
        return False


def explain_read_only(*, key: str) -> None:
    """Tell an anonymous visitor of a shared server why they can only look, and how to sign in."""
    if can_sign_in():
        st.info("This is a shared server: sign in to start jobs and manage your runs. "
                "Until then you can view every run.", icon="🔑")
        st.button("Sign in", key=f"btn.{key}.login", on_click=st.login)
    else:
        st.info("This is a shared server and you are not signed in: you can view every run, "
                "but starting jobs and managing runs needs the sign-in your server's operator "
                "set up (ask them for the address to use).", icon="🔑")


def show_mode() -> None:
    """The Overview's line on who you are here."""
    who = current()
    if who.mode == "local":
        st.success("**Local**: everything here is yours — every run, including those your "
                   "scripts record, in every tab.", icon="🏠")
        if st.context.ip_address is not None:  # reached from another machine
            st.warning("You reach this local-mode server from another machine: everyone who "
                       "can reach it is treated as the same person. Its operator should set "
                       "CLR_STUDIO_MODE=shared with a sign-in.", icon="⚠️")
    elif who.may_act:
        st.success(f"**Shared**: signed in as **{markdown_text(who.name)}**. Your jobs and runs are "
                   "yours in every tab; others' runs you can view and overlay.", icon="👥")
    else:
        st.warning("**Shared**: you are not signed in, so you can view runs but not start "
                   "jobs or rename and delete runs.", icon="👥")
        explain_read_only(key="overview")

