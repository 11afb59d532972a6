"""Who a visitor is, decided by the server alone: never by anything in the page's URL.

Why: the app used to take a visitor's identity from the ``sid`` query parameter, so a
copied link made its receiver the sender (cancel their job, rename or delete their runs),
and the same person's second tab was a stranger (issue 29). Here the decision is one pure
function of what only the server knows: the operator's settings, the headers and TCP peer
of the browser's connection, and what Streamlit's own sign-in (``st.user``, OpenID
Connect) says. The Streamlit glue that gathers them is ``ui.identity``.

Two modes (``CLR_STUDIO_MODE``):

- ``local`` (the default, for a server bound to localhost): one person, the OS user who
  started the server. Every run, including those scripts record, is theirs in every tab.
- ``shared``: a visitor is who Streamlit's sign-in says (``st.login`` with an OIDC provider
  in ``secrets.toml``), or who the header a trusted reverse proxy sets says (e.g.
  oauth2-proxy's ``X-Forwarded-User``, cf. the "authentication proxy" pattern of
  oauth2-proxy's docs), read only on a connection from the proxy's own address. Anyone else
  is anonymous: they view runs but start no job and rename or delete nothing.

Owner keys, as stored with each run and job: a signed-in visitor's e-mail (else the
provider's ``sub``), the proxy's user name as sent, ``os:<user>`` for scripts (or the
``CLR_STUDIO_OWNER`` they name). ``script`` and ``None`` are runs from before owners were
named.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from clr_core.settings import Settings, get_settings

__all__ = [
    "LEGACY_SCRIPT",
    "OS_PREFIX",
    "Identity",
    "decide",
    "describe_owner",
    "may_manage",
    "os_owner",
    "script_owner",
]

#: Owner keys of scripts' runs: the OS account that recorded them.
OS_PREFIX = "os:"
#: The one owner every script's run had before owners were named (store version 3).
LEGACY_SCRIPT = "script"
#: A longer name from a header or a token is refused (a proxy never sends one).
MAX_NAME = 256

Source = Literal["local", "login", "proxy", "anonymous"]


@dataclass(frozen=True)
class Identity:
    """Who a visitor is. ``owner`` is the key their jobs and runs are stored under; None for
    an anonymous visitor of a shared server, who may view but not act."""

    mode: Literal["local", "shared"]
    source: Source
    owner: str | None
    name: str  # how the page names them

    @property
    def may_act(self) -> bool:
        """Whether this visitor may start jobs (and manage what they own)."""
        return self.owner is not None


def os_owner() -> str:
    """``os:<user>`` for the OS account this process runs as (the local person, and the
    default owner of scripts' runs)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # a uid with no name (some containers)
        user = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return OS_PREFIX + user


def script_owner(settings: Settings | None = None) -> str:
    """Who owns a run a script, the CLI or a callback records: ``CLR_STUDIO_OWNER`` when
    set (e.g. your sign-in name, so the shared app lets you manage them), else the OS user."""
    settings = settings or get_settings()
    return settings.owner or os_owner()


def _clean(name: object) -> str | None:
    """A name from a header or the sign-in, or None when it is not one a person has:
    blank, too long, with control characters, or posing as a script's OS account."""
    if not isinstance(name, str):
        return None
    name = name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        return None
    if name.startswith(OS_PREFIX) or name == LEGACY_SCRIPT:
        return None
    return name


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, its name matched without case (as HTTP says), or None. A header
    sent twice is refused: a proxy that sets it sends it once."""
    wanted = name.strip().lower()
    values = [v for k, v in headers.items() if k.lower() == wanted]
    getter = getattr(headers, "get_all", None)
    if getter is not None:  # Streamlit's headers keep only the last of a repeated one
        values = list(getter(name))
    return values[0] if len(values) == 1 else None


def _trusted_peer(peer: str | None, addresses: tuple[str, ...]) -> bool:
    """Whether the connection comes from one of the proxy's addresses. ``peer`` is
    Streamlit's ``st.context.ip_address``: None for a loopback connection."""
    networks = [ipaddress.ip_network(a, strict=False) for a in addresses]
    if peer is None:
        return any(n.network_address.is_loopback for n in networks)
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # an IPv4 proxy as a dual-stack socket names it
    return any(ip.version == n.version and ip in n for n in networks)


def decide(
    settings: Settings,
    *,
    headers: Mapping[str, str] | None = None,
    peer: str | None = None,
    user: Mapping[str, Any] | None = None,
) -> Identity:
    """Who this visitor is. ``headers``: those of the browser's connection; ``peer``: its
    address as ``st.context.ip_address`` gives it (None for loopback); ``user``: what
    ``st.user`` holds. Nothing from the page's URL takes part.

    Shared mode: a signed-in user (``is_logged_in`` true) is their e-mail, else their
    ``sub``; else the trusted proxy's header, only on a connection from its address; else
    anonymous (owner None)."""
    if settings.mode == "local":
        owner = os_owner()
        return Identity("local", "local", owner, owner.removeprefix(OS_PREFIX))
    user = user or {}
    if user.get("is_logged_in") is True:
        name = _clean(user.get("email")) or _clean(user.get("sub"))
        if name:
            return Identity("shared", "login", name, name)
    header = settings.trusted_proxy_header
    if header and _trusted_peer(peer, settings.trusted_proxy_addresses):
        name = _clean(_header(headers or {}, header))
        if name:
            return Identity("shared", "proxy", name, name)
    return Identity("shared", "anonymous", None, "anonymous visitor")


def may_manage(identity: Identity, owner: str | None) -> bool:
    """Whether this visitor may rename, delete (or cancel) what ``owner`` made: in local
    mode everything is the one person's; in shared mode only their own."""
    if identity.mode == "local":
        return True
    return identity.owner is not None and owner == identity.owner


def describe_owner(owner: str | None, identity: Identity | None = None) -> str:
    """Who made a run, as the Runs page says it."""
    if identity is not None and identity.owner is not None and owner == identity.owner:
        return "you"
    if owner is None:
        return "unknown (made before runs named their owner)"
    if owner == LEGACY_SCRIPT:
        return "a script or the CLI (before runs named their owner)"
    if owner.startswith(OS_PREFIX):
        return f"a script or the CLI, as OS user {owner.removeprefix(OS_PREFIX)}"
    return owner
