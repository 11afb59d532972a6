"""Figure downloads: a clear message, never a failing button, when no Chrome is on the server."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from apptest_helpers import open_learn

from clr_core.errors import ConfigError
from clr_core.present import figure_export


def test_no_chrome_on_the_server_is_a_clear_error_not_a_crash(monkeypatch):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setattr(figure_export.shutil, "which", lambda name: None)
    assert figure_export.browser_for_export() is None
    with pytest.raises(ConfigError, match="needs Chromium"):
        figure_export.figure_image(go.Figure(), "png")


def test_an_unknown_format_is_refused_by_name():
    with pytest.raises(ConfigError, match="bmp"):
        figure_export.figure_image(go.Figure(), "bmp")


def test_browser_path_wins_over_the_search(monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/opt/chrome/chrome")
    assert figure_export.browser_for_export() == "/opt/chrome/chrome"


def test_the_learn_page_says_why_when_downloads_are_unavailable(monkeypatch):
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setattr(figure_export.shutil, "which", lambda name: None)
    at = open_learn({"lesson": "2"})
    assert not at.exception
    assert any("need Chromium" in c.value for c in at.caption)
    assert not [b for b in at.get("download_button")]
