"""The operator's settings: every ``CLR_STUDIO_*`` environment variable, read once, typed.

Why one module: the variables used to be parsed where they were used (in 12 files), so a
bad value crashed an import with a bare ``ValueError`` and some (``CLR_STUDIO_WORKER_NICE``,
``CLR_STUDIO_WORKER_IDLE``) were documented nowhere. Here each is a field with its type, default and meaning; a bad value
raises :class:`SettingsError` naming the variable and what it takes, at the first use (never
at an import); the operator table in docs/operating.md is this class (:func:`settings_table` writes it, a
test checks they list the same names).

Read once per environment: :func:`get_settings` parses the variables the first time it sees
a given set of ``CLR_STUDIO_*`` values and keeps that answer, so a script (or a test) that
sets ``os.environ["CLR_STUDIO_DB"]`` before its first run still gets that store, exactly as
when each module read the variable itself, and the server and its job workers (which inherit
the environment, see ``clr_core.jobs.executors.process``) always agree. Looking the values up
costs tens of microseconds; parsing them is done once.

Default folders come from ``platformdirs`` (the run store in the user data folder, data sets
in the user cache folder), so macOS and Windows users get their platform's places; on Linux
they are the XDG folders (``~/.local/share/clr_studio``, ``~/.cache/clr_studio``), as before.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from clr_core.errors import ConfigError

__all__ = ["APP_NAME", "ENV_PREFIX", "Settings", "SettingsError", "clear_settings_cache",
           "default_data_root", "default_db_path", "env_name", "get_settings", "reload_settings",
           "settings_table", "takes"]

logger = logging.getLogger(__name__)

ENV_PREFIX = "CLR_STUDIO_"
#: The folder name under the platform's data and cache folders.
APP_NAME = "clr_studio"

_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


class SettingsError(ConfigError):
    """A ``CLR_STUDIO_*`` variable holds a value its setting does not take."""


def default_db_path() -> Path:
    """The run store when ``CLR_STUDIO_DB`` is unset: ``runs.db`` in the platform's user data
    folder (Linux: ``$XDG_DATA_HOME/clr_studio``, else ``~/.local/share/clr_studio``), looked
    up at each call so ``HOME``/``XDG_DATA_HOME`` set by a script count."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False) / "runs.db"


def default_data_root() -> Path:
    """The data root when ``CLR_STUDIO_DATA`` is unset: the platform's user cache folder
    (Linux: ``$XDG_CACHE_HOME/clr_studio``, else ``~/.cache/clr_studio``): data sets can be
    downloaded again, which is what a cache folder is for."""
    return platformdirs.user_cache_path(APP_NAME, appauthor=False)


def _split(value: Any, sep: str) -> Any:
    """A variable holding a list: separated by ``sep``, blanks around and empty items dropped
    (pydantic-settings would otherwise read it as JSON)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(sep) if part.strip())
    return value


class Settings(BaseSettings):
    """Every ``CLR_STUDIO_*`` variable (the field name, upper-cased, after the prefix).

    A field's ``description`` is its row in the operator table (docs/operating.md); ``json_schema_extra`` may
    give ``takes`` (accepted values, where the type alone does not say it) and ``shown_default``
    (where the default is computed, e.g. a platform folder)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore",
                                      env_ignore_empty=True)

    # --- the run store, data, workers (filled in by the settings work of issue 28) ---
    db: Path | None = Field(
        None,
        description="The run store: the SQLite file every range test, sweep and training is "
                    "saved in. The app, the CLI, `record=` scripts and job workers share it.",
        json_schema_extra={
            "takes": "a file path (`~` expanded; its folders are made)",
            "shown_default": "`runs.db` in the user data folder: `~/.local/share/clr_studio` on "
                             "Linux (`$XDG_DATA_HOME/clr_studio` if set), `~/Library/Application "
                             "Support/clr_studio` on macOS, `%LOCALAPPDATA%\\clr_studio` on Windows",
        })
    data: Path | None = Field(
        None,
        description="The data root: torchvision data sets are looked for and downloaded here, "
                    "and a data folder typed in the app or given to the CLI starts here "
                    "(relative names) and must lie here or under `CLR_STUDIO_DATA_ROOTS`.",
        json_schema_extra={
            "takes": "a folder path (`~` expanded)",
            "shown_default": "the user cache folder: `~/.cache/clr_studio` on Linux "
                             "(`$XDG_CACHE_HOME/clr_studio` if set), `~/Library/Caches/clr_studio` "
                             "on macOS, `%LOCALAPPDATA%\\clr_studio\\Cache` on Windows",
        })
    data_roots: Annotated[tuple[Path, ...], NoDecode] = Field(
        (),
        description="More folders a visitor's data folder may lie under, beside the data root; "
                    "any other folder is refused by name, without touching the disk.",
        json_schema_extra={"takes": "folder paths separated by `:` (`;` on Windows)",
                           "shown_default": "none"})
    executor: Literal["process", "ray", "thread"] = Field(
        "process",
        description="Where jobs run: `process`, one worker process per running job; `ray`, a Ray "
                    "cluster at `RAY_ADDRESS` (see \"On a Ray cluster\"); `thread`, in the server "
                    "process (tests, and hosts that want no processes).")
    worker_nice: int = Field(
        10, ge=0, le=19,
        description="How far below the server a job's worker process runs (its `nice` "
                    "increment), so the pages answer at once while a job trains.")
    worker_idle: bool = Field(
        True,
        description="Whether a job's worker process runs in Linux's idle scheduling class "
                    "(`SCHED_IDLE`): it gets only the CPU nobody else wants. Set 0 on a machine "
                    "whose other load would starve the jobs.")
    plugins: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Python modules the server imports for models and data sets of your own: "
                    "each defines `CLR_STUDIO_MODELS` and/or `CLR_STUDIO_DATA`, dicts of "
                    "name → factory (see \"Use it on your own model\").",
        json_schema_extra={"takes": "importable module names, comma-separated",
                           "shown_default": "none"})
    admin: bool = Field(
        False,
        description="Admin mode: every visitor may rename and delete every run. Off, a run "
                    "belongs to whoever made it (others view, overlay and download it).")

    # --- trackers the pages may also log to (issue 33; docs/trackers.md) ---
    # (clr_core.trackers.operator reads these: a visitor ticks a box, never types a place)
    tracker_tensorboard_dir: Path | None = Field(
        None, description="A TensorBoard log folder the range-test and training pages may "
        "also log to: set, they offer \"Also log to TensorBoard\", and each run ticked so "
        "gets its own folder here. Visitors never see or choose the folder.",
        json_schema_extra={"takes": "a folder path (`~` expanded)", "shown_default": "none"})
    tracker_mlflow_uri: str | None = Field(
        None, description="An MLflow tracking URI (`http://mlflow:5000`) or local folder the "
        "range-test and training pages may also log to: set, they offer \"Also log to "
        "MLflow\". Visitors never see or choose it.",
        json_schema_extra={"takes": "an MLflow tracking URI or a folder path",
                           "shown_default": "none"})
    tracker_name: str = Field(
        "server", description="What the pages call the trackers above, in \"Also log to "
        "TensorBoard (server)\": a name your team knows them by, never their place.",
        json_schema_extra={"takes": "a short name"})

    # --- a shared server: identity and limits per person (issue 29) ---
    # (clr_core.runs.identity decides who a visitor is from these; docs/shared-server.md)
    mode: Literal["local", "shared"] = Field(
        "local", description="local: one person (the default, for a server bound to localhost); "
        "every run, scripts' too, is theirs in every tab. shared: each visitor is who the "
        "server's sign-in or trusted proxy says; anyone else only views.")
    trusted_proxy_header: str | None = Field(
        None, description="Shared mode: the request header naming the signed-in user that a "
        "reverse proxy sets (e.g. X-Forwarded-User from oauth2-proxy); read only on "
        "connections from CLR_STUDIO_TRUSTED_PROXY_ADDRESSES.",
        json_schema_extra={"takes": "a header name", "shown_default": "none"})
    trusted_proxy_addresses: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Shared mode: the proxy's IP addresses or networks, comma-separated "
        "(e.g. 10.0.0.5 or 10.0.0.0/24; 127.0.0.1 for a proxy on this host).",
        json_schema_extra={"takes": "IP addresses or networks, comma-separated",
                           "shown_default": "none"})
    owner: str | None = Field(
        None, description="Who owns the runs a script, the CLI or a callback records (e.g. your "
        "sign-in name, so they are yours in a shared app).",
        json_schema_extra={"takes": "a name", "shown_default": "`os:` and your OS user name"})
    max_jobs_per_person: int = Field(
        3, ge=1, description="Jobs one person may have queued or running at once.")
    max_iterations_per_job: int = Field(
        1_000_000, ge=1, description="Training iterations one range test or training job may "
        "ask for, all its trainings together.")
    max_iterations_per_sweep: int = Field(
        1_000_000, ge=1, description="Training iterations one sweep may ask for, all its values "
        "together.")
    max_upload_mb: int = Field(
        1, ge=1, le=200, description="Largest file a visitor may upload (a schedule JSON), in MB.")

    @field_validator("mode", mode="before")
    @classmethod
    def _mode_lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("trusted_proxy_header", "owner", "tracker_mlflow_uri",
                     "tracker_tensorboard_dir", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("tracker_tensorboard_dir")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("tracker_name", mode="before")
    @classmethod
    def _a_name(cls, value: object) -> object:
        return (" ".join(value.split())[:40] or "server") if isinstance(value, str) else value

    @field_validator("trusted_proxy_addresses", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        return tuple(p.strip() for p in value.split(",") if p.strip()) if isinstance(value, str) \
            else value

    @field_validator("trusted_proxy_addresses")
    @classmethod
    def _addresses_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    # ---------------------------------------------------------------------------------------

    @field_validator("data_roots", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        return _split(value, os.pathsep)

    @field_validator("plugins", mode="before")
    @classmethod
    def _split_modules(cls, value: Any) -> Any:
        modules = _split(value, ",")
        for name in modules if isinstance(modules, tuple) else ():
            if not _MODULE_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a module name")
        return modules

    @field_validator("executor", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def db_path(self) -> Path:
        """The run store's file: ``CLR_STUDIO_DB`` (``~`` expanded), else the platform's."""
        return self.db.expanduser() if self.db is not None else default_db_path()

    @property
    def data_root(self) -> Path:
        """The data root: ``CLR_STUDIO_DATA`` (``~`` expanded), else the platform's cache folder."""
        return self.data.expanduser() if self.data is not None else default_data_root()


def env_name(field: str) -> str:
    """The variable that sets ``field`` (``worker_nice`` → ``CLR_STUDIO_WORKER_NICE``)."""
    return ENV_PREFIX + field.upper()


def _extra(field: str) -> dict[str, Any]:
    extra = Settings.model_fields[field].json_schema_extra
    return extra if isinstance(extra, dict) else {}


def takes(field: str) -> str:
    """What a setting takes, in words (the operator table and every error message)."""
    info = Settings.model_fields[field]
    if "takes" in _extra(field):
        return str(_extra(field)["takes"])
    if info.annotation is bool:
        return "1 or 0 (also true/false, yes/no, on/off)"
    if get_origin(info.annotation) is Literal:
        names = [f"`{a}`" for a in get_args(info.annotation)]
        return ", ".join(names[:-1]) + " or " + names[-1]
    if info.annotation is int:
        low = next((m.ge for m in info.metadata if hasattr(m, "ge")), None)
        high = next((m.le for m in info.metadata if hasattr(m, "le")), None)
        if low is not None and high is not None:
            return f"a whole number from {low} to {high}"
        if low is not None:
            return f"a whole number ≥ {low}"
        if high is not None:
            return f"a whole number ≤ {high}"
        return "a whole number"
    return getattr(info.annotation, "__name__", str(info.annotation))


def _shown_default(field: str) -> str:
    if "shown_default" in _extra(field):
        return str(_extra(field)["shown_default"])
    default = Settings.model_fields[field].default
    if isinstance(default, bool):
        return "`1`" if default else "`0`"
    return f"`{default}`"


def settings_table() -> str:
    """The operator table of docs/operating.md, one row per setting, from the fields above."""
    rows = ["| variable | takes | default | what it does |", "|---|---|---|---|"]
    for name, info in Settings.model_fields.items():
        rows.append(f"| `{env_name(name)}` | {takes(name)} | {_shown_default(name)} | "
                    f"{info.description} |")
    return "\n".join(rows)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        name = env_name(field)
        value = os.environ.get(name, item.get("input"))
        what = takes(field) if field in Settings.model_fields else "another value"
        parts.append(f"{name}={value!r} is refused: it takes {what} ({item['msg']})")
    return "; ".join(parts)


def _environment_key() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)))


@functools.lru_cache(maxsize=8)
def _read(key: tuple[tuple[str, str], ...]) -> Settings:
    """Parse the environment (``key`` is the ``CLR_STUDIO_*`` part of it, the cache's key)."""
    known = {env_name(field) for field in Settings.model_fields}
    unknown = sorted(k for k, _ in key if k.upper() not in known)
    if unknown:
        logger.warning("ignoring unknown setting(s) %s (known: %s)", ", ".join(unknown),
                       ", ".join(sorted(known)))
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(f"bad operator setting: {_describe(error)}") from None


def get_settings() -> Settings:
    """The settings as the environment gives them now (parsed once per set of values).

    Call it where a setting is used, not at import: a bad value then fails the use that
    needs it with a :class:`SettingsError`, and an import never fails."""
    return _read(_environment_key())


def clear_settings_cache() -> None:
    """Forget every parsed set of settings (the next :func:`get_settings` parses again)."""
    _read.cache_clear()


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again."""
    clear_settings_cache()
    return get_settings()
