"""A busy run store is a sentence on the pages that list runs, never a blank page or a
traceback."""

from __future__ import annotations

from apptest_helpers import open_page

from clr_core.runs.store import BUSY_MESSAGE, RunStore, StoreBusy


def _busy(*args, **kwargs):
    raise StoreBusy(BUSY_MESSAGE)


def test_runs_and_overview_say_the_store_is_busy(monkeypatch):
    monkeypatch.setattr(RunStore, "list_runs", _busy)
    for page in ("pages/runs.py", "pages/overview.py"):
        at = open_page(page)
        assert not at.exception, at.exception
        assert any("the run store is busy" in w.value for w in at.warning), page
