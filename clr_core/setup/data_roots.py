"""Where a data folder typed by a visitor may point: only under roots the server's operator
names, so a shared server never walks, lists or writes anything else.

The roots are the data root (``$CLR_STUDIO_DATA``, default the user cache folder) and
the folders listed in ``$CLR_STUDIO_DATA_ROOTS`` (separated by ``os.pathsep``). A folder
is first judged by name (``~`` expanded, a relative name taken under the data root, ``..``
folded): outside every root it is refused without touching the disk. Inside, it is
resolved with its symlinks and judged again, so a link that leads out is refused too.
The message echoes only what was typed and the allowed roots, never what is on disk.

``scan_folder`` counts a folder's class folders and files with a bound on both the files
looked at and the time spent, and caches the answer for a short while, so a status line
redrawn on every keystroke never walks a big tree twice.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from clr_core.errors import ConfigError
from clr_core.settings import env_name, get_settings

__all__ = ["ALLOW_ENV", "FolderRefused", "FolderScan", "allowed_roots", "confine",
           "scan_folder", "shown"]

#: Extra roots a server's operator allows (os.pathsep-separated), beside $CLR_STUDIO_DATA.
ALLOW_ENV = env_name("data_roots")
_DATA_ENV = env_name("data")
_MAX_NAME = 1024

#: A scan stops after this many entries or seconds (a status line, not an inventory).
SCAN_MAX_ENTRIES = 20_000
SCAN_MAX_S = 0.5
SCAN_CACHE_S = 30.0


class FolderRefused(ConfigError):
    """A data folder outside the roots this server allows (judged by name first)."""


def _named_roots() -> list[str]:
    settings = get_settings()
    named = [settings.data_root, *settings.data_roots]
    return [os.path.normpath(os.path.abspath(os.path.expanduser(p))) for p in named]


def allowed_roots() -> list[Path]:
    """The roots a data folder may lie under, as the operator named them."""
    return [Path(p) for p in _named_roots()]


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _refuse(typed: str, roots: list[str]) -> FolderRefused:
    shown = typed if len(typed) <= 120 else typed[:117] + "..."
    return FolderRefused(
        f"The data folder {shown!r} is outside the folders this server reads data from: "
        f"the data root (${_DATA_ENV}; a relative name like 'my_images' starts there) and "
        f"those its operator allows (${ALLOW_ENV}).")


def shown(path: str | os.PathLike[str]) -> str:
    """A confined path as a visitor may see it: relative to its root, which is named by
    its role, never by where it is on the server ("pets in the data root")."""
    real = os.path.realpath(path)
    for i, root in enumerate(_named_roots()):
        base = os.path.realpath(root)
        if _within(real, base):
            where = "the data root" if i == 0 else f"allowed folder {i} (${ALLOW_ENV})"
            rel = os.path.relpath(real, base)
            return where if rel == "." else f"{rel} in {where}"
    return os.path.basename(real) or "the folder"


def confine(typed: str | os.PathLike[str]) -> Path:
    """The resolved folder `typed` names, if it lies under an allowed root; else
    `FolderRefused` (by name alone when the name already points outside)."""
    if not isinstance(typed, str | os.PathLike):
        raise FolderRefused(f"a data folder must be a path, got {type(typed).__name__}")
    text = os.fspath(typed)
    if not isinstance(text, str) or "\x00" in text or len(text) > _MAX_NAME or not text.strip():
        raise FolderRefused("the data folder name is empty, too long or holds a NUL character")
    roots = _named_roots()
    text = text.strip()
    expanded = os.path.expanduser(text) if text.startswith("~") else text
    joined = expanded if os.path.isabs(expanded) else os.path.join(roots[0], expanded)
    lexical = os.path.normpath(joined)
    if not any(_within(lexical, r) for r in roots):
        raise _refuse(text, roots)  # by name: nothing on disk was touched
    real = os.path.realpath(lexical)
    real_roots = [os.path.realpath(r) for r in roots]
    if not any(_within(real, r) for r in real_roots):
        raise _refuse(text, roots)
    return Path(real)


@dataclass(frozen=True)
class FolderScan:
    """What a bounded scan found: class folders, files under them, whether it stopped
    early, and the folder it looked in (train/ when the layout is train/ + val/)."""

    classes: int
    files: int
    complete: bool
    base: Path


_cache: dict[str, tuple[float, FolderScan]] = {}
_cache_lock = threading.Lock()


def scan_folder(path: Path, *, max_entries: int = SCAN_MAX_ENTRIES,
                max_s: float = SCAN_MAX_S) -> FolderScan:
    """Count class folders and files under `path` (already confined), bounded in entries
    and time, never following a link out of it; cached for a few seconds."""
    key = f"{path}|{max_entries}|{max_s}"
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < SCAN_CACHE_S:
            return hit[1]
    base = path / "train" if (path / "train").is_dir() and (path / "val").is_dir() else path
    deadline = now + max_s
    seen = files = 0
    complete = True
    classes: list[str] = []
    try:
        with os.scandir(base) as it:
            for entry in it:
                seen += 1
                if seen > max_entries:
                    complete = False
                    break
                if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                    classes.append(entry.path)
    except OSError:
        classes, complete = [], False
    stack = list(classes)
    while stack and complete:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    seen += 1
                    if seen > max_entries or time.monotonic() > deadline:
                        complete = False
                        break
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        files += 1
        except OSError:
            continue  # an unreadable folder: counted as empty, never named
    scan = FolderScan(len(classes), files, complete, base)
    with _cache_lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = (time.monotonic(), scan)
    return scan
