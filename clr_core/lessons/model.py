"""What a lesson is: an explanation, one claim from a paper, controls, and a view that turns the
controls' values into figures. Values travel in a link's query string, so a teacher can open a
lesson exactly as prepared; parsing never raises: a value the control cannot take is refused
by name (``link_problems``), as the designer refuses a bad link, and the default is kept."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Claim", "Control", "Lesson", "LessonView", "lesson_problems", "link_problems",
           "query_from_values", "values_from_query"]


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

    def problem(self, text: str) -> str | None:
        """Why a link's ``text`` cannot be this control's value as written (None: it can):
        out of range, not a number, not an option. ``parse`` then keeps the default or the
        nearest allowed value, and the page says so."""
        if self.kind == "toggle":
            ok = str(text).lower() in ("1", "true", "yes", "on", "0", "false", "no", "off")
            return None if ok else f"{self.key}={text!r} is not on/off (use 1 or 0)"
        if self.kind == "choice":
            return None if text in self.options else (
                f"{self.key}={text!r} is not one of {', '.join(map(str, self.options))}")
        try:
            x = float(text)
        except (TypeError, ValueError):
            return f"{self.key}={text!r} is not a number; kept {self.encode(self.default)}"
        if not math.isfinite(x):
            return f"{self.key}={text!r} is not a finite number; kept {self.encode(self.default)}"
        if self.kind == "steps":
            if any(math.isclose(x, o, rel_tol=1e-6) for o in self.options):
                return None
            return (f"{self.key}={text} is not one of the choices "
                    f"{', '.join(f'{o:g}' for o in self.options)}; using {self.encode(self.parse(text))}")
        if x < self.lo or x > self.hi:
            return (f"{self.key}={text} is outside {self.lo:g}–{self.hi:g}; "
                    f"using {self.encode(self.parse(text))}")
        return None

    def slider_format(self) -> str:
        """The printf format a slider shows its value with: as many decimals as its step has
        (a gamma of 0.998 on a 0.0005 step reads 0.9980, never 1.00)."""
        step = float(self.step or 1)
        decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
        if step < 1 and not math.isclose(step * 10 ** decimals, round(step * 10 ** decimals)):
            decimals += 1
        return f"%.{decimals}f"

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
    #: the result in one plain sentence, shown first (before metrics and their jargon)
    summary: str = ""
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


def link_problems(query: Mapping[str, str], keys: Sequence[str]) -> list[str]:
    """A ``lesson=`` the link names that is no lesson (a number out of 1..len(keys), an
    unknown key), said by name; a control value a lesson refuses: ``lesson_problems``."""
    value = query.get("lesson")
    if value and value not in keys and not (value.isdigit() and 1 <= int(value) <= len(keys)):
        return [f"lesson={value!r} is not a lesson: use 1–{len(keys)} or a lesson's name "
                f"({', '.join(keys)}); showing the first lesson"]
    return []


#: What a Learn link may carry besides a lesson's controls.
LINK_KEYS = ("lesson", "hide", "projector")


def lesson_problems(lesson: Lesson, query: Mapping[str, str],
                    settings: Collection[str] | None = None) -> list[str]:
    """Each control value in ``query`` that ``lesson`` refuses, and each lesson setting it
    does not have (a link written for another lesson: ``?lesson=3&lr=banana``), said by
    name: a link never loses a value without a word. ``settings``: the names that are some
    lesson's setting (every lesson's controls); other parameters (another page's, carried
    along by the navigation) are not the lesson's to judge. None: every name but
    `LINK_KEYS`."""
    keys = {c.key for c in lesson.controls}
    problems = [p for c in lesson.controls if c.key in query
                for p in [c.problem(query[c.key])] if p]
    own = ", ".join(c.key for c in lesson.controls) or "none"
    problems += [f"{k}={v!r} is not a setting of this lesson (its settings: {own}); ignored"
                 for k, v in query.items() if k not in keys and k not in LINK_KEYS
                 and (settings is None or k in settings)]
    return problems


def query_from_values(lesson: Lesson, values: Mapping[str, Any]) -> dict[str, str]:
    """The query-string entries that reproduce ``values``."""
    return {c.key: c.encode(values.get(c.key, c.default)) for c in lesson.controls}
