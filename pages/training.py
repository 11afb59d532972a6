"""Training run: a short training with the designed schedule, streamed live and compared
with Smith's baselines (fixed LR, decay, an adaptive optimizer)."""

from __future__ import annotations

import streamlit as st

from clr_core import schedules
from clr_core.engine.baselines import BASELINES
from clr_core.errors import ConfigError, JobError, ScheduleError
from clr_core.jobs.runners import baseline_runs
from clr_core.present.escape import markdown_text
from clr_core.present.labels import run_label
from clr_core.present.plots import schedule_figures
from clr_core.runs.reports import report_from_dict
from clr_core.schedules import rules
from clr_core.setup.configs import TrainConfig, job_device
from ui.charts import plot
from ui.designer_state import CURRENT
from ui.forms import also_log_to, data_model_form
from ui.jobs import (
    current_job,
    job_series,
    job_slot,
    live_job,
    start_cancel,
    submit,
)
from ui.nav import ensure_app_entry
from ui.results import (
    show_training_curves,
    show_training_table,
    streamed_training_curves,
    training_curves,
)
from ui.state import default, keep_valid
from ui.text import shown
from ui.training_state import VERIFY, apply_pending, carried
from ui.widgets import int_input, spec_bounds

ensure_app_entry()

SLOT = job_slot("train")

st.title("🏃 Training run")
st.caption(
    "Train briefly with your schedule and compare it with the baselines of Smith (2015): a "
    "fixed learning rate, a linear decay and an adaptive optimizer. CLR's claim: it reaches the "
    "fixed-LR accuracy in a fraction of the iterations."
)

autostart = apply_pending()
#: the default: a schedule that completes two full cycles on digits in the default 300
#: updates (a CIFAR-10 preset would barely move its LR in that time)
DEMO = "digits_triangular"
UNTOUCHED = schedules.make_schedule(  # the designer as it opens: not a choice the user made
    "triangular", **{p.name: p.default for p in schedules.POLICIES["triangular"].params
                     if p.default is not None}).to_dict()

form_col, view_col = st.columns([1, 2], gap="large")

with form_col:
    errors: list[str] = []
    base = data_model_form("train", errors)
    num_iter = int_input("Iterations", "train.num_iter", 300, errors=errors,
                         **spec_bounds("train_num_iter"))
    eval_every = int_input("Evaluate every (0 = at the end only)", "train.eval_every", 50,
                           errors=errors, **spec_bounds("eval_every"))
    designed = st.session_state.get(CURRENT)
    verify = st.session_state.get(VERIFY)
    verified = verify[1][0]["schedule"] if verify else None
    sources = (["verify"] if verify else []) + (["designed"] if designed else []) \
        + list(schedules.PRESETS)
    # an untouched designer is not a choice the user made: start from the digits demo
    first = "designed" if designed and designed != UNTOUCHED else DEMO
    source = st.selectbox(
        "Schedule", sources, key=keep_valid("train.source", sources, first),
        format_func=lambda s: f"Verify: {verified['policy']} at max_lr {verified['max_lr']:.3g}"
        if s == "verify" else f"From the designer: {designed['policy']}" if s == "designed"
        else f"Preset: {schedules.PRESETS[s].label}")
    if source == "verify":
        st.caption(verify[0])
    schedule_cfg = (dict(verified) if source == "verify" else designed if source == "designed"
                    else dict(schedules.PRESETS[source].config))
    sched_error = None
    if num_iter is None:  # its box says why; nothing to preview
        sched_error = "iterations"
    else:
        try:
            sched = schedules.from_dict(schedule_cfg)
            # a planned run (1cycle, WSD, warm-up + decay) ends where the training ends,
            # its warm-up and cool-down scaled with it
            schedule_cfg, resized = rules.fit_to_length(sched.to_dict(), num_iter)
            if resized:
                sched = schedules.from_dict(schedule_cfg)
            lrs = sched.trace(num_iter)
            max_lr, min_lr = float(lrs.max()), float(lrs.min())
            st.caption(f"LR from {min_lr:.3g} to {max_lr:.3g} over {num_iter} iterations."
                       + (f" {resized}" if resized else ""))
            if sched.cycle_length and sched.total_steps is None and num_iter not in rules.cycle_ends(sched, num_iter):
                st.info(f"This run stops mid-cycle. Smith (2015): stop at the end of a cycle — e.g. "
                        f"{rules.suggest_num_iterations(sched, num_iter)} iterations.", icon="🔁")
        except ScheduleError as exc:
            sched_error = str(exc)
            st.error(shown(sched_error), icon="🚫")
    picked = st.multiselect("Baselines", list(BASELINES), key=default("train.baselines", ["fixed"]),
                            help="fixed: constant LR; decay: Smith's linear decay; adam: Adam at "
                                 "its usual LR — CLR's benefit shrinks with adaptive optimizers; "
                                 "sf_sgd / sf_adamw: schedule-free SGD and AdamW, no decay at all "
                                 "(Defazio et al. 2024), evaluated at their averaged weights.")
    log_to = also_log_to("train")  # only the trackers the operator set up, by role

    config = None
    if not errors and sched_error is None:
        try:
            if source == "verify" and picked == ["fixed"]:  # the Verify button's two runs
                schedule_run, fixed_run = verify[1]
                runs = [{**schedule_run, "schedule": schedule_cfg}, fixed_run]
            else:
                # a preset is named as the preset, not "designed"
                runs = baseline_runs(schedule=schedule_cfg, baselines=picked, num_iter=num_iter,
                                     optimizer=base["optimizer"],
                                     name=None if source == "designed"
                                     else f"preset: {schedules.PRESETS[source].label}")
            # Verify trains with everything the range test had, the fields the form has none for too
            trained = {**base, **(carried() if source == "verify" else {}),
                       "schedule": schedule_cfg, "num_iter": num_iter, "eval_every": eval_every}
            TrainConfig.from_dict(trained)  # checked as one training, then its runs join it
            config = {**trained, "runs": runs} | ({"log_to": log_to} if log_to else {})
        except (ConfigError, ScheduleError) as exc:
            st.error(shown(exc), icon="🚫")

with form_col:
    label = run_label("train", config or {**base, "schedule": schedule_cfg})
    if autostart and config is not None:  # Verify: what runs is what the form shows
        try:
            submit("train", "train", config, label=label, device=job_device(config))
        except JobError as exc:  # not signed in, or a limit per person: said, not raised
            st.error(markdown_text(exc), icon="🚦")
    start_cancel("train", "train", config, start_label="Start training", label=label,
                 device=job_device(config) if config else None)


def draw(job) -> None:
    if job.is_terminal and job.result:
        curves = training_curves(report_from_dict(job.result))
    else:
        curves = streamed_training_curves(job_series(job.id).columns())
    show_training_curves(*curves, key="train", live=not (job.is_terminal and job.result))


with view_col:
    live_job("train", "train", noun="training", draw=draw,
             empty_hint="Pick a schedule (design one first, or use a preset), add baselines and "
                        "press **Start training**.")
    status = current_job(SLOT, "train")
    if status is None and config is not None:  # before a run: what will train, whole
        preview = [(r["label"], schedules.from_dict(r["schedule"])) for r in config["runs"]]
        lr_fig, _ = schedule_figures(preview, int(num_iter))
        st.markdown("**What will train**: the learning rate of each run over its "
                    f"{int(num_iter)} iterations")
        plot(lr_fig, key="chart.train.preview")

# the comparison under both columns, the page's full width: in the view column its last
# columns ("stopped") were scrolled out of sight at 1400 px
if status is not None and status.is_terminal and status.result:
    if status.state == "cancelled":
        st.warning("Cancelled: the runs so far are kept.", icon="✋")
    st.subheader("Comparison")
    show_training_table(report_from_dict(status.result))
