"""The files the CLI reads and writes: a designer's schedule export (``--schedule``) and
the full result (``--json``). Every problem names the file and says what was (not) done:
the ``--json`` target is opened for writing before the run, so a run is never lost to a path
that cannot be written.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from clr_core import schedules
from clr_core.errors import ClrError, ConfigError
from clr_core.jsonsafe import json_safe

__all__ = ["OutputError", "check_json_target", "read_schedule", "write_json"]


class OutputError(ClrError, RuntimeError):
    """The result could not be written after the run (the run itself is kept)."""


def read_schedule(path: str | os.PathLike[str]) -> dict:
    """A schedule JSON file (the designer's export); every problem names the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"--schedule {path}: not a text file (a designer export is JSON "
                          "text)") from None
    except OSError as e:
        raise ConfigError(f"--schedule {path}: cannot be read ({e.strerror or e})") from None
    try:
        schedule = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--schedule {path}: not valid JSON ({e.msg} at line {e.lineno}, "
                          f"column {e.colno})") from None
    if not isinstance(schedule, dict):
        raise ConfigError(f"--schedule {path}: expected a JSON object with a 'policy', got "
                          f"{type(schedule).__name__}")
    try:
        schedules.from_dict(schedule)
    except ClrError as e:
        raise ConfigError(f"--schedule {path}: {e}") from None
    return schedule


def check_json_target(path: Path) -> None:
    """Refuse a --json path that cannot be written before the run, not after it: the
    file is really opened for writing (permissions alone miss /proc, full or read-only
    disks), and removed again if it was not there."""
    if path.is_dir():
        raise ConfigError(f"--json {path} is a folder; give a file name, e.g. {path / 'out.json'}")
    parent = path.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"--json {path}: {existing} is a file, not a folder")
    made = [p for p in (parent, *parent.parents) if not p.exists()]
    there = path.exists()
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as e:
        raise ConfigError(f"--json {path} cannot be written ({e.strerror or e}); nothing was "
                          "run") from None
    if not there:  # leave the disk as it was until the result is written
        with contextlib.suppress(OSError):
            path.unlink()
            for folder in made:
                folder.rmdir()


def write_json(path: Path, out: dict, *, recorded: bool) -> None:
    """Write the result, or say why not and where the run is kept."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(json_safe(out), indent=2, allow_nan=False))
    except OSError as e:
        kept = "the run is saved in the run store" if recorded else "the summary is printed above"
        raise OutputError(f"--json {path}: could not write the result ({e.strerror or e}); "
                          f"{kept}") from None
