"""Files a visitor uploads: refused over the server's size limit, with a message that says
both sizes, before a byte of them is parsed or quoted.

Why: a 50 MB JSON file was parsed and then echoed whole in one alert that took 63 s to
render (issue 29's probe). The file uploader is given the same limit
(``max_upload_size``), so the browser refuses a larger file before sending it; the check
here holds for an upload sent around the browser's check (the server itself only caps
uploads at ``server.maxUploadSize``, 200 MB by default).

The limit is the operator's ``CLR_STUDIO_MAX_UPLOAD_MB`` setting (``clr_core.settings``).
"""

from __future__ import annotations

from collections.abc import Callable

from clr_core.errors import ConfigError
from clr_core.settings import get_settings

__all__ = ["UploadTooLarge", "checked_upload", "upload_limit_mb", "upload_too_large"]

_MB = 1024 * 1024


class UploadTooLarge(ConfigError):
    """An uploaded file larger than this server takes; the message says both sizes."""


def upload_limit_mb() -> int:
    """The most megabytes (MiB, as Streamlit counts them) one upload may hold."""
    return get_settings().max_upload_mb


def upload_too_large(name: str, size: int, *, limit_mb: int | None = None
                     ) -> UploadTooLarge | None:
    """`UploadTooLarge` naming the file (cut to 80 characters), its size and the limit when
    `size` is over the limit; None when the file may be read."""
    limit = upload_limit_mb() if limit_mb is None else limit_mb
    if size > limit * _MB:
        short = name if len(name) <= 80 else name[:79] + "…"
        return UploadTooLarge(
            f"{short} is {size / _MB:.1f} MB; this server takes files up to {limit} MB "
            "(CLR_STUDIO_MAX_UPLOAD_MB). A schedule's JSON export is a few "
            "kilobytes: upload the file the designer's JSON tab downloads.")
    return None


def checked_upload(name: str, size: int, read: Callable[[], bytes], *,
                   limit_mb: int | None = None) -> bytes:
    """The file's bytes, read only when `size` is within the limit; else `UploadTooLarge`."""
    refusal = upload_too_large(name, size, limit_mb=limit_mb)
    if refusal is not None:
        raise refusal
    return read()
