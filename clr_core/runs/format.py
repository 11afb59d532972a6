"""The run store's file format: the schema and its migrations, the row types, and how
results and events are written as JSON. Kept apart from ``RunStore`` so the format can be
read (and migrated) without the connection logic around it."""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from typing import Any

from clr_core.errors import RunNotFound, StoreCorrupt, StoreError

__all__ = [
    "FINAL_STATUSES",
    "LIVE_STATUS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SUMMARY_COLUMNS",
    "Run",
    "RunSummary",
    "dumps",
    "headline_of",
    "is_corrupt",
    "loads",
    "run_id_of",
]

SCHEMA_VERSION = 3
LIVE_STATUS = "running"
FINAL_STATUSES = ("done", "cancelled", "failed", "interrupted")
#: The runs list's one-line summary, bounded against a runaway value; long enough for the
#: app's longest sentence ("No reliable recommendation: " with its reasons and next step),
#: which a 200-character cut ended mid-word, before the advice.
_HEADLINE_MAX = 1000

# Version 1. Later versions add a step to MIGRATIONS; user_version records where a file is.
_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    label       TEXT,
    status      TEXT NOT NULL,
    dataset     TEXT,
    created_at  REAL NOT NULL,
    headline    TEXT,
    error       TEXT,
    config_json TEXT NOT NULL,
    result_json TEXT,
    events_json TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_kind ON runs (kind, created_at DESC);
"""
# Version 2: live runs. Who writes the row (host, pid), when it last showed life, when it
# ended, and its events as append-only batches (first = index of the batch's first event).
_SCHEMA_V2 = """
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN heartbeat_at REAL;
ALTER TABLE runs ADD COLUMN finished_at REAL;
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS run_events (
    run_id      INTEGER NOT NULL,
    first       INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    events_json TEXT NOT NULL,
    PRIMARY KEY (run_id, first)
);
"""
# Version 3: who made the run (a visitor's identity, "os:<user>" or CLR_STUDIO_OWNER for
# record=/the CLI; "script" and a tab's random id in older stores, NULL before; see
# clr_core.runs.identity), so a shared server lets only them (or an admin) rename or delete it.
_SCHEMA_V3 = """
ALTER TABLE runs ADD COLUMN owner TEXT;
"""

# target version -> script from version - 1
MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3}

SUMMARY_COLUMNS = "id, kind, label, status, dataset, created_at, error, headline"


@dataclass(frozen=True)
class RunSummary:
    """One row of the runs list; leaves out the JSON so listing stays cheap."""

    id: int
    kind: str
    label: str | None
    status: str
    dataset: str | None
    created_at: float
    error: str | None
    headline: str | None


@dataclass(frozen=True)
class Run(RunSummary):
    """A saved run in full: enough to redraw its plots without running it again."""

    config: dict[str, Any]
    result: dict[str, Any] | None
    events: list[dict[str, Any]] | None = None


def _json_default(obj: Any) -> Any:
    # Results and events arrive as dicts (converted once, where they leave the engine or
    # the job); numpy arrays/scalars and torch tensors still sneak into their values.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps(obj: Any, what: str) -> str:
    # allow_nan keeps NaN/inf (diverged losses) as NaN/Infinity, which json.loads reads back.
    try:
        return json.dumps(obj, allow_nan=True, default=_json_default, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise StoreError(f"cannot save the run's {what}: {e}") from e


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def headline_of(result: Any) -> str | None:
    value = result.get("headline") if isinstance(result, dict) else None
    if value is None:
        return None
    finite = isinstance(value, float) and math.isfinite(value)
    text = f"{value:.4g}" if finite else str(value)
    if len(text) <= _HEADLINE_MAX:
        return text
    cut = text[:_HEADLINE_MAX - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"  # at a word, and says so


def is_corrupt(error: StoreError) -> bool:
    """An error that says the file itself is not a readable database (not a lock or a
    permission problem, which moving the file would not fix): a `StoreCorrupt`, as the
    store's boundary types SQLite's errors."""
    return isinstance(error, StoreCorrupt)


#: SQLite's largest rowid: a larger id cannot name a run (and overflows the driver).
MAX_RUN_ID = 2**63 - 1

def run_id_of(value: Any) -> int:
    """A run id as the store keys it: a whole number >= 1 (an int, a numpy integer, or a
    string of decimal digits such as a URL's). Anything else is a `StoreError` naming it:
    ``int()`` would turn 1.7 into run 1 and "1 OR 1=1" into a raw ValueError."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise StoreError(f"a run id is a whole number >= 1, got {_short(value)}")
    if not 1 <= value <= MAX_RUN_ID:
        raise RunNotFound(f"no saved run with id {_short(value)} (run ids are 1 to {MAX_RUN_ID})")
    return int(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
