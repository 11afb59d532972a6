"""Server paths out of messages that visitors read: a folder of the server is named by its
role ("<data root>/MNIST/raw", "<run store>"), never by where it lies on the server's disk.

Why: a failed job's message ("Dataset not found at /home/op/.cache/clr_studio/MNIST/raw"),
a busy store's ("... (/srv/clr/runs.db: database is locked)") and a library's exception
name the server's folders; they are stored with the run and shown to every visitor of a
shared server. OWASP's Error Handling Cheat Sheet (2023): error pages must not disclose
paths or stack traces. The full message still goes to the server's log.

The roots known here: the data root and the extra data roots its operator allows
(``$CLR_STUDIO_DATA``, default ``~/.cache/clr_studio``, and ``$CLR_STUDIO_DATA_ROOTS``), the
run store (``$CLR_STUDIO_DB``, default the XDG data dir) and its folder, the app's own
folder, Python's install (site-packages, prefixes), the temporary folder and the home
folder. These defaults mirror ``clr_core.setup.data_roots`` and
``clr_core.runs.connection``, which this low layer may not import (a test holds them
equal); a caller that knows another root (a run store opened at another path) passes it.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import sysconfig
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["known_roots", "scrub_paths"]

_DATA_ENV = "CLR_STUDIO_DATA"
_ALLOW_ENV = "CLR_STUDIO_DATA_ROOTS"
_DB_ENV = "CLR_STUDIO_DB"
_DEFAULT_DATA = "~/.cache/clr_studio"
#: A root preceded or followed by a character of a file name is part of another name
#: ("/home/ann" is not the root "/home/an"); a full stop ends a sentence, not a name,
#: when a space or the end follows it.
_BEFORE = r"(?<![\w.\-~+@])"
_AFTER = r"(?![\w\-~+@]|\.\S)"


def _norm(path: str | os.PathLike[str]) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _db_path() -> str:
    env = os.environ.get(_DB_ENV, "").strip()
    if env:
        return _norm(env)
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return _norm(base / "clr_studio" / "runs.db")


def known_roots() -> dict[str, str]:
    """Each server folder a message may name, mapped to the role it is shown as (read
    afresh on each call: the environment of a test or a restarted server may change)."""
    roots: dict[str, str] = {}

    def add(path: str | os.PathLike[str] | None, role: str) -> None:
        if path and str(path).strip():
            roots.setdefault(_norm(str(path).strip()), role)

    db = _db_path()
    add(db, "<run store>")
    add(os.path.dirname(db), "<run store folder>")
    add(os.environ.get(_DATA_ENV) or _DEFAULT_DATA, "<data root>")
    extra = [p for p in os.environ.get(_ALLOW_ENV, "").split(os.pathsep) if p.strip()]
    for i, path in enumerate(extra, start=1):
        add(path, f"<allowed data folder {i}>")
    add(Path(__file__).resolve().parents[1], "<app>")
    for key in ("purelib", "platlib"):
        add(sysconfig.get_paths().get(key), "<site-packages>")
    for prefix in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix):
        add(prefix, "<python>")
    add(tempfile.gettempdir(), "<tmp>")
    add(Path.home(), "~")
    return roots


def _variants(roots: Mapping[str, str]) -> Iterable[tuple[str, str]]:
    for path, role in roots.items():
        yield path, role
        real = os.path.realpath(path)
        if real != path:
            yield real, role


def scrub_paths(text: object, extra: Mapping[str | os.PathLike[str], str] | None = None) -> str:
    """`text` with every known server folder (and `extra`'s, path -> role) replaced by its
    role; the longest root first, so a file in the data root under the home folder reads
    "<data root>/MNIST", not "~/.cache/clr_studio/MNIST"."""
    roots = {_norm(p): role for p, role in (extra or {}).items()}
    for path, role in known_roots().items():
        roots.setdefault(path, role)
    compiled = _pattern(tuple(sorted(roots.items())))
    if compiled is None:
        return str(text)
    pattern, role_of = compiled
    return pattern.sub(lambda m: role_of[m.group(0)], str(text))


@functools.lru_cache(maxsize=32)
def _pattern(roots: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    """One expression for a set of roots (a page scrubs dozens of messages per run)."""
    pairs = sorted({(p, r) for p, r in _variants(dict(roots)) if len(p) > 1},
                   key=lambda pr: len(pr[0]), reverse=True)
    if not pairs:
        return None
    role_of = dict(pairs[::-1])  # the longest path's role wins for an equal spelling
    pattern = re.compile(_BEFORE + "(?:" + "|".join(re.escape(p) for p, _ in pairs) + ")" + _AFTER)
    return pattern, role_of
