"""Where the Streamlit app is, and the command that starts it (``clr-studio app``).

The app (``app.py``, ``pages/``, ``ui/``) is not part of ``clr_core``: the library never
imports Streamlit or the app (the contract in pyproject.toml). An installed wheel holds the
app as the package data of ``clr_studio_app`` (pyproject.toml maps the repository's
``app.py``, ``pages/`` and ``ui/`` there); a checkout has it beside ``clr_core/``. Both are
found here by their files, without importing anything: ``importlib.util.find_spec`` of a
namespace package runs no code.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from clr_core.errors import ClrError

__all__ = ["APP_PACKAGE", "STREAMLIT_OPTIONS", "AppNotFound", "app_script", "start_app",
           "streamlit_command"]

#: The package the wheel ships the app as (pyproject.toml, [tool.setuptools.package-dir]).
APP_PACKAGE = "clr_studio_app"

#: The options ``scripts/app.sh`` has always passed; the user's own follow them (and win).
STREAMLIT_OPTIONS = ("--browser.gatherUsageStats", "false")


class AppNotFound(ClrError, RuntimeError):
    """Neither an installed ``clr_studio_app`` nor a checkout's ``app.py`` was found."""


def _is_app(folder: Path) -> bool:
    return (folder / "app.py").is_file() and (folder / "pages").is_dir() \
        and (folder / "ui" / "__init__.py").is_file()


def app_script() -> Path:
    """The ``app.py`` that belongs with this ``clr_core``.

    A checkout's app first, when this ``clr_core`` is the checkout's (its folder has the
    app beside it): a checkout run with an older wheel installed should not start that
    wheel's pages against the checkout's library. Otherwise the installed ``clr_studio_app``
    (the wheel's, or an editable install's mapping to a checkout)."""
    beside = Path(__file__).resolve().parent.parent
    if _is_app(beside):
        return beside / "app.py"
    spec = importlib.util.find_spec(APP_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if _is_app(Path(location)):
            return Path(location) / "app.py"
    raise AppNotFound(f"the app is not installed beside clr_core ({beside}): reinstall the "
                      "package (pip install clr-studio, or pip install -e <the repository>), "
                      "or run scripts/app.sh in a checkout")


def streamlit_command(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """``python -m streamlit run <app.py>`` with scripts/app.sh's options, then ``extra``
    (Streamlit takes the last value of an option given twice)."""
    return [sys.executable, "-m", "streamlit", "run", str(app_script()), *STREAMLIT_OPTIONS,
            *extra]


def start_app(extra: list[str] | tuple[str, ...] = ()) -> int:
    """Run the app in the foreground until it stops; its exit status.

    On POSIX the process becomes Streamlit (``exec``), so Ctrl-C, SIGTERM and a service
    manager's signals reach the server itself; elsewhere it runs as a child."""
    if importlib.util.find_spec("streamlit") is None:
        raise AppNotFound("the app needs Streamlit, which is not installed: pip install "
                          "clr-studio (it depends on streamlit)")
    command = streamlit_command(extra)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(command[0], command)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130
