"""Schedule designer (the home page): pick a policy, set it, preview LR and momentum,
overlay, export; its state is the link. The form is built from the policy's spec."""

from __future__ import annotations

import json

import streamlit as st

from clr_core import schedules
from clr_core.errors import ScheduleError
from clr_core.present.plots import schedule_figures
from clr_core.schedules import rules
from clr_core.schedules.exports import exports
from ui.batch_size import designer_rescale
from ui.charts import plot
from ui.designer_link import apply_link, form_specs, write_link
from ui.designer_state import (
    CURRENT,
    OVERLAYS,
    POLICY_KEY,
    PRESET_KEY,
    apply_handoff,
    load_config,
    param_key,
)
from ui.nav import ensure_app_entry
from ui.schedule_form import param_widget
from ui.state import default
from ui.text import shown, shown_error
from ui.uploads import checked_upload, upload_limit_mb, upload_too_large
from ui.widgets import fmt_int, int_input

ensure_app_entry()

st.title("📐 Schedule designer")
st.caption(
    "Smith's CLR (2015) and 1cycle (2018), SGDR, the classic decays and today's recipes "
    "(Hugging Face warm-up + decay, WSD, timm's cosine), computed in closed form and exported "
    "exactly as JSON, PyTorch, Hugging Face, timm or Lightning code. The link is the design: "
    "copy it to share this schedule."
)

handoff_note = apply_handoff()
if handoff_note:
    st.success(handoff_note, icon="🎯")  # the app's words; an upload's name is shown() in it
link_problems = apply_link()

POLICIES = schedules.POLICIES
DEFAULT_POLICY, DEFAULT_IPE = "triangular", 500  # what the first open shows


def _load_preset():
    name = st.session_state.get(PRESET_KEY)
    if name and name in schedules.PRESETS:
        preset = schedules.PRESETS[name]
        load_config(preset.config, iters_per_epoch=preset.iters_per_epoch, preset=name)


# the phases table needs a wider form to show all its columns with their headers
wide_form = st.session_state.get(POLICY_KEY) == "phases"
controls, view = st.columns([1.8, 2] if wide_form else [1, 2], gap="large")


def _preset_of_the_defaults() -> str | None:
    """The preset the form's first open shows (the default policy at its defaults, previewed
    with the default iterations per epoch), so the box names what the form and chart show;
    None (the box's placeholder) when no preset is that schedule."""
    spec = POLICIES[DEFAULT_POLICY]
    shown_now = schedules.make_schedule(spec.name, **{p.name: p.default for p in spec.params
                                                      if p.default is not None}).to_dict()
    return next((name for name, p in schedules.PRESETS.items()
                 if p.iters_per_epoch == DEFAULT_IPE and p.schedule().to_dict() == shown_now), None)


if PRESET_KEY not in st.session_state and POLICY_KEY not in st.session_state:
    st.session_state[PRESET_KEY] = _preset_of_the_defaults()  # the first open, no link

with controls:
    preset_names = list(schedules.PRESETS)
    # the preset's whole name in view ("Fine-tuning, linear with 6 % warm-up (Hugging Face)")
    st.selectbox("Preset", preset_names, key=PRESET_KEY, placeholder="Choose a preset to load",
                 format_func=lambda n: schedules.PRESETS[n].label)
    st.button("Load preset", on_click=_load_preset, key="btn.designer.load_preset")
    if st.session_state.get(PRESET_KEY) in schedules.PRESETS:
        st.caption(schedules.PRESETS[st.session_state[PRESET_KEY]].description)

    if POLICY_KEY not in st.session_state:
        st.session_state[POLICY_KEY] = DEFAULT_POLICY
    policy = st.selectbox("Policy", list(POLICIES), key=POLICY_KEY,
                          format_func=lambda p: POLICIES[p].label)
    spec = POLICIES[policy]
    st.caption(spec.description)

    errors: list[str] = []
    params = {}
    for pspec in spec.params:
        value = param_widget(policy, pspec, errors)
        if value is not None:
            params[pspec.name] = value
    with st.expander("Warm-up modifier (any policy)"):
        for pspec in form_specs(policy)[len(spec.params):]:
            value = param_widget(policy, pspec, errors)
            if value is not None:
                params[pspec.name] = value

    st.divider()
    iters_per_epoch = int_input(
        "Iterations per epoch", "designer.ipe", DEFAULT_IPE, min_value=1, max_value=10**9,
        help="Training-set size / batch size. Used for the step-size rule and epochs per cycle.",
    ) or 1  # a bad entry is reported under the box

schedule = None
problem = "; ".join(errors) or None  # field errors are also shown under their fields
if not errors:
    try:
        schedule = schedules.make_schedule(policy, **params)
    except ScheduleError as exc:
        problem = str(exc)
    except Exception as exc:  # noqa: BLE001 - any value (deep phases, huge numbers): a message
        problem = f"{policy}: these values cannot make a schedule ({type(exc).__name__}: {exc})"
    else:
        st.session_state[CURRENT] = schedule.to_dict()  # the training page trains with it
# the URL follows every edit: the schedule's own keys, or what was typed while it is invalid
typed = {s.name: st.session_state.get(param_key(policy, s.name)) for s in form_specs(policy)}
if not typed.get("ramp_steps"):
    typed = {k: v for k, v in typed.items() if not k.startswith("ramp_")}
link = write_link(schedule.to_dict() if schedule is not None else {"policy": policy, **typed})

with controls, st.expander("Rules of thumb (Smith 2015, 2018)", expanded=False):
    factor = st.slider("Step size = factor × iterations per epoch (Smith: 2–10)", 2, 10,
                       key=default("designer.factor", 4))
    step = rules.step_size_for(int(iters_per_epoch), factor)
    st.write(f"Step size: **{step}** iterations ({factor} epochs per half cycle)")
    step_params = [p.name for p in spec.params if p.name in ("step_size_up", "step_size", "T_0")]
    if step_params:
        def _apply_step(name=step_params[0], value=step):
            st.session_state[param_key(policy, name)] = value
        st.button(f"Set {step_params[0]} = {step}", on_click=_apply_step, key="btn.designer.apply_step")
    rule = st.selectbox("base_lr from max_lr", list(rules.RULES), key="designer.rule",
                        format_func=lambda r: rules.RULES[r].label)
    max_lr = params.get("max_lr")
    has_base = any(p.name == "base_lr" for p in spec.params)
    if schedule is not None and max_lr is not None and has_base:
        base = rules.base_lr_for(max_lr, rule)
        st.write(f"base_lr = **{base:.4g}** — {rules.RULES[rule].explanation}")

        def _apply_base(value=base):
            st.session_state[param_key(policy, "base_lr")] = f"{value:.6g}"
        st.button(f"Set base_lr = {base:.4g}", on_click=_apply_base, key="btn.designer.apply_base")
    if schedule is not None and max_lr is not None:
        st.markdown("**A new batch size?** (Goyal et al. 2017; Malladi et al. 2022)")
        designer_rescale(float(max_lr), key="designer.batch")

with view:
    for message in link_problems:  # the same words a typed value gets
        st.error(f"From the link: {shown(message)}", icon="🔗")
    if problem:  # where the preview would be, so it is seen without scrolling
        st.error(f"No preview: {shown(problem)}", icon="🚫")
    with st.popover("🔗 Copy link"):
        st.caption("This link opens the designer with this schedule (copy icon on the right).")
        st.code(link, language=None)
    # the whole schedule: set on the first visit and whenever the policy changes (a loaded
    # preset or hand-off resets it too); a length typed for this policy is kept. A schedule
    # with an end is previewed over exactly its length (a 300-step preset over 300, not
    # climbing back after its end); a cyclical one over at least 1000
    planned = rules.planned_length(schedule) if schedule is not None else None
    if schedule is not None and ("designer.n" not in st.session_state
                                 or st.session_state.get("designer.n.for") != policy):
        st.session_state["designer.n"] = st.session_state["designer.n.auto"] = fmt_int(
            planned if planned else max(rules.preview_length(schedule), 1000))
        st.session_state["designer.n.for"] = policy
    elif planned and st.session_state.get("designer.n") == st.session_state.get("designer.n.auto") \
            and st.session_state.get("designer.n") != fmt_int(planned):
        # its length changed (a phase added, total_steps edited) and none was typed: follow it
        st.session_state["designer.n"] = st.session_state["designer.n.auto"] = fmt_int(planned)
    elif "designer.n" not in st.session_state:
        st.session_state["designer.n"] = fmt_int(6000)
    if wide_form:  # the view beside the phases table is narrower: the box on a row of its
        # own, so the toggle and the button beside each other keep their labels whole
        top = [st.container(), *st.columns(2, vertical_alignment="center")]
    else:
        top = st.columns([2, 1, 1], vertical_alignment="bottom")
    n_iter = int_input("Iterations to preview", "designer.n", None, min_value=1,
                       max_value=10_000_000, container=top[0]) or 1
    log_y = top[1].toggle("Log-scale LR", key="designer.logy")
    overlays: list[dict] = st.session_state.setdefault(OVERLAYS, [])

    def _add_overlay(config=None):
        st.session_state[OVERLAYS].append(config)

    top[2].button("Add to overlay", disabled=schedule is None, key="btn.designer.add_overlay",
                  on_click=_add_overlay, args=(schedule.to_dict() if schedule else None,))

    curves = []
    for i, cfg in enumerate(overlays):
        try:
            curves.append((f"#{i + 1} {cfg['policy']}", schedules.from_dict(cfg)))
        except Exception:  # noqa: BLE001 - an overlay that no longer builds is left out
            continue
    if schedule is not None:
        curves.append((f"current: {policy}", schedule))
    if curves:
        lr_fig, mom_fig = schedule_figures(curves, int(n_iter), log_y=log_y)
        plot(lr_fig, key="chart.designer.lr")
        if mom_fig is not None:
            plot(mom_fig, key="chart.designer.mom")

    if overlays:
        with st.expander(f"Overlay ({len(overlays)} schedules)", expanded=True):
            for i, cfg in enumerate(overlays):
                c1, c2 = st.columns([5, 1])
                c1.code(json.dumps(cfg), language="json")

                def _remove(i=i):
                    st.session_state[OVERLAYS].pop(i)
                c2.button("Remove", key=f"btn.designer.rm.{i}", on_click=_remove)
            st.button("Clear overlay", key="btn.designer.clear_overlay",
                      on_click=lambda: st.session_state[OVERLAYS].clear())

    if schedule is not None:
        n = int(n_iter) if not schedule.total_steps else min(int(n_iter), int(schedule.total_steps))
        lrs = schedule.trace(n)
        m = st.columns(4)
        cl = schedule.cycle_length
        epc = rules.epochs_per_cycle(schedule, int(iters_per_epoch)) if cl else None
        m[0].metric("Cycle length", f"{cl:,} it" if cl else "—")
        m[1].metric("Epochs per cycle", f"{epc:.3g}" if epc else "—")
        m[2].metric("Lowest LR", f"{lrs.min():.3g}")
        m[3].metric("Highest LR", f"{lrs.max():.3g}")
        planned = schedule.params.get("total_steps")
        st.caption(f"Ends after {schedule.total_steps:,} steps (stepping further is an error, as in torch)."
                   if schedule.total_steps else
                   f"Planned for {int(planned):,} steps (total_steps); stepping past them is not an "
                   "error, as in transformers' schedulers." if planned else
                   "Open-ended: the schedule can be stepped forever.")
        conventions = schedule.conventions()
        if conventions:
            with st.expander("Conventions: where the first and last LR land", expanded=True):
                for line in conventions:
                    st.markdown(f"- {line}")
        ends = rules.cycle_ends(schedule, n)
        if schedule.policy == "one_cycle" and len(ends):
            st.info(f"The cycle ends at iteration {int(ends[0]):,} with the LR at "
                    f"{float(lrs[-1]):.3g}, far below where it started "
                    f"({float(lrs[0]):.3g}): 1cycle anneals below its start at the end "
                    "(Smith 2018). Stop training there.", icon="🔁")
        elif len(ends):
            first_ends = ", ".join(str(int(e)) for e in ends[:8]) + (" …" if len(ends) > 8 else "")
            st.info(f"Cycles end (LR back at its base) at iterations {first_ends}. "
                    "Smith: stop training at the end of a cycle.", icon="🔁")

        st.subheader("Export")
        d1, d2 = st.columns(2)
        as_json = json.dumps(schedule.to_dict(), indent=2)
        d1.download_button("Download JSON", as_json, file_name=f"{policy}_schedule.json",
                           mime="application/json", key="btn.designer.dl_json")
        code = schedule.to_code()
        d2.download_button("Download PyTorch code", code, file_name=f"{policy}_schedule.py",
                           mime="text/x-python", key="btn.designer.dl_code")
        offered = exports(schedule)
        for tab, export in zip(st.tabs([e.label for e in offered]), offered, strict=True):
            with tab:
                if export.code is None:
                    st.info(export.note, icon="🚫")
                    continue
                st.caption(export.note)
                if export.name not in ("pytorch", "json"):
                    st.download_button(f"Download {export.label} code", export.code,
                                       file_name=export.filename, mime="text/x-python",
                                       key=f"btn.designer.dl_{export.name}")
                st.code(export.code, language=export.language)

    with st.expander("Import a schedule from JSON"):
        limit_mb = upload_limit_mb()
        uploaded = st.file_uploader("Schedule JSON", type=["json"], key="btn.designer.upload",
                                    max_upload_size=limit_mb,
                                    help=f"A schedule's JSON export, up to {limit_mb} MB.")
        too_large = uploaded is not None and upload_too_large(uploaded.name, uploaded.size)
        if too_large:  # said as soon as the file arrives; nothing of it is read or quoted
            st.error(shown(too_large), icon="📦")
        elif uploaded is not None and st.button("Load uploaded schedule",
                                                key="btn.designer.load_upload"):
            try:
                cfg = json.loads(checked_upload(uploaded.name, uploaded.size, uploaded.getvalue)
                                 .decode("utf-8"))
                schedules.from_dict(cfg)
            except Exception as exc:  # noqa: BLE001 - any file: a message, never a traceback
                st.error(f"Could not load that file ({shown_error(exc, with_type=True)})", icon="🚫")
            else:
                load_config(cfg, f"Loaded {shown(uploaded.name)}.")
                st.rerun()

with st.expander("Policies and their sources"):
    st.markdown("\n".join(f"- **{spec.label}** (`{name}`): {spec.source or 'classic'}"
                          for name, spec in POLICIES.items()))
