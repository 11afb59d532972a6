"""AppTest of the range-test page's Confirm step: the button starts a "confirm" job built from
the range test, the reached-accuracy-versus-peak chart fills as trials finish, and the
confirmed peak goes to the designer as the recommendation does."""

from __future__ import annotations

import math
import re

from apptest_helpers import chart_traces, open_page, plain, run_until_done

from clr_core.present.words import agreement_line, sweep_ok_line


def _swept():
    at = open_page("pages/range_test.py")
    at.text_input(key="rt.num_iter").set_value("40").run()
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job") == "done"
    return at


def _script_confirmation():
    """``confirm_peak(record=...)`` on a user's own tiny model, into the app's store: its
    run id and what it returned."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from clr_core.engine.range_test import run_range_test
    from clr_core.range_test import confirm_peak
    from clr_core.runs.store import RunStore

    def setup():
        model = nn.Linear(4, 3)
        return model, torch.optim.SGD(model.parameters(), lr=0.01)

    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 4, generator=g)
    loader = DataLoader(TensorDataset(x, (x[:, 0] > 0).long() + (x[:, 1] > 1).long()),
                        batch_size=16)
    torch.manual_seed(0)
    rt = run_range_test(*setup(), nn.CrossEntropyLoss(), loader, start_lr=1e-4, end_lr=10.0,
                        num_iter=20)
    out = confirm_peak(rt, setup, loader, val_loader=loader, budget=16, trainings=1,
                       record="script confirmation")
    (run_id,) = [r.id for r in RunStore().list_runs() if r.label == "script confirmation"]
    return run_id, out


def _trial_peaks(at) -> list[float]:
    """The peaks drawn as trials of a round on the page's confirmation chart."""
    return sorted(float(x) for t in chart_traces(at, "confirm")
                  if re.match(r"\d+/\d+ of the budget", t.get("name", "")) for x in t["x"])


def test_confirm_button_runs_the_trials_draws_them_and_hands_the_winner_off():
    from clr_core.runs.reports import ConfirmReport
    from ui.jobs import registry

    at = _swept()
    at.text_input(key="cf.budget").set_value("16").run()
    at.selectbox(key="cf.trainings").set_value(2.0).run()
    button = at.button(key="btn.rt.confirm")
    assert "2 × 16 steps" in button.label  # the cost, in trainings of the planned budget
    button.click().run()
    assert not at.exception, at.exception
    assert run_until_done(at, "cf.job") == "done"
    job = registry().status(at.session_state["cf.job"])
    rt = registry().status(at.session_state["rt.job"])
    assert job.kind == "confirm" and job.config["dataset"] == rt.config["dataset"]
    assert job.config["lrs"] == rt.result["range_test"]["lrs"]  # built from this range test
    report = ConfirmReport.from_dict(job.result)
    traces = chart_traces(at, "confirm")
    rounds = [t for t in traces if re.match(r"\d+/\d+ of the budget|the full budget", t.get("name", ""))]
    diverged = [t for t in traces if t.get("name", "").startswith("diverged")]
    # every trial is a point at its peak; the chart's points are the report's trials
    points = sorted((float(x), float(y)) for t in rounds for x, y in zip(t["x"], t["y"], strict=True))
    expected = sorted((tr.peak, -100 * tr.score) for tr in report.trials if math.isfinite(tr.score))
    assert len(points) == len(expected)
    assert len(expected) + sum(len(t["x"]) for t in diverged) == len(report.trials)
    for (x, y), (px, py) in zip(points, expected, strict=True):
        assert math.isclose(x, px, rel_tol=1e-9) and math.isclose(y, py, rel_tol=1e-9)
    # each point's hover holds its trial's training curve
    assert all(len(row[1]) > 0 for t in rounds for row in t["customdata"])
    names = [t.get("name", "") for t in traces]
    assert any(n.startswith(f"confirmed: max_lr {report.result.best_peak:.3g}") for n in names)
    assert any(n.startswith("the sweep's pick") for n in names)
    text = " ".join(plain(m.value) for m in at.markdown)
    assert f"Confirmed max_lr {report.result.best_peak:.3g}" in text
    assert f"Cost: {report.result.cost_in_trainings:.3g} trainings" in text
    # whether the trainings agree with the sweep, said with what that meant on held-out tasks
    verdict = agreement_line(report.result.best_peak, report.sweep_pick,
                             report.result.plan.cost_in_trainings)  # 2: that cost's figures
    assert verdict is not None and "held-out benchmark tasks" in verdict
    assert verdict is not None and plain(verdict) in text
    # stored as a run like the others, and drawn again from the store on the Runs page
    run_id = job.run_id
    assert run_id is not None
    script_id, script = _script_confirmation()
    runs = open_page("pages/runs.py")
    runs.multiselect(key="runs.open").set_value([run_id]).run()
    assert not runs.exception, runs.exception
    stored = chart_traces(runs, "confirm")
    assert sorted(float(x) for t in stored if re.match(r"\d+/\d+ of the budget", t.get("name", ""))
                  for x in t["x"]) == sorted(x for x, _ in points)
    assert any(f"Confirmed max_lr {report.result.best_peak:.3g}" in plain(m.value)
               for m in runs.markdown)
    # a script's confirm_peak(record=...) opens there as the app's does
    runs.multiselect(key="runs.open").set_value([script_id]).run()
    assert not runs.exception, runs.exception
    assert _trial_peaks(runs) == sorted(t.peak for t in script.trials if math.isfinite(t.score))
    assert any(f"Confirmed max_lr {script.best_peak:.3g}" in plain(m.value) for m in runs.markdown)
    # the winner to the designer, as the recommendation goes
    policy = at.selectbox(key="rt.policy.sgd").value
    at.button(key="btn.cf.to_designer").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="designer.policy").value == policy
    assert math.isclose(float(at.text_input(key=f"designer.{policy}.max_lr").value),
                        report.result.best_peak, rel_tol=1e-5)
    assert any("From the confirmation" in s.value for s in at.success)
    # and to Verify: a training of the chosen schedule at the confirmed peak, on the same setup
    at.switch_page("pages/range_test.py").run()
    assert not at.exception, at.exception
    at.button(key="btn.cf.verify").click().run()
    assert not at.exception, at.exception
    train = registry().status(at.session_state["train.job"])
    assert train.config["runs"][0]["schedule"]["policy"] == policy
    assert math.isclose(train.config["runs"][0]["schedule"]["max_lr"], report.result.best_peak,
                        rel_tol=1e-9)
    assert train.config["dataset"] == rt.config["dataset"]
    registry().cancel(train.id)


def test_a_running_confirmation_can_be_cancelled():
    from ui.jobs import registry

    at = _swept()
    at.text_input(key="cf.budget").set_value("20000").run()
    at.button(key="btn.rt.confirm").click().run()
    assert not at.exception, at.exception
    assert not at.button(key="btn.cf.cancel").disabled
    at.button(key="btn.cf.cancel").click().run()
    assert run_until_done(at, "cf.job") == "cancelled"
    report = registry().status(at.session_state["cf.job"]).result
    assert report["cancelled"] is True
    assert any("Cancelled" in w.value for w in at.warning)


def test_the_page_points_to_confirm_exactly_when_the_sweep_is_not_confident():
    """A flat sweep (the LR never gets high enough to move the loss) is not "ok", and the page
    points to Confirm; whatever the confidence, the pointer shows exactly when it is not "ok"."""
    from ui.jobs import registry

    seen = {}
    for end_lr in ("0.0001", "10"):
        at = open_page("pages/range_test.py")
        at.text_input(key="rt.end_lr").set_value(end_lr).run()
        at.text_input(key="rt.num_iter").set_value("60").run()
        at.button(key="btn.rt.start").click().run()
        assert run_until_done(at, "rt.job") == "done"
        result = registry().status(at.session_state["rt.job"]).result
        confidence = result["range_test"]["suggestions"]["recommended"]["confidence"]
        pointed = any("Confirm it with short trainings" in plain(m.value) for m in at.info)
        assert pointed == (confidence != "ok"), (end_lr, confidence)
        # an "ok" says what it meant on held-out tasks (the shipped figures) and points there too
        said_ok = any(plain(sweep_ok_line()) in plain(c.value) for c in at.caption)
        assert said_ok == (confidence == "ok"), (end_lr, confidence)
        # the figures are recommended's: another rule picked says nothing of them, "ok" or not
        other = next(m for m in at.selectbox(key="rt.method").options if "ecommended" not in m)
        at.selectbox(key="rt.method").select(other).run()
        assert at.selectbox(key="rt.method").value != "recommended", other
        assert not any(plain(sweep_ok_line()) in plain(c.value) for c in at.caption), other
        seen[end_lr] = confidence
    assert seen["0.0001"] != "ok"

