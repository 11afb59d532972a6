"""Figures as PNG or SVG files, for slides and handouts.

Plotly renders static images through kaleido, which drives a headless Chrome; we point it at
Debian's chromium (kaleido's ``BROWSER_PATH`` setting) and switch off MathJax, which kaleido
would otherwise fetch from a CDN (plotly.py cannot pass that switch on, so kaleido is called
directly), so an export works offline."""

from __future__ import annotations

import os
import shutil

import plotly.graph_objects as go

from clr_core.errors import ConfigError

__all__ = ["FORMATS", "browser_for_export", "figure_image"]

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def browser_for_export() -> str | None:
    """The Chrome kaleido will drive, or None: the page then says why there are no
    downloads instead of offering buttons that fail."""
    if os.environ.get("BROWSER_PATH"):
        return os.environ["BROWSER_PATH"]
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _use_local_chromium() -> None:
    path = browser_for_export()
    if path is None:
        raise ConfigError("PNG/SVG export needs Chromium on the server "
                          "(apt-get install chromium) or BROWSER_PATH set to a Chrome.")
    os.environ["BROWSER_PATH"] = path


def figure_image(fig: go.Figure, fmt: str, *, width: int = 1200, height: int | None = None,
                 scale: float = 2.0) -> bytes:
    """``fig`` as a PNG or SVG file's bytes (PNG at twice the pixels, sharp on a projector)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown image format {fmt!r}; choose one of {sorted(FORMATS)}")
    import kaleido  # imported on first export: it starts nothing until called

    _use_local_chromium()
    opts = {"format": fmt, "width": width, "height": height or int(fig.layout.height or 450),
            "scale": scale if fmt == "png" else 1.0}
    return kaleido.calc_fig_sync(fig.to_dict(), opts=opts, kopts={"mathjax": False})
