"""One range test, one headline: the CLI's printout, the Runs page (its run list and the
reopened run) and a notebook's ``str(result.summary())`` carry the same headline and the
same sentence, because all of them print one `RangeTestSummary`."""

from __future__ import annotations

import torch
from apptest_helpers import chart_traces, open_page, plain
from torch import nn

from clr_core.cli import print_range_test
from clr_core.range_test import run_range_test
from clr_core.runs.reports import report_from_dict
from clr_core.runs.store import RunStore


def test_the_cli_the_runs_page_and_the_notebook_say_the_same_headline(capsys):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    x = torch.randn(256, 8)
    batches = [(x[i:i + 32], (x[i:i + 32, 0] > 0).long()) for i in range(0, 256, 32)]
    result = run_range_test(model, opt, nn.CrossEntropyLoss(), batches, num_iter=60, seed=0,
                            record="one headline")
    store = RunStore()
    run = store.load_run(next(r.id for r in store.list_runs() if r.label == "one headline"))

    # a notebook
    summary = result.summary()
    notebook = str(summary).splitlines()
    headline, sentence = notebook[1], summary.sentence
    assert headline == summary.headline and sentence and sentence in notebook[2]

    # the CLI, on the run as stored
    print_range_test(report_from_dict(run.result), "digits")
    cli = capsys.readouterr().out.splitlines()
    assert cli[1] == headline and sentence in cli[2]

    # the Runs page: the run list's line, then the reopened run's sentence and numbers
    at = open_page("pages/runs.py")
    assert headline in [plain(h) for h in at.dataframe[0].value["headline"]]
    at.multiselect(key="runs.open").set_value([run.id]).run()
    assert not at.exception, at.exception
    said = [plain(m.value).replace("**", "") for m in at.markdown]
    assert sentence in said
    rec = summary.recommendation
    if rec.reliable:
        tiles = {m.label: m.value for m in at.metric}
        assert tiles["Recommended max_lr"] == f"{rec.max_lr:.3g}"
        assert tiles["max_lr band"] == summary.band_text
    # and its chart is result.plot(): the same layers, the same marked answer
    page = chart_traces(at, "range-test")
    mine = result.plot(run.config).data
    assert [t.get("name") for t in page] == [t.name for t in mine]
