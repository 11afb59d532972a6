"""Whole-number and float boxes: '1e3' is 1000, never a silent 1; fractions, words and
values past a box's limit are messages naming the field, and Start stays disabled."""

from __future__ import annotations

import json

import pytest
from apptest_helpers import open_page, plain
from hypothesis import given
from hypothesis import strategies as st

from ui.widgets import FieldError, fmt_int, parse_int


@pytest.mark.parametrize("text, value", [
    ("1000", 1000), ("1e3", 1000), ("1E3", 1000), (" 2.5e2 ", 250), ("1_000", 1000),
    ("1,000", 1000), ("-3", -3), ("7.0", 7)])
def test_parse_int_reads_what_people_type(text, value):
    assert parse_int("n", text) == value


@pytest.mark.parametrize("text, words", [
    ("1.5", "whole number"), ("abc", "not a whole number"), ("", "required"),
    ("inf", "finite"), ("nan", "finite"), ("1e300", "at most 100")])
def test_parse_int_refuses_with_the_fields_name(text, words):
    with pytest.raises(FieldError, match=words) as info:
        parse_int("Iterations", text, max_value=100)
    assert str(info.value).startswith("Iterations:")


def test_limits_name_the_bound():
    with pytest.raises(FieldError, match="at least 10"):
        parse_int("Iterations", "5", min_value=10)
    assert parse_int("Seed", "", optional=True) is None


@given(st.integers(-10**15, 10**15))
def test_whole_numbers_round_trip_through_the_box(n):
    assert parse_int("n", fmt_int(n)) == n
    assert parse_int("n", f"{n:e}") == n if abs(n) < 10**6 else True


def test_fmt_int_never_shows_a_different_number():
    assert fmt_int(1e300) == "1e+300" and fmt_int(5.0) == "5" and fmt_int(2.5) == "2.5"
    with pytest.raises(FieldError):
        parse_int("step_size_up", fmt_int(2.5))


def test_designer_reads_1e3_as_1000_in_preview_and_export():
    at = open_page("pages/designer.py")
    at.text_input(key="designer.triangular.step_size_up").set_value("1e3").run()
    assert not at.exception and not at.error
    exported = json.loads(next(c.value for c in at.code if c.value.lstrip().startswith("{")))
    assert exported["step_size_up"] == 1000
    at.text_input(key="designer.triangular.step_size_up").set_value("12.5").run()
    assert any("step_size_up" in plain(e.value) and "whole number" in plain(e.value) for e in at.error)


def test_an_imported_huge_value_is_refused_not_shown_as_another_number():
    at = open_page("pages/designer.py")
    from ui.designer_state import PENDING

    # an imported JSON is parked here and applied by the page, as "Load" does
    at.session_state[PENDING] = ({"policy": "triangular", "base_lr": 0.001, "max_lr": 0.01,
                                  "step_size_up": 1e300}, None)
    at.run()
    assert not at.exception
    box = at.text_input(key="designer.triangular.step_size_up")
    assert box.value == "1e+300"
    assert any("step_size_up" in plain(e.value) and "1,000,000,000" in plain(e.value) for e in at.error)


@pytest.mark.parametrize("typed, ok", [("1e3", True), ("abc", False), ("1e12", False)])
def test_iterations_box_on_the_range_test(typed, ok):
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.num_iter").set_value(typed).run()
    assert not at.exception
    start = at.button(key="btn.rt.start")
    if ok:
        assert not start.disabled and not at.error
    else:
        assert start.disabled
        assert any(plain(e.value).startswith("Iterations:") for e in at.error)
