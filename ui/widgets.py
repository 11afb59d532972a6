"""Widgets that turn text into checked numbers, so bad input becomes a message, not a traceback.

Whole numbers are text boxes too: Streamlit's integer box reads "1e3" as 1 in the browser,
silently; here "1e3" is 1000, "1.5" or a value past the box's limit is a message naming
the field, and the page's Start button stays disabled until it is fixed."""

from __future__ import annotations

import math

import streamlit as st

from clr_core.engine.spec import BOUNDS
from ui.text import shown

__all__ = ["FieldError", "float_input", "fmt", "fmt_int", "int_input", "parse_float", "parse_int"]


class FieldError(ValueError):
    """A widget's text is not a valid value; the message names the field."""


def fmt(value: float | None) -> str:
    """Show a float the way people type learning rates (1e-05, 0.006)."""
    if value is None:
        return ""
    return f"{value:g}"


def parse_float(label: str, text: str, *, optional: bool = False) -> float | None:
    """Parse a float typed by a person; NaN/inf and words are refused with the field's name."""
    text = (text or "").strip()
    if not text:
        if optional:
            return None
        raise FieldError(f"{label}: a number is required.")
    try:
        value = float(text)
    except ValueError:
        raise FieldError(f"{label}: '{text}' is not a number (try e.g. 0.001 or 1e-3).") from None
    if not math.isfinite(value):
        raise FieldError(f"{label}: must be a finite number, got '{text}'.")
    return value


def float_input(label: str, key: str, default: float | None, *, help: str | None = None,
                optional: bool = False, errors: list[str] | None = None) -> float | None:
    """A text box for a float; an invalid entry is reported under the box and in `errors`."""
    if key not in st.session_state:
        st.session_state[key] = fmt(default)
    text = st.text_input(label, key=key, help=help,
                         placeholder="optional" if optional else None)
    try:
        return parse_float(label, text, optional=optional)
    except FieldError as exc:
        st.error(shown(exc), icon="⚠️")
        if errors is not None:
            errors.append(str(exc))
        return None


def fmt_int(value: int | float | None) -> str:
    """A whole number as typed (1000, not 1e+03); anything else as it is, so a value the
    box cannot hold shows as what it is and is refused, never as a different number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()
                                  and abs(value) < 1e16):
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def parse_int(label: str, text: str, *, min_value: int | None = None,
              max_value: int | None = None, optional: bool = False) -> int | None:
    """A whole number typed by a person: "1000", "1e3", "1_000" and "1,000" are 1000;
    fractions, words and values outside [min_value, max_value] are refused by name."""
    raw = (text or "").strip()
    if not raw:
        if optional:
            return None
        raise FieldError(f"{label}: a whole number is required.")
    cleaned = raw.replace(",", "").replace("_", "")
    try:
        value = int(cleaned)
    except ValueError:
        try:
            number = float(cleaned)
        except ValueError:
            raise FieldError(f"{label}: '{raw}' is not a whole number (try e.g. 1000 or 1e3)."
                             ) from None
        if not math.isfinite(number):
            raise FieldError(f"{label}: must be a finite whole number, got '{raw}'.") from None
        if not number.is_integer():
            raise FieldError(f"{label}: must be a whole number, got '{raw}'.") from None
        value = int(number)
    if min_value is not None and value < min_value:
        raise FieldError(f"{label}: must be at least {min_value:,}, got {value:,}.")
    if max_value is not None and value > max_value:
        raise FieldError(f"{label}: must be at most {max_value:,}, got {value:,}.")
    return value


def spec_bounds(name: str) -> dict:
    """A whole-number box's ``min_value`` / ``max_value``: the spec's own limits
    (`clr_core.engine.spec.BOUNDS`), so a form refuses what the engine would, and only
    that."""
    bound = BOUNDS[name]
    return {"min_value": None if bound.lo is None else int(bound.lo),
            "max_value": None if bound.hi is None else int(bound.hi)}


def int_input(label: str, key: str, default: int | None, *, min_value: int | None = None,
              max_value: int | None = None, help: str | None = None, optional: bool = False,
              errors: list[str] | None = None, container=None) -> int | None:
    """A text box for a whole number; an invalid entry is reported under the box and in
    `errors` (so the page can keep Start disabled) and None is returned."""
    where = container if container is not None else st
    if key not in st.session_state:
        st.session_state[key] = fmt_int(default)
    elif not isinstance(st.session_state[key], str):  # kept from an older integer box
        st.session_state[key] = fmt_int(st.session_state[key])
    text = where.text_input(label, key=key, help=help,
                            placeholder="optional" if optional else None)
    try:
        return parse_int(label, text, min_value=min_value, max_value=max_value,
                         optional=optional)
    except FieldError as exc:
        where.error(shown(exc), icon="⚠️")
        if errors is not None:
            errors.append(str(exc))
        return None
