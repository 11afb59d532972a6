"""The operator's settings: every ``CLR_STUDIO_*`` environment variable, read once, typed.

Why one module: the variables used to be parsed where they were used (11 variables in 12
files), so a bad value crashed an import with a bare ``ValueError`` and two of them were
documented nowhere. Here each is a field with its type, default and meaning; a bad value
raises :class:`SettingsError` naming the variable and what it takes; the README's operator
table is this class (a test checks they list the same names).
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from clr_core.errors import ConfigError

__all__ = ["ENV_PREFIX", "Settings", "SettingsError", "get_settings", "reload_settings"]

ENV_PREFIX = "CLR_STUDIO_"


class SettingsError(ConfigError):
    """A ``CLR_STUDIO_*`` variable holds a value its setting does not take."""


class Settings(BaseSettings):
    """Every ``CLR_STUDIO_*`` variable (the field name, upper-cased, after the prefix)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    # --- the run store, data, workers (filled in by the settings work of issue 28) ---
    worker_nice: int = Field(10, ge=0, le=19,
                             description="How far below the server a job's worker runs (0 to 19).")

    # --- a shared server: identity and limits per person (issue 29) ---
    # (clr_core.runs.identity decides who a visitor is from these; docs/shared-server.md)
    mode: Literal["local", "shared"] = Field(
        "local", description="local: one person (the default, for a server bound to localhost); "
        "every run, scripts' too, is theirs in every tab. shared: each visitor is who the "
        "server's sign-in or trusted proxy says; anyone else only views.")
    trusted_proxy_header: str | None = Field(
        None, description="Shared mode: the request header naming the signed-in user that a "
        "reverse proxy sets (e.g. X-Forwarded-User from oauth2-proxy); read only on "
        "connections from CLR_STUDIO_TRUSTED_PROXY_ADDRESSES.")
    trusted_proxy_addresses: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Shared mode: the proxy's IP addresses or networks, comma-separated "
        "(e.g. 10.0.0.5 or 10.0.0.0/24; 127.0.0.1 for a proxy on this host).")
    owner: str | None = Field(
        None, description="Who owns the runs a script, the CLI or a callback records (e.g. your "
        "sign-in name, so they are yours in a shared app); default os:<your OS user name>.")
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

    @field_validator("trusted_proxy_header", "owner", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

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


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        name = ENV_PREFIX + "_".join(str(p) for p in item["loc"]).upper()
        parts.append(f"{name}={item.get('input')!r}: {item['msg']}")
    return "; ".join(parts)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings as the environment gives them (read once; :func:`reload_settings`
    re-reads, e.g. in tests that change the environment)."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(f"bad operator setting: {_describe(error)}") from None


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again."""
    get_settings.cache_clear()
    return get_settings()
