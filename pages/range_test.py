"""LR range test: sweep the learning rate in the background, watch loss versus LR live,
get suggested bounds and send them to the designer."""

# ruff: noqa: E402  (ensure_app_entry runs before the imports that load torch)
from __future__ import annotations

import json

import streamlit as st

from ui.nav import ensure_app_entry

# First, before the imports that load torch: a deep link opened as a server's very first
# request reruns through app.py here, which starts the job worker's imports at once.
ensure_app_entry()

from clr_core.engine.events import EVAL, STEP
from clr_core.engine.results import RangeTestResult
from clr_core.engine.spec import BOUNDS
from clr_core.errors import ConfigError
from clr_core.jobs.runners import verify_config
from clr_core.present.labels import HANDOFF_LABELS, run_label
from clr_core.runs.reports import report_from_dict
from clr_core.setup.configs import SHARPNESS_EVERY, RangeTestConfig, job_device
from clr_core.suggest.handoff import HANDOFF_POLICIES, short_label, suggestion_to_schedule
from clr_core.suggest.recommend import RECOMMENDED, rule_label
from ui.batch_size import rescale_suggestion
from ui.confirm import show_confirm
from ui.designer_state import send_to_designer
from ui.forms import also_log_to, data_model_form
from ui.jobs import (
    current_job,
    is_running,
    job_series,
    job_slot,
    live_job,
    start_cancel,
)
from ui.results import (
    curve_frame,
    range_summary,
    show_range_test,
    show_range_test_headline,
    show_suggestions,
)
from ui.state import default, keep_valid
from ui.text import shown, shown_note
from ui.training_state import load_training
from ui.widgets import float_input, int_input, spec_bounds

SLOT = job_slot("rt")


st.title("🔎 LR range test")
st.caption(
    "Smith (2015): raise the learning rate every batch and watch the loss. Where it starts to "
    "fall is a lower bound, where it stops falling or turns ragged the upper bound. "
    "The model and optimizer are restored afterwards."
)

# the form in the sidebar: the chart gets the page's whole width
form_col, view_col = st.sidebar, st.container()

with form_col:
    errors: list[str] = []
    base = data_model_form("rt", errors)
    st.markdown("**Sweep**")
    c1, c2 = st.columns(2)
    with c1:
        start_lr = float_input("Start LR", "rt.start_lr", 1e-5, errors=errors)
    with c2:
        end_lr = float_input("End LR", "rt.end_lr", 10.0, errors=errors)
    c3, c4 = st.columns(2)
    num_iter = int_input("Iterations", "rt.num_iter", 100, errors=errors, container=c3,
                         **spec_bounds("num_iter"))
    mode = c4.radio("Sweep", ["exp", "linear"], horizontal=True, key="rt.mode",
                    format_func={"exp": "exponential (fastai)", "linear": "linear (Smith)"}.get)
    eval_every = int_input(
        "Validate every k iterations (0 = off)", "rt.eval_every", 0, errors=errors,
        **spec_bounds("eval_every"),
        help="Smith's original test plots validation accuracy versus LR; it adds the "
             "'smith_accuracy' suggestion.")
    sharpness_every = int_input(
        "Measure sharpness every k iterations (0 = off)", "rt.sharpness_every", SHARPNESS_EVERY,
        errors=errors, **spec_bounds("sharpness_every"),
        help="λmax of the loss's Hessian on the current batch (power iteration on "
             "Hessian-vector products), drawn as the stability limit 2(1+β)/λmax: the LR where "
             "the loss becomes unstable (Cohen et al. 2021).")
    with st.expander("Smoothing and stopping"):
        # the slider stops short of the spec's open upper bound 1
        beta = st.slider("EMA smoothing beta (fastai: 0.98)", BOUNDS["smooth_beta"].lo, 0.995,
                         step=0.005,
                         key=default("rt.beta", 0.98),
                         help="Bias-corrected exponential moving average of the loss. Higher is "
                              "smoother but lags the raw loss by about 1/(1-beta) iterations.")
        threshold = st.number_input("Stop when the smoothed loss exceeds k × its minimum (fastai: 4)",
                                    min_value=BOUNDS["diverge_threshold"].lo, step=0.5,
                                    key=default("rt.threshold", 4.0))
        accumulate = int_input("Gradient accumulation steps", "rt.accumulate", 1, errors=errors,
                               **spec_bounds("accumulation_steps"),
                               help="Simulate a larger batch: batch size × steps per LR value.")
        clip_norm = float_input(
            "Gradient clipping (max norm)", "rt.grad_clip_norm", None, optional=True,
            errors=errors,
            help="Clip each update's gradients to this global norm, as your training does "
                 "(Hugging Face's max_grad_norm is 1.0 by default); empty = off. A curve "
                 "measured without the clipping the real run has can put the divergence a "
                 "decade off.")
    log_to = also_log_to("rt")  # only the trackers the operator set up, by role
    config = None
    if not errors:
        try:
            cfg = RangeTestConfig.from_dict({**base, "start_lr": start_lr, "end_lr": end_lr,
                                             "num_iter": int(num_iter), "mode": mode,
                                             "eval_every": int(eval_every), "smooth_beta": float(beta),
                                             "diverge_threshold": float(threshold),
                                             "accumulation_steps": int(accumulate),
                                             "sharpness_every": int(sharpness_every),
                                             "grad_clip_norm": clip_norm})
            config = cfg.to_dict() | ({"log_to": log_to} if log_to else {})
        except (ConfigError, ValueError) as exc:
            st.error(shown(exc), icon="🚫")

# The one poll of this rerun and its one decoding: every part of the page draws this snapshot
# (the polling fragment asks again only on its own reruns, while the job runs).
job = current_job(SLOT, "range_test")
finished = report_from_dict(job.result) if job is not None and job.is_terminal and job.result \
    else None
# ... and its one reading, which the headline above the chart and the bounds below both draw
finished_summary = range_summary(finished.range_test, job.config) if finished is not None else None

with form_col:
    start_cancel("rt", "range_test", config, start_label="Start range test", job=job,
                 label=run_label("range_test", config or base), device=job_device(config) if config else None)


def report_of(polled):
    """The finished report of the job the fragment drew: this rerun's, decoded once."""
    if polled is job:
        return finished
    return report_from_dict(polled.result) if polled.is_terminal and polled.result else None


def draw(job) -> None:
    report = report_of(job)
    if report is not None:
        rt = report.range_test
    else:  # still running: draw what has streamed so far
        series = job_series(job.id)
        rt = RangeTestResult.streamed(series.get(STEP), series.get(EVAL),
                                      mode=job.config.get("mode", "exp"))
    # the one reading of it, everything below draws (this rerun's finished one: read once)
    summary = finished_summary if report is finished and report is not None \
        else range_summary(rt, job.config)
    if report is not None:
        show_range_test_headline(summary)
    if rt.iterations:
        st.caption(f"Current LR **{rt.lrs[-1]:.3g}** · loss {rt.losses[-1]:.4f} · "
                   f"{rt.iterations} of {job.config.get('num_iter')} iterations")
    show_range_test(rt, key="rt", highlight=st.session_state.get("rt.method", RECOMMENDED),
                    config=job.config, live=rt.running, summary=summary)


with view_col:
    live_job("rt", "range_test", noun="range test", draw=draw, job=job,
             empty_hint="Set up the test in the sidebar and press **Start range test**. Defaults: an "
                        "MLP on scikit-learn's digits, SGD with momentum 0.9, an exponential sweep "
                        "from 1e-5 to 10 over 100 batches.")
    status, report = job, finished
    if report is not None:
        rt = report.range_test
        if status.state == "cancelled":
            st.warning("Cancelled: the partial curve is kept and its suggestions computed.", icon="✋")
        if rt.diverged:
            st.info(f"Stopped early: {shown(rt.stop_reason)} — the loss ran away, as it should at the "
                    "top of a range test.", icon="📈")
        elif rt.stop_reason == "loader exhausted":
            st.info("Stopped early: the loader ran out of batches; the curve so far is kept.",
                    icon="📭")
        st.subheader("Suggested bounds")
        summary = finished_summary
        show_suggestions(rt, summary, lead=False)
        if rt.suggestions:
            methods = sorted(rt.suggestions, key=lambda m: m != RECOMMENDED)  # recommended first
            h1, h2, h3 = st.columns([2, 2, 2], vertical_alignment="bottom")
            method = h1.selectbox("Suggestion", methods, format_func=rule_label, key=keep_valid(
                "rt.method", methods, methods[0]))
            # Adam and AdamW train with warm-up + cosine today; SGD with Smith's CLR
            adaptive = summary.handoff_policy == "warmup_cosine"
            policy = h2.selectbox("Schedule", list(HANDOFF_POLICIES),
                                  key=f"rt.policy.{'adaptive' if adaptive else 'sgd'}",
                                  index=HANDOFF_POLICIES.index(summary.handoff_policy),
                                  format_func=HANDOFF_LABELS.get)
            s = rt.suggestions[method]
            tested_batch = (status.config or {}).get("batch_size")
            rescaled = None
            if isinstance(tested_batch, int):
                rescaled = rescale_suggestion(s.max_lr, tested_batch,
                                              str(status.config.get("optimizer", "sgd")),
                                              key="rt.new_batch")
            if not s.reliable:
                st.caption(f"{rule_label(method)} is a guess on this curve ({shown_note(s.caveat)}) — "
                           "Verify it before you train with it.")
            # the primary action only when there is a confident recommendation to act on
            if h3.button("Use in designer", type="primary" if s.confident else "secondary",
                         key="btn.rt.to_designer", width="stretch"):
                ipe = report.iters_per_epoch or 1
                handoff, note = suggestion_to_schedule(s, policy, ipe)
                if rescaled is not None:  # said, not applied
                    note += " " + rescaled.text.replace("**", "")
                send_to_designer(handoff, note, iters_per_epoch=ipe)
            plan = verify_config(status.config, max_lr=s.max_lr, policy=policy, base_lr=s.base_lr)
            peak = plan["schedule"]["max_lr"]
            fitted = f" (the suggested {s.max_lr:.3g}, fitted)" if abs(peak / s.max_lr - 1) > 1e-9 else ""
            what = f"{short_label(policy)} at max_lr {peak:.3g}{fitted}"
            if st.button(f"Verify: {what} against a fixed LR", key="btn.rt.verify",
                         disabled=is_running("train", "train"),
                         help=f"A short training ({plan['num_iter']} iterations) on the range "
                              "test's data, model and optimizer, with the schedule chosen "
                              "above sized to it, against a fixed LR at max_lr / 10."):
                # the training form is filled with exactly what runs, and starts it
                load_training(plan, note=f"Verifying {rule_label(method)}: {what} against a "
                                         "fixed LR, on the range test's data, model and optimizer.")
                st.switch_page("pages/training.py")
            show_confirm(status, rt, s, policy, report.iters_per_epoch,  # its figures are recommended's
                         trust_line=summary.trust_line if method == RECOMMENDED else "")
        d1, d2 = st.columns(2)
        d1.download_button("Download curve (CSV)", curve_frame(rt).to_csv(index=False),
                           "range_test.csv", "text/csv", key="btn.rt.dl_csv")
        d2.download_button("Download result (JSON)",
                           json.dumps(report.to_dict(), indent=1, allow_nan=False),
                           "range_test.json", "application/json", key="btn.rt.dl_json")
