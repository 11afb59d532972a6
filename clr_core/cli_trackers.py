"""The CLI's ``--log-to``: a range test or training also written to TensorBoard or MLflow,
with the sinks ``record=`` takes (`clr_core.trackers`).

``--log-to tensorboard:DIR`` (``tensorboard`` alone: ``./runs``) writes each run to its own
folder under DIR; ``--log-to mlflow`` a local MLflow store in ``./mlruns``, ``mlflow:FOLDER``
one elsewhere, ``mlflow:http://host:5000`` a tracking server. Repeatable. A sink whose
package is missing is refused before the run (exit status 2, as any bad flag).
"""

from __future__ import annotations

import argparse
from typing import Any

from clr_core.errors import ConfigError
from clr_core.trackers.sinks import SINKS

__all__ = ["add_log_to", "log_to_sinks"]


def add_log_to(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-to", action="append", default=[], metavar="TRACKER[:WHERE]",
                   help="also write the run to a tracker: tensorboard:DIR, mlflow, "
                        "mlflow:FOLDER or mlflow:URI (repeatable)")


def log_to_sinks(values: list[str], *, run_name: str | None = None) -> list[Any]:
    """The sinks ``--log-to`` names, each refused by name when it is none of them (a
    `ConfigError`, exit status 2). ``run_name``: the runs' name (``--record``); without
    one, each run is named after what it trains."""
    sinks = []
    for value in values:
        kind, _, where = value.partition(":")
        if kind.strip().lower() not in SINKS:
            raise ConfigError(f"--log-to {value!r}: say tensorboard:DIR, mlflow or mlflow:URI")
        sink = SINKS[kind.strip().lower()]
        where = where.strip()
        sinks.append(sink(where, run_name=run_name) if where else sink(run_name=run_name))
    return sinks
