"""What a lesson is: an explanation, one claim from a paper, controls, and a view that turns the
controls' values into figures. Values travel in a link's query string, so a teacher can open a
lesson exactly as prepared; parsing never raises, a bad value falls back to the default."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Claim", "Control", "Lesson", "LessonView", "query_from_values", "values_from_query"]


@dataclass(frozen=True)
class Control:
    """One widget. ``kind``: "slider" (numbers from lo to hi by step), "steps" (a slider over the
    given numeric ``options``, for log-spaced values), "choice" (one of the string ``options``),
    "toggle" (a bool)."""

    key: str
    label: str
    kind: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    options: tuple = ()
    help: str = ""

    def parse(self, text: str) -> Any:
        """The value a query-string entry stands for, or the default when it makes no sense."""
        try:
            if self.kind == "toggle":
                return str(text).lower() in ("1", "true", "yes", "on")
            if self.kind == "choice":
                return text if text in self.options else self.default
            x = float(text)
            if not math.isfinite(x):
                return self.default
            if self.kind == "steps":
                return min(self.options, key=lambda o: abs(math.log(o / x)) if x > 0 and o > 0
                           else abs(o - x))
            x = min(max(x, self.lo), self.hi)
            return int(round(x)) if isinstance(self.default, int) else x
        except Exception:  # noqa: BLE001 - any text in a link: the default, never a traceback
            return self.default

    def encode(self, value: Any) -> str:
        if self.kind == "toggle":
            return "1" if value else "0"
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)


@dataclass(frozen=True)
class Claim:
    """One claim from the lesson's paper, and what the digits demo shows of it."""

    text: str
    source: str  # author, title, year
    verdict: str  # what our measurement shows, honestly, including where digits cannot show it


@dataclass
class LessonView:
    """What the page draws: named plotly figures, headline numbers, a table, notes."""

    figures: list[tuple[str, Any]] = field(default_factory=list)
    metrics: list[tuple[str, str]] = field(default_factory=list)
    table: Any = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Lesson:
    """``view(values)`` draws the lesson. Instant lessons are closed-form and redraw on every
    change; the others train on digits (a few seconds): ``view(values, on_run=...)`` reports
    each finished run so the page can draw them as they arrive."""

    key: str
    title: str
    body: str
    claim: Claim
    controls: tuple[Control, ...]
    view: Callable[..., LessonView]
    instant: bool
    rules: tuple[str, ...] = ()

    def defaults(self) -> dict[str, Any]:
        return {c.key: c.default for c in self.controls}


def values_from_query(lesson: Lesson, query: Mapping[str, str]) -> dict[str, Any]:
    """Each control's value from a link (the default where the link has none or a bad one)."""
    return {c.key: (c.parse(query[c.key]) if c.key in query else c.default)
            for c in lesson.controls}


def query_from_values(lesson: Lesson, values: Mapping[str, Any]) -> dict[str, str]:
    """The query-string entries that reproduce ``values``."""
    return {c.key: c.encode(values.get(c.key, c.default)) for c in lesson.controls}
