"""A shared server: runs belong to the visitor (or script) that made them. Others view and
overlay them but cannot rename or delete them, unless the operator turns on admin mode; one
visitor cannot queue more than the cap of jobs."""

from __future__ import annotations

import pytest
from apptest_helpers import open_page

from clr_core.errors import JobError
from clr_core.jobs.registry import JobRegistry
from clr_core.runs.store import RunStore


def _run(owner: str | None, label: str) -> int:
    return RunStore().save_run("train", {"dataset": "digits"}, None, label=label, owner=owner)


def test_another_visitors_run_can_be_viewed_but_not_renamed_or_deleted(monkeypatch):
    monkeypatch.delenv("CLR_STUDIO_ADMIN", raising=False)
    theirs = _run("someone-else", "their run")
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([theirs]).run()
    assert not at.exception, at.exception
    assert any("Someone else made this run" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key in ("btn.runs.rename", "btn.runs.delete")]
    assert RunStore().load_run(theirs).label == "their run"


def test_a_visitors_own_run_and_admin_mode_allow_editing(monkeypatch):
    monkeypatch.delenv("CLR_STUDIO_ADMIN", raising=False)
    at = open_page("pages/runs.py")
    at.session_state["owner"] = "me"  # this tab's visitor id (ui.jobs.owner_id)
    mine = _run("me", "mine")
    at.run()
    at.multiselect(key="runs.open").set_value([mine]).run()
    at.text_input(key=f"runs.label.{mine}").set_value("renamed").run()
    at.button(key="btn.runs.rename").click().run()
    assert not at.exception, at.exception
    assert RunStore().load_run(mine).label == "renamed"
    script = _run("script", "from a script")
    monkeypatch.setenv("CLR_STUDIO_ADMIN", "1")
    at.run()
    at.multiselect(key="runs.open").set_value([script]).run()
    assert at.button(key="btn.runs.delete")  # admin: every run is editable


def quick(config, emit, should_stop):
    while not should_stop():
        emit({"kind": "step"}, 0.5)
    return {}


def test_one_visitor_cannot_queue_more_than_the_cap(monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_MAX_JOBS_PER_VISITOR", "2")
    reg = JobRegistry({"q": quick}, executor="thread")
    try:
        ids = [reg.submit("q", {}, owner="alice") for _ in range(2)]
        with pytest.raises(JobError, match="allows 2 per visitor"):
            reg.submit("q", {}, owner="alice")
        other = reg.submit("q", {}, owner="bob")  # the cap is per visitor
        for job_id in (*ids, other):
            reg.cancel(job_id)
        for job_id in ids:
            reg.wait(job_id, timeout=30)
        reg.submit("q", {}, owner="alice")  # ended jobs free the slots
    finally:
        for status in reg.list():
            reg.cancel(status.id)
        assert reg.shutdown(timeout=30)
