"""The trackers an operator sets up for the app's jobs: "Also log to TensorBoard (team)".

Why a role and not a path: on a server several people share, a visitor who could type a
log folder or a tracking URI could write anywhere the server may (or make it connect
anywhere). So the operator names the places (``CLR_STUDIO_TRACKER_TENSORBOARD_DIR``,
``CLR_STUDIO_TRACKER_MLFLOW_URI``, `clr_core.settings`), a page offers a checkbox per
place set, and a job's config carries only the role ticked (``"log_to": ["tensorboard"]``).
The job's worker, which inherits the operator's environment, turns each role into a sink
here (`operator_sinks`); anything but a configured role is refused by name, and no message
says where a place lies.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clr_core.errors import ConfigError
from clr_core.settings import get_settings
from clr_core.trackers.sinks import SINKS

__all__ = ["LOG_TO", "ROLES", "Offer", "offered", "operator_sinks", "split_log_to"]

#: The config key a job's roles ride in.
LOG_TO = "log_to"

#: Each role: what it is called, the setting that places it, the package it needs.
ROLES = {
    "tensorboard": ("TensorBoard", "tracker_tensorboard_dir", "tensorboard"),
    "mlflow": ("MLflow", "tracker_mlflow_uri", "mlflow"),
}


@dataclass(frozen=True)
class Offer:
    """One tracker a page may offer: its role, the checkbox's words, and why it cannot be
    ticked (its package is missing on the server), or None."""

    role: str
    label: str
    unavailable: str | None = None


def _place(role: str) -> Any:
    return getattr(get_settings(), ROLES[role][1])


def offered() -> list[Offer]:
    """The trackers the operator set up, in `ROLES` order (none: the page offers nothing)."""
    name = get_settings().tracker_name
    out = []
    for role, (title, _, package) in ROLES.items():
        if _place(role) is None:
            continue
        missing = importlib.util.find_spec(package) is None
        out.append(Offer(role, f"Also log to {title} ({name})",
                         f"the server lacks the {package!r} package: ask its operator to "
                         f"pip install {package}" if missing else None))
    return out


def split_log_to(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the config without ``log_to``, the roles it asks for), each checked: a role that is
    not one of `ROLES`, or that this server has not set up, is a `ConfigError` naming it
    (never its place)."""
    rest = {k: v for k, v in config.items() if k != LOG_TO}
    asked = config.get(LOG_TO) or []
    if isinstance(asked, str) or not isinstance(asked, Sequence):
        raise ConfigError(f"{LOG_TO} takes a list of trackers ({', '.join(ROLES)}), "
                          f"got {asked!r}")
    roles: list[str] = []
    for role in asked:
        if not isinstance(role, str) or role not in ROLES:
            raise ConfigError(f"{LOG_TO}: unknown tracker {role!r}; this app logs to "
                              f"{', '.join(ROLES)} where the server's operator set one up")
        if _place(role) is None:
            raise ConfigError(f"{LOG_TO}: {ROLES[role][0]} is not set up on this server (its "
                              f"operator sets CLR_STUDIO_{ROLES[role][1].upper()})")
        if role not in roles:
            roles.append(role)
    return rest, roles


def operator_sinks(roles: Sequence[str], *, label: str) -> list[Any]:
    """A sink for each role, at the operator's place (`split_log_to` checked the roles);
    the run is named after ``label`` and when it started, so two jobs with the same settings
    sit side by side (the TensorBoard sink makes the folder name safe: nothing in a label
    leads out of the log folder)."""
    name = f"{label[:60]} {time.strftime('%Y%m%d-%H%M%S')}"
    return [SINKS[role](_place(role), run_name=name) for role in roles]
