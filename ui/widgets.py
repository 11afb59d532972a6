"""Widgets that turn text into checked numbers, so bad input becomes a message, not a traceback."""

from __future__ import annotations

import math

import streamlit as st


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
        st.error(str(exc), icon="⚠️")
        if errors is not None:
            errors.append(str(exc))
        return None
