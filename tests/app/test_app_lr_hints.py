"""What the pages say beside an LR without changing it: the batch-size rescaling suggestion
(the designer's rules of thumb; the range test's hand-off, where it goes to the designer in the
note and the LR stays as found) and every param group's LR at the recommendation."""

from __future__ import annotations

import pytest
from apptest_helpers import open_page, run_until_done


def test_the_designer_suggests_an_lr_for_a_new_batch_size():
    at = open_page("pages/designer.py")
    max_lr = float(at.text_input(key="designer.triangular.max_lr").value)
    at.number_input(key="designer.batch.new").set_value(512).run()
    assert not at.exception, at.exception
    info = next(i.value for i in at.info if "Goyal" in i.value)
    assert f"{max_lr * 4:.3g}" in info and "not applied" in info
    at.selectbox(key="designer.batch.optimizer").set_value("adamw").run()
    info = next(i.value for i in at.info if "Malladi" in i.value)
    assert f"{max_lr * 2:.3g}" in info
    assert float(at.text_input(key="designer.triangular.max_lr").value) == max_lr  # untouched


def test_the_range_test_hand_off_offers_the_rescaled_lr_without_applying_it():
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.num_iter").set_value("40").run()
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job") == "done"
    from ui.jobs import registry

    status = registry().status(at.session_state["rt.job"])
    tested = status.config["batch_size"]
    rec = status.result["range_test"]["suggestions"]["recommended"]
    at.number_input(key="rt.new_batch").set_value(tested * 4).run()
    info = next(i.value for i in at.info if "Goyal" in i.value)
    assert f"{rec['max_lr'] * 4:.3g}" in info
    at.button(key="btn.rt.to_designer").click().run()
    assert not at.exception, at.exception
    assert float(at.text_input(key="designer.triangular.max_lr").value) == pytest.approx(
        rec["max_lr"], rel=1e-5)  # the LR as found: the rescaling is only said
    assert any("Goyal" in s.value for s in at.success)


def test_the_runs_page_gives_every_param_groups_lr_at_the_recommendation():
    """A range test on a model with discriminative LRs (recorded by a script) reopens with
    each group's LR at the recommended max_lr."""
    import torch
    from torch import nn

    from clr_core.range_test import run_range_test
    from clr_core.runs.store import RunStore

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 1e-6},
                           {"params": model[2].parameters(), "lr": 4e-6}], momentum=0.9)
    x = torch.randn(256, 8)
    batches = [(x[i:i + 32], (x[i:i + 32, 0] > 0).long()) for i in range(0, 256, 32)]
    result = run_range_test(model, opt, nn.CrossEntropyLoss(), batches, num_iter=60, seed=0,
                            record="two groups")
    run_id = next(r.id for r in RunStore().list_runs() if r.label == "two groups")
    rec = result.suggestions["recommended"]
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    assert not at.exception, at.exception
    caption = next(c.value for c in at.caption if "Per-group LRs" in c.value)
    assert f"group 0: **{rec.max_lr / 4:.3g}**" in caption
    assert f"group 1: **{rec.max_lr:.3g}**" in caption
