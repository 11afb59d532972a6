"""A bad operator setting (CLR_STUDIO_*) is one message on the page naming the variable, its
value and what it takes; the page stops there instead of half-drawing or showing a traceback."""

from __future__ import annotations

import os

import pytest
from apptest_helpers import APP
from streamlit.testing.v1 import AppTest


@pytest.mark.parametrize(("variable", "value", "takes"), [
    ("CLR_STUDIO_WORKER_NICE", "abc", "a whole number from 0 to 19"),
    ("CLR_STUDIO_EXECUTOR", "bogus", "`process`, `ray` or `thread`"),
    ("CLR_STUDIO_ADMIN", "maybe", "1 or 0"),
])
def test_a_bad_operator_setting_is_one_message_naming_it(monkeypatch, variable, value, takes):
    monkeypatch.setenv(variable, value)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    (error,) = at.error
    text = error.value.replace("\\", "")  # markdown-escaped on the page
    assert f"{variable}='{value}'" in text and takes in text
    assert "Traceback" not in text and "settings.py" not in text
    assert os.path.dirname(os.environ["CLR_STUDIO_DB"]) not in text  # no server folder either
    assert not at.button and not at.selectbox and not at.number_input  # the page stopped


def test_the_app_runs_again_once_the_setting_is_fixed(monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_WORKER_NICE", "abc")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.error
    monkeypatch.setenv("CLR_STUDIO_WORKER_NICE", "5")
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox or at.button  # the home page (the designer) is drawn
