"""The range-test page's "Gradient clipping (max norm)": empty is off, a number reaches
the engine and is recorded with the run, a bad entry is refused under the field."""

from __future__ import annotations

from apptest_helpers import open_page, plain, run_until_done

from ui.jobs import registry


def _run(clip: str):
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.num_iter").set_value("20").run()
    at.text_input(key="rt.sharpness_every").set_value("0").run()
    at.text_input(key="rt.grad_clip_norm").set_value(clip).run()
    return at


def test_a_clipping_norm_is_used_and_recorded():
    at = _run("0.5")
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job") == "done"
    assert not at.exception, at.exception
    status = registry().status(at.session_state["rt.job"])
    assert status.config["grad_clip_norm"] == 0.5
    assert status.result["range_test"]["settings_used"]["grad_clip_norm"] == 0.5


def test_empty_is_off_and_words_are_refused():
    at = _run("")
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job") == "done"
    status = registry().status(at.session_state["rt.job"])
    assert status.config["grad_clip_norm"] is None
    assert status.result["range_test"]["settings_used"]["grad_clip_norm"] is None
    at = _run("lots")
    assert any("Gradient clipping (max norm)" in plain(e.value) for e in at.error)
    at = _run("-1")
    assert any("grad_clip_norm" in plain(e.value) for e in at.error)
