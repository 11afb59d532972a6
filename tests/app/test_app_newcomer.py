"""What a newcomer sees (issue 19): defaults that demonstrate the idea, numbers that agree
between pages and forms, verdicts only with evidence, refused link values named."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from apptest_helpers import open_learn, open_page, plain

from clr_core import schedules
from clr_core.lessons import LESSONS, lesson_by_key
from clr_core.lessons.model import Control
from clr_core.schedules import rules
from clr_core.suggest.types import Suggestion

# ------------------------------------------------------------------ training page default


def test_the_training_page_starts_from_a_schedule_that_cycles_on_digits():
    """Item 4: the default completes full cycles in the default iterations, no warning."""
    at = open_page("pages/training.py")
    assert at.selectbox(key="train.source").value == "digits_triangular"
    n = int(at.text_input(key="train.num_iter").value)
    sched = schedules.PRESETS["digits_triangular"].schedule()
    assert len(rules.cycle_ends(sched, n)) >= 1 and n in rules.cycle_ends(sched, n)
    assert any("LR from 0.025 to 0.1" in c.value for c in at.caption)
    assert not any("mid-cycle" in i.value for i in at.info)


# ------------------------------------------------------------------ designer


def _load_preset(at, name: str):
    at.selectbox(key="designer.preset").set_value(name).run()
    at.button(key="btn.designer.load_preset").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(("preset", "length", "ipe"), [("llm_wsd", 100_000, 500),
                                                       ("deit_cosine", 30_000, 100)])
def test_a_loaded_preset_is_previewed_whole_with_its_iterations_per_epoch(preset, length, ipe):
    """Item 7: the WSD preset's cool-down and the ViT preset's whole cosine are in view, and
    "Iterations per epoch" follows the preset."""
    at = _load_preset(open_page("pages/designer.py"), preset)
    assert int(at.text_input(key="designer.n").value) == length
    assert int(at.text_input(key="designer.ipe").value) == ipe


def test_a_suggestion_handed_to_the_designer_agrees_with_its_own_note():
    """Item 8: "step size 88 (4 epochs of 22 iterations)" and the designer's epochs per
    cycle (2 × 88 / 22 = 8) say the same."""
    from clr_core.suggest.handoff import suggestion_to_schedule
    from ui.designer_state import PENDING

    s = Suggestion("recommended", 0.01, 0.1, "why", "test", 1, 0.05, 0.2)
    config, note = suggestion_to_schedule(s, "triangular", 22)
    at = open_page("pages/designer.py")
    at.session_state[PENDING] = (config, note, 22)
    at.run()
    assert "step size 88" in at.success[0].value and "22 iterations" in at.success[0].value
    assert int(at.text_input(key="designer.ipe").value) == 22
    assert {m.label: m.value for m in at.metric}["Epochs per cycle"] == "8"


def test_the_designer_says_where_1cycle_really_ends():
    """Item 14: 1cycle ends far below its start, not "back at its base"."""
    at = _load_preset(open_page("pages/designer.py"), "torch_one_cycle")
    texts = [i.value for i in at.info]
    assert any("far below where it started" in t and "4e-07" in t for t in texts), texts
    assert not any("back at its base" in t for t in texts)


# ------------------------------------------------------------------ sweeps: a tie says so


def _sweep_curves(max_lrs):
    from clr_core.engine.results import RangeTestResult
    from clr_core.runs.reports import SweepCurve

    out = []
    for v, lr in max_lrs.items():
        s = Suggestion("recommended", lr / 10, lr, "why", "test", 1, lr / 2, lr * 2)
        rt = RangeTestResult(np.geomspace(1e-4, 1, 5), np.ones(5), np.ones(5), False,
                             "completed", suggestions={"recommended": s})
        out.append(SweepCurve(f"weight_decay={v}", v, rt))
    return out


def test_identical_sweep_curves_are_a_tie_not_a_verdict():
    """Item 6: weight decays whose curves suggest the same max_lr get no green "Use"."""
    from clr_core.jobs.runners import _sweep_rule
    from clr_core.runs.reports import SweepReport

    tie = _sweep_rule("weight_decay", _sweep_curves({1e-3: 0.1, 1e-4: 0.1, 0.0: 0.1}))
    assert tie.tie and tie.value is None and "tie" in tie.why
    back = SweepReport.from_dict(SweepReport("weight_decay", recommendation=tie).to_dict())
    assert back.recommendation.tie
    verdict = _sweep_rule("weight_decay", _sweep_curves({1e-3: 0.1, 1e-4: 0.3, 0.0: 0.3}))
    assert not verdict.tie and verdict.value == 1e-4  # Smith's rule, with evidence


# ------------------------------------------------------------------ Learn: links, sliders, texts


def test_teacher_links_name_every_refused_value():
    """Item 12: condition=30 (not a choice), peak=0.8 (not a choice), lesson past the last, lr=banana."""
    at = open_learn({"lesson": "2", "condition": "30", "lr": "banana"})
    errors = " ".join(plain(e.value) for e in at.error)
    assert "condition=30" in errors and "lr='banana'" in errors
    at = open_learn({"lesson": "8", "peak": "0.8"})
    assert any("peak=0.8" in plain(e.value) for e in at.error)
    missing = str(len(LESSONS) + 1)  # one past the last lesson
    at = open_learn({"lesson": missing})
    assert any(f"lesson='{missing}'" in plain(e.value) for e in at.error)
    ok = open_learn({"lesson": "2", "condition": "10", "lr": "1.5"})
    assert not ok.error


def test_a_control_refuses_by_name_and_a_slider_shows_its_steps_decimals():
    c = Control("condition", "κ", "steps", 10.0, options=(1.0, 10.0, 20.0))
    assert c.problem("10") is None and "condition=30" in c.problem("30")
    s = Control("lr", "η", "slider", 1.0, lo=0.05, hi=4.0, step=0.05)
    assert s.problem("1.5") is None and "outside" in s.problem("9")
    assert "not a number" in s.problem("banana")
    gamma = next(c for c in lesson_by_key("policies").controls if c.key == "gamma")
    assert gamma.slider_format() % 0.998 == "0.9980"  # item 13: not "1.00"


def test_lesson_one_compares_the_four_rates_without_calling_one_the_grid_best():
    """Item 14: "best of the grid: too low 0.001" is gone; each rate's accuracy is shown."""
    from clr_core.lessons import training, views

    def run(label, acc):
        return SimpleNamespace(label=label, seed=0, eval_iterations=np.array([0, 10]),
                               val_accuracy=np.array([0.1, acc]), final_val_accuracy=acc)
    runs = {k: [run(k, a)] for k, a in (("too low 0.001", 0.22), ("good 0.1", 0.96),
                                         ("too high 1.0", 0.1), ("yours 0.05", 0.94))}
    comp = training.Comparison(runs, "good 0.1", ("too low 0.001", "too high 1.0"))
    orig = training.lr_matters
    training.lr_matters = lambda *a, **k: comp
    try:
        view = views.view_lr_matters({"lr": 0.05, "seeds": 1})
    finally:
        training.lr_matters = orig
    labels = [m[0] for m in view.metrics]
    assert not any("best of the grid" in x for x in labels)
    assert dict(view.metrics)["yours 0.05"] == "94.0 %"
    assert view.summary.startswith("Your learning rate reaches **94.0 %**")
    assert "good 0.1" in view.summary


def test_lesson_three_runs_the_range_test_page_s_own_test_and_its_text_follows_its_table():
    """Item 14: the lesson recommends what the Range test page recommends on its defaults,
    its regret cells are numbers or empty (never "None"), and its note is read off its table."""
    from clr_core.jobs.runners import never_stop, no_events, run_range_test_job
    from clr_core.lessons import training
    from clr_core.runs.reports import RangeTestReport
    from clr_core.setup.configs import SHARPNESS_EVERY, RangeTestConfig

    _, table, result = training.range_test_reading(num_iter=60, seed=0)
    page = RangeTestReport.from_dict(run_range_test_job(
        RangeTestConfig(num_iter=60, sharpness_every=SHARPNESS_EVERY).to_dict(), no_events,
        never_stop)).range_test
    assert result.suggestions["recommended"].max_lr == page.suggestions["recommended"].max_lr
    assert table["worst regret (points)"].dtype == float
    view = lesson_by_key("range_test").view({"num_iter": 60, "seed": 0})
    scored = view.table.dropna(subset=["worst regret (points)"])
    least = scored.loc[scored["worst regret (points)"].idxmin(), "rule"]
    assert f"{least} lost the least" in view.notes[0]
    assert view.summary.startswith("Train with max_lr")
    assert "valley pick trains to within" not in lesson_by_key("range_test").claim.verdict


def test_every_lesson_that_states_a_result_says_it_plainly_first():
    view = lesson_by_key("stability").view({"lr": 1.0, "momentum": 0.0, "condition": 10.0})
    assert view.summary.startswith("With learning rate 1 the run **converges**")
    assert [k for k, _ in view.metrics][0] == "your LR"  # before the formula's name
    assert len(LESSONS) == 9


# ------------------------------------------------------------------ the headline's states


def test_the_headline_knows_a_recommendation_that_is_not_reliable():
    from ui.results import unreliable_reason

    s = Suggestion("recommended", 0.01, 0.1, "why", "test", 1, 0.05, 0.2)
    assert unreliable_reason({"recommended": s}) is None
    assert "too short" in unreliable_reason({})
    low = replace(s, confidence="low", caveat="rules far apart")
    assert unreliable_reason({"recommended": low}) is None  # usable, with its caveat shown
    guess = replace(s, confidence="none", caveat="the curve never falls; run a longer sweep")
    assert unreliable_reason({"recommended": guess}) == "the curve never falls; run a longer sweep"


def test_a_reopened_range_test_names_its_stability_limit_as_it_did_live():
    """Item 13: "2(1+β)/λmax, β=0.9" live and reopened, read from the run's config."""
    from apptest_helpers import chart_traces

    from clr_core.engine.results import RangeTestResult
    from clr_core.runs.reports import RangeTestReport
    from clr_core.runs.store import RunStore

    lrs = np.geomspace(1e-4, 1, 40)
    sharp = np.array([(i, lrs[i], 8.0) for i in range(0, 40, 10)], dtype=float)
    rt = RangeTestResult(lrs, 2 - lrs, 2 - lrs, False, "completed", sharpness=sharp)
    config = {"dataset": "digits", "optimizer": "sgd", "momentum": 0.9}
    run_id = RunStore().save_run("range_test", config,
                                 RangeTestReport(rt, config=config).to_dict(), label="sharp")
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    names = [t.get("name", "") for t in chart_traces(at, "range-test")]
    assert "stability limit 2(1+β)/λmax, β=0.9" in names


def test_the_home_page_draws_before_torch_is_imported():
    """Item 15: app.py (store notice, navigation) and the designer load no torch: the first
    chart of a fresh server does not wait seconds for the engine it does not use; nor
    pandas (issue 32), a second more that only tables need."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\n"
            "import ui.jobs, ui.nav, ui.state\n"  # what app.py imports
            "import ui.designer_link, ui.designer_state, ui.schedule_form, clr_core.present.plots\n"
            "heavy = sorted(m for m in ('torch', 'torchvision', 'sklearn', 'pandas')\n"
            "               if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr


def test_a_worker_s_preload_leaves_a_range_test_nothing_heavy_to_import():
    """Item 15: the first points of a range test stream at once: what its first job would
    import (torch's compiler front end with sympy, scikit-learn's digits) a worker imports
    as it starts."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import importlib, sys\n"
            "from clr_core.jobs.executors.process import DEFAULT_PRELOAD\n"
            "for m in DEFAULT_PRELOAD: importlib.import_module(m)\n"
            "before = set(sys.modules)\n"
            "from clr_core.jobs.runners import run_range_test_job, no_events, never_stop\n"
            "run_range_test_job({'num_iter': 10, 'sharpness_every': 5}, no_events, never_stop)\n"
            "late = sorted(m for m in set(sys.modules) - before\n"
            "              if m.split('.')[0] in {'sympy', 'sklearn', 'torch', 'scipy'}\n"
            "              and not m.startswith('sklearn.datasets.'))\n"  # its CSV's package

            "assert not late, late\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin",
                                            "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_tied_sweep_reopens_without_a_green_verdict():
    """Item 6 on the page: a tie is said as such, never "Use weight_decay = …"."""
    from clr_core.jobs.runners import _sweep_rule
    from clr_core.runs.reports import SweepReport
    from clr_core.runs.store import RunStore

    curves = _sweep_curves({1e-3: 0.1, 0.0: 0.1})
    report = SweepReport("weight_decay", curves=curves,
                         recommendation=_sweep_rule("weight_decay", curves))
    config = {"param": "weight_decay", "base": {"dataset": "digits"}}
    run_id = RunStore().save_run("sweep", config, report.to_dict(), label="tied")
    at = open_page("pages/runs.py")
    at.multiselect(key="runs.open").set_value([run_id]).run()
    assert any("No verdict" in i.value for i in at.info)
    assert not any("Use **weight_decay" in s.value for s in at.success)


def test_preview_length_is_each_schedule_s_whole_length():
    """Item 7: planned lengths in full, a timm cosine's cycles, phases' steps, SGDR's first
    three restarts, three cycles of a cyclical policy."""
    presets = schedules.PRESETS
    assert rules.preview_length(presets["llm_wsd"].schedule()) == 100_000
    assert rules.preview_length(presets["deit_cosine"].schedule()) == 30_000
    assert rules.preview_length(presets["sgdr"].schedule()) == 500 + 1000 + 2000
    assert rules.preview_length(presets["smith2015_triangular"].schedule()) == 12_000
    phases = schedules.make_schedule("phases", phases=[
        {"shape": "linear", "start": 0.0, "end": 0.01, "steps": 100},
        {"shape": "cos", "start": 0.01, "end": 1e-4, "steps": 900}])
    assert rules.preview_length(phases) == 1000


def test_a_new_policy_is_previewed_whole():
    at = open_page("pages/designer.py")
    at.selectbox(key="designer.policy").set_value("one_cycle").run()
    total = schedules.from_dict(at.session_state["designer.current"]).total_steps
    assert int(at.text_input(key="designer.n").value) == max(total, 1000)
