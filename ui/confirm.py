"""The range-test page's Confirm step: short trainings of the planned schedule at the sweep's
candidate peaks (`clr_core.jobs.confirm_job`), drawn live as "reached accuracy (or loss)
versus peak LR" under the range-test curve, and the confirmed peak handed to the designer
and to Verify as the recommendation is.

Why: the sweep sees 100 steps, the peak that trains best depends on the budget and the
schedule it never sees (issue 31); a few short trainings settle it at a stated cost."""

from __future__ import annotations

import math
from dataclasses import replace

import streamlit as st

from clr_core.errors import ClrError
from clr_core.jobs.confirm_job import DEFAULT_BUDGET, TRIAL, confirm_config
from clr_core.jobs.runners import verify_config
from clr_core.jobs.state import JobStatus
from clr_core.present.confirm import (
    confirm_figure,
    confirm_lines,
    metric_of,
    trial_curves_figure,
    trials_table,
)
from clr_core.present.labels import run_label
from clr_core.runs.reports import ConfirmReport, TrialCurve
from clr_core.setup.configs import job_device
from clr_core.suggest.confirm import PRESETS
from clr_core.suggest.handoff import short_label, suggestion_to_schedule
from clr_core.suggest.types import Suggestion
from ui.charts import plot
from ui.designer_state import send_to_designer
from ui.jobs import current_job, job_slot, live_job, registry, submit
from ui.text import shown, shown_frame
from ui.training_state import load_training
from ui.widgets import int_input, spec_bounds

__all__ = ["SLOT", "show_confirm", "show_confirm_report"]

PREFIX = "cf"
SLOT = job_slot(PREFIX)
KIND = "confirm"


def _default_budget() -> int:
    """The training form's length when the visitor set one (what they plan to train), else
    Verify's."""
    try:
        value = int(str(st.session_state.get("train.num_iter", DEFAULT_BUDGET)).replace(",", ""))
    except ValueError:
        return DEFAULT_BUDGET
    return value if value > 0 else DEFAULT_BUDGET


def _trials_so_far(job: JobStatus) -> list[TrialCurve]:
    """The trial events a running confirmation has streamed (a few dozen small dicts)."""
    events, _ = registry().events(job.id, 0)
    return [TrialCurve.from_dict(e) for e in events if isinstance(e, dict) and e.get("kind") == TRIAL]


def _mine(job: JobStatus | None, config_lrs: list[float]) -> bool:
    """Whether ``job`` confirms this range test (the owner's newest confirmation may be of
    another one, run before a reload)."""
    return job is not None and [float(v) for v in job.config.get("lrs") or []] == config_lrs


def _finished(job: JobStatus | None) -> ConfirmReport | None:
    return ConfirmReport.from_dict(job.result) if job is not None and job.is_terminal \
        and job.result else None


def _draw(job: JobStatus, report: ConfirmReport | None) -> None:
    budget = int(job.config.get("budget") or DEFAULT_BUDGET)
    pick = job.config.get("sweep_pick")
    trials = report.trials if report is not None else _trials_so_far(job)
    if not trials:
        st.caption("Training the first candidates…")
        return
    metric = report.metric if report is not None else metric_of(trials)
    winner = report.result.best_peak if report is not None else None
    plot(confirm_figure(trials, budget=budget, metric=metric, winner=winner,
                        sweep_pick=pick), key="chart.rt.confirm")
    with st.expander(f"Each trial's training loss ({len(trials)} trials)"):
        plot(trial_curves_figure(trials, budget=budget), key="chart.rt.confirm_curves")
        st.table(shown_frame(trials_table(trials, budget=budget, metric=metric)))


def show_confirm_report(report: ConfirmReport, *, key: str) -> None:
    """A finished confirmation (a stored run): its chart, its lines, its trials."""
    plot(confirm_figure(report.trials, budget=report.budget, metric=report.metric,
                        winner=report.result.best_peak, sweep_pick=report.sweep_pick),
         key=f"chart.{key}")
    for line in confirm_lines(report):
        st.markdown(shown(line))
    st.table(shown_frame(trials_table(report.trials, budget=report.budget, metric=report.metric)))


def _start(config: dict | None, rt, policy: str, budget: int, trainings: float) -> None:
    try:
        cfg = confirm_config(config or {}, rt, budget=budget, trainings=trainings, policy=policy)
        submit(PREFIX, KIND, cfg, label=run_label(KIND, cfg), device=job_device(cfg))
    except ClrError as exc:  # a limit per person, a curve with nothing to bracket: said
        st.error(shown(exc), icon="🚦")
    else:
        st.rerun()


def _hand_off(status: JobStatus, report: ConfirmReport, s: Suggestion, policy: str,
              iters_per_epoch: int | None) -> None:
    """The confirmed peak to the designer and to Verify, as the recommendation goes."""
    best = report.result.best_peak
    for line in confirm_lines(report):
        st.markdown(shown(line))
    if not math.isfinite(best):
        return
    confirmed = replace(s, method="confirmed", max_lr=best, base_lr=best * s.base_lr / s.max_lr)
    c1, c2 = st.columns(2)
    if c1.button(f"Use confirmed {best:.3g} in designer", key="btn.cf.to_designer",
                 type="primary", width="stretch"):
        ipe = iters_per_epoch or 1
        handoff, note = suggestion_to_schedule(confirmed, policy, ipe)
        send_to_designer(handoff, note.replace("From the range test (confirmed)",
                                               f"From the confirmation ({len(report.trials)} "
                                               "short trainings)"), iters_per_epoch=ipe)
    plan = verify_config(status.config, max_lr=best, policy=policy, base_lr=confirmed.base_lr)
    if c2.button(f"Verify confirmed {best:.3g} against a fixed LR", key="btn.cf.verify",
                 width="stretch"):
        load_training(plan, note=f"Verifying the confirmed peak {best:.3g} "
                                 f"({short_label(policy)}) against a fixed LR.")
        st.switch_page("pages/training.py")


def show_confirm(status: JobStatus, rt, s: Suggestion, policy: str,
                 iters_per_epoch: int | None, trust_line: str = "") -> None:
    """The Confirm step for a finished range test ``status`` (its result ``rt``), beside its
    suggestion ``s`` handed to ``policy``. ``trust_line``: the summary's line on what an "ok"
    meant on held-out tasks, given only where ``s`` is the rule those figures measure."""
    st.markdown("**Confirm with short trainings** — train your planned schedule at candidate "
                "peaks around the sweep's pick, and keep the one that reached the best "
                "validation score.")
    if s.confidence != "ok":  # the sweep alone cannot know here: point to the step that can
        st.info(f"The sweep's confidence in {s.max_lr:.3g} is **{shown(s.confidence)}**: a "
                "range test alone cannot tell where your planned training's best peak is. "
                "Confirm it with short trainings below before you train with it.", icon="🧪")
    elif trust_line:  # "ok" is the curve's, not the peak's
        st.caption(shown(trust_line))
    options = sorted(PRESETS)
    c1, c2, c3, c4 = st.columns([2, 2, 3, 1], vertical_alignment="bottom")
    budget = int_input("Planned training (steps)", "cf.budget", _default_budget(), container=c1,
                       **spec_bounds("train_num_iter"),  # a training's own limits
                       help="How long the training you plan runs: each trial trains a share "
                            "of it, with the schedule compressed to that share.")
    trainings = c2.selectbox("Cost (trainings of that budget)", options,
                             index=options.index(4.0), key="cf.trainings", format_func="{:g}".format,
                             help="4: six peaks for 1/6 of the budget, then the best of them "
                                  "and a peak a third of a decade above and below it for the "
                                  "whole budget. 1 to 3: eight peaks for 1/8, the best three "
                                  "for 1/3 (2), the pick and a lower peak for 1/2 (3).")
    rt_lrs = [float(v) for v in rt.lrs]
    # the one poll of the confirmation in this rerun (as the page polls its range test)
    job = current_job(SLOT, KIND)
    ours = _mine(job, rt_lrs)
    running = ours and not job.is_terminal
    cost = f"{trainings:g} × {budget} steps" if budget else f"{trainings:g} trainings"
    if c3.button(f"Confirm with short trainings ({cost})", key="btn.rt.confirm",
                 disabled=budget is None or running, width="stretch",
                 help=f"Each trial trains {short_label(policy)} (the schedule chosen above) "
                      "from a fresh model, compressed to its share of the budget."):
        _start(status.config, rt, policy, int(budget), float(trainings))
    c4.button("Cancel", key="btn.cf.cancel", disabled=not running, width="stretch",
              on_click=lambda: registry().cancel(st.session_state[SLOT]))
    if not ours:
        return
    finished = _finished(job)  # decoded once; the fragment decodes again only on its own reruns
    live_job(PREFIX, KIND, noun="confirmation", job=job, empty_hint="",
             draw=lambda polled: _draw(polled, finished if polled is job else _finished(polled)))
    if finished is not None:
        report = finished
        if job.state == "cancelled":
            st.warning("Cancelled: the trials that finished are kept.", icon="✋")
        _hand_off(job, report, s, policy, iters_per_epoch)
