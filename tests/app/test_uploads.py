"""Uploads over the server's limit are refused by size before they are read; foreign text
quoted in a message is cut, so a 50 MB file is never echoed (issue 29, item 5)."""

from __future__ import annotations

import json

import pytest
from apptest_helpers import plain

from clr_core import schedules
from clr_core.errors import ClrError
from ui.text import SHOWN_LIMIT, shown
from ui.uploads import UploadTooLarge, checked_upload, upload_limit_mb

MB = 1024 * 1024


def _never():
    raise AssertionError("a refused upload must not be read")


def test_a_file_over_the_limit_is_refused_by_size_unread():
    with pytest.raises(UploadTooLarge) as caught:
        checked_upload("huge.json", 50 * MB, _never, limit_mb=5)
    message = str(caught.value)
    assert "huge.json is 50.0 MB" in message and "up to 5 MB" in message
    assert isinstance(caught.value, ClrError)


def test_a_file_within_the_limit_is_read():
    assert checked_upload("s.json", 5 * MB, lambda: b"{}", limit_mb=5) == b"{}"
    with pytest.raises(UploadTooLarge):
        checked_upload("s.json", 5 * MB + 1, _never, limit_mb=5)


def test_a_long_file_name_is_cut_in_the_message():
    with pytest.raises(UploadTooLarge) as caught:
        checked_upload("x" * 10_000 + ".json", 6 * MB, _never, limit_mb=5)
    assert len(str(caught.value)) < 400


def test_the_limit_is_the_max_upload_mb_setting(monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_MAX_UPLOAD_MB", "2")
    assert upload_limit_mb() == 2
    with pytest.raises(UploadTooLarge, match=r"up to 2 MB \(CLR_STUDIO_MAX_UPLOAD_MB\)"):
        checked_upload("s.json", 3 * MB, _never)


def test_a_50_mb_schedule_quoted_by_its_error_is_shown_cut():
    """The probe's file: a JSON schedule whose one value is 50 MB of text. Its error
    quotes the value whole; the page shows at most SHOWN_LIMIT characters of it."""
    cfg = {"policy": "A" * 50_000_000, "max_lr": 0.1}
    with pytest.raises(ClrError) as caught:
        schedules.from_dict(json.loads(json.dumps(cfg)))
    assert len(str(caught.value)) > 50_000_000
    drawn = plain(shown(caught.value))
    assert len(drawn) <= SHOWN_LIMIT + 1 and drawn.endswith("…") and "AAAA" in drawn
