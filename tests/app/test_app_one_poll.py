"""The range-test page asks the registry for its job once per rerun and decodes the
finished result once (issue 30: it asked four times and decoded twice), and still draws
everything from that one snapshot."""

from __future__ import annotations

from apptest_helpers import job_state, open_page, run_until_done

import clr_core.runs.reports as reports


def _counting(monkeypatch, at):
    """Count, during the next run, the registry's status reads of this page's job and the
    decodings of a report."""
    from ui.jobs import registry

    reg, job_id = registry(), at.session_state["rt.job"]
    polls, decodes = [], []
    status, decode = reg.status, reports.report_from_dict

    def counted_status(jid):
        if jid == job_id:
            polls.append(jid)
        return status(jid)

    def counted_decode(d):
        decodes.append(1)
        return decode(d)

    monkeypatch.setattr(reg, "status", counted_status)
    monkeypatch.setattr(reports, "report_from_dict", counted_decode)
    return polls, decodes


def test_a_finished_range_test_is_polled_and_decoded_once_per_rerun(monkeypatch):
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.num_iter").set_value("30").run()
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job") == "done"
    polls, decodes = _counting(monkeypatch, at)
    at.run()
    assert not at.exception, at.exception
    assert (len(polls), len(decodes)) == (1, 1)
    # everything a finished test shows is still drawn from that one snapshot
    assert any(s.value == "Suggested bounds" for s in at.subheader)
    assert any(m.label == "Recommended max_lr" for m in at.metric)
    assert at.button(key="btn.rt.verify") is not None


def test_a_running_range_test_is_polled_once_per_page_rerun(monkeypatch):
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.num_iter").set_value("200000").run()
    at.button(key="btn.rt.start").click().run()
    from ui.jobs import registry

    job_id = at.session_state["rt.job"]
    try:
        assert job_state(at, "rt.job") in ("queued", "running")
        polls, decodes = _counting(monkeypatch, at)
        at.run()
        assert not at.exception, at.exception
        assert len(polls) == 1 and not decodes
        assert at.button(key="btn.rt.cancel").disabled is False
    finally:
        registry().cancel(job_id)
