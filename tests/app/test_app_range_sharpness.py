"""The range-test page draws the stability limit 2(1+β)/λmax when the sharpness is measured."""

from __future__ import annotations

import numpy as np
from apptest_helpers import chart_traces, open_page, run_until_done

from clr_core.suggest.stability import stability_limit
from ui.jobs import registry


def _run(every: int):
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.num_iter").set_value("40").run()
    at.text_input(key="rt.sharpness_every").set_value(str(every)).run()
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job") == "done"
    assert not at.exception, at.exception
    return at


def test_the_page_draws_the_stability_limit_from_the_measured_sharpness():
    at = _run(10)
    rt = registry().status(at.session_state["rt.job"]).result["range_test"]
    rows = rt["sharpness"]
    assert [r[0] for r in rows] == [i for i in range(0, len(rt["lrs"]), 10)]
    traces = chart_traces(at, "range-test")
    limit = next(t for t in traces if t["name"].startswith("stability limit 2(1+β)/λmax, β=0.9"))
    expected = [r[1] / stability_limit(r[2], 0.9) for r in rows if r[2] > 0]
    np.testing.assert_allclose(list(limit["y"]), expected, rtol=1e-12)  # LR over the limit
    assert any("stability limit" in c.value for c in at.caption)


def test_with_sharpness_off_nothing_is_drawn_or_stored():
    at = _run(0)
    rt = registry().status(at.session_state["rt.job"]).result["range_test"]
    assert rt["sharpness"] == []
    names = [t.get("name", "") for t in chart_traces(at, "range-test")]
    assert not any(n.startswith("stability limit") for n in names)
