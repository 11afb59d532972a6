"""The one event the training loop emits while a range test or a training runs.

The engine hands these to the caller's ``emit``, so every producer and reader in one
process agrees on one typed record. Across the job, process and store boundary an event
is a plain dict: converted once by ``to_dict()`` where it leaves, read back once on the
other side (``Event.from_dict``, or `EventTable`, which folds the dicts into columns).

Kinds (``Event.kind``):

* ``"step"``: one optimizer update. ``iteration`` is the 0-based index of the update,
  ``lr`` and ``momentum`` what the optimizer used for it (reference group; momentum NaN
  for an optimizer without one), ``loss`` the batch loss (mean over accumulated
  micro-batches). A range test also fills ``smoothed``, the debiased EMA of the loss.
* ``"eval"``: one pass over the validation loader. ``iteration`` is the number of updates
  done, ``lr`` the last LR used, ``val_loss`` / ``val_accuracy`` the means over the
  whole loader (accuracy NaN when the task is not classification); training also fills
  ``train_loss`` / ``train_accuracy``, the means over the batches since the last eval.

Fields a kind does not use stay NaN. ``curve`` labels the run an event belongs to when
one job runs several (a sweep's value, a training's baseline); "" otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from clr_core.jsonsafe import from_json_float, to_json_float

__all__ = ["EVAL", "FLOAT_FIELDS", "KINDS", "STEP", "Event", "EventColumns", "EventTable"]

STEP = "step"
EVAL = "eval"
KINDS = (STEP, EVAL)


@dataclass(frozen=True, slots=True)
class Event:
    """One step or one evaluation; see the module docstring for what each field means."""

    kind: str
    iteration: int
    lr: float = math.nan
    loss: float = math.nan
    smoothed: float = math.nan
    momentum: float = math.nan
    val_loss: float = math.nan
    val_accuracy: float = math.nan
    train_loss: float = math.nan
    train_accuracy: float = math.nan
    curve: str = ""

    def tagged(self, curve: str) -> Event:
        """The same event labelled with the run (``curve``) it belongs to."""
        return replace(self, curve=curve)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: fields left at NaN (unused by this kind, or non-finite) become None."""
        out: dict[str, Any] = {"kind": self.kind, "iteration": int(self.iteration)}
        for name in FLOAT_FIELDS:
            out[name] = to_json_float(getattr(self, name))
        if self.curve:
            out["curve"] = self.curve
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        """Inverse of `to_dict`; absent fields default (NaN, "")."""
        return cls(
            kind=str(d["kind"]),
            iteration=int(d["iteration"]),
            curve=str(d.get("curve") or ""),
            **{name: from_json_float(d.get(name)) for name in FLOAT_FIELDS},
        )


#: The numeric fields after ``kind`` and ``iteration``: the columns a page plots.
FLOAT_FIELDS = tuple(f.name for f in fields(Event) if f.name not in ("kind", "iteration", "curve"))


@dataclass(frozen=True)
class EventColumns:
    """One run's events of one kind as float arrays (NaN where a field is unused), the
    shape live charts plot: ``cols.lr`` against ``cols.loss``."""

    iteration: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    smoothed: np.ndarray
    momentum: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    train_loss: np.ndarray
    train_accuracy: np.ndarray

    def __len__(self) -> int:
        return int(self.iteration.size)


_COLUMNS = ("iteration", *FLOAT_FIELDS)


class EventTable:
    """Events, in their dict form (`Event.to_dict`), folded into columns per (kind, curve)
    as they arrive, so a page that polls a long run pays only for the events that are new
    since its last poll."""

    def __init__(self) -> None:
        self._cols: dict[tuple[str, str], dict[str, list[float]]] = {}

    def add(self, event: Mapping[str, Any]) -> None:
        """One event dict, read back by `Event.from_dict` (absent or None fields are NaN)."""
        e = Event.from_dict(event)
        cols = self._cols.get((e.kind, e.curve))
        if cols is None:
            cols = self._cols[(e.kind, e.curve)] = {name: [] for name in _COLUMNS}
        for name in _COLUMNS:
            cols[name].append(getattr(e, name))

    def columns(self) -> dict[tuple[str, str], EventColumns]:
        """Every (kind, curve) seen so far, in order of first appearance."""
        return {key: EventColumns(**{name: np.asarray(v, dtype=float) for name, v in cols.items()})
                for key, cols in self._cols.items()}

    def get(self, kind: str, curve: str = "") -> EventColumns | None:
        cols = self._cols.get((kind, curve))
        if cols is None:
            return None
        return EventColumns(**{name: np.asarray(v, dtype=float) for name, v in cols.items()})
