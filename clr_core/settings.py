"""The operator's settings: every ``CLR_STUDIO_*`` environment variable, read once, typed.

Why one module: the variables used to be parsed where they were used (11 variables in 12
files), so a bad value crashed an import with a bare ``ValueError`` and two of them were
documented nowhere. Here each is a field with its type, default and meaning; a bad value
raises :class:`SettingsError` naming the variable and what it takes; the README's operator
table is this class (a test checks they list the same names).
"""

from __future__ import annotations

import functools

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

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
