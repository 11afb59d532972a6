"""Learn: lessons with their controls beside the explanation. Closed-form lessons redraw on every
change; training lessons run on digits in seconds. A link (?lesson=N&...) reopens a lesson with
every control as it was; hide= hides controls; the projector toggle enlarges text and lines."""

from __future__ import annotations

import time

import streamlit as st

from clr_core.errors import ClrError
from clr_core.jobs.state import time_left
from clr_core.lessons import (
    CLAIM_CHECKS,
    LESSONS,
    LessonView,
    lesson_problems,
    link_problems,
    query_from_values,
    values_from_query,
)
from clr_core.lessons.digits import reporting_progress
from clr_core.lessons.training import accuracy_figure
from clr_core.present.style import tiles_per_row
from ui.charts import plot
from ui.jobs import time_left_text
from ui.nav import ensure_app_entry
from ui.state import default
from ui.teaching import (
    PROJECTOR_TEXT_SCALE,
    control_key,
    draw_control,
    draw_figure,
    lesson_link,
    projector_style,
)
from ui.text import shown

ensure_app_entry()

KEYS = [lesson.key for lesson in LESSONS]
SETTINGS = {c.key for lesson in LESSONS for c in lesson.controls}  # any lesson's link value
BY_KEY = {lesson.key: lesson for lesson in LESSONS}


def _lesson_in_link(value: str | None) -> str | None:
    """?lesson= takes the lesson's number (1-based) or its key."""
    if not value:
        return None
    if value.isdigit() and 1 <= int(value) <= len(KEYS):
        return KEYS[int(value) - 1]
    return value if value in BY_KEY else None


def _apply_link() -> None:
    """Once per session: the link's lesson, control values, hidden controls and projector."""
    if st.session_state.get("learnlink.applied"):
        return
    st.session_state["learnlink.applied"] = True
    query = st.query_params.to_dict()
    # like the designer's links: what cannot be opened as written is said by name
    st.session_state["learnlink.problems"] = link_problems(query, KEYS)
    key = _lesson_in_link(query.get("lesson"))
    if key is None:
        return
    st.session_state["learn.lesson"] = key
    lesson = BY_KEY[key]
    st.session_state["learnlink.problems"] += lesson_problems(lesson, query, SETTINGS)
    linked = {c.key for c in lesson.controls if c.key in query}
    for name, value in values_from_query(lesson, query).items():
        if name in linked:
            st.session_state[f"learn.{key}.{name}"] = value
    st.session_state["learnlink.hide"] = {h for h in query.get("hide", "").split(",") if h}
    if query.get("projector") in ("1", "true"):
        st.session_state["learn.projector"] = True


@st.cache_resource
def _shared_results() -> dict:
    """Finished training demos by (lesson, settings), for every session of this server:
    once anyone has run a setting, the next visitor sees it at once."""
    return {}


def _draw_view(view: LessonView, *, key: str, projector: bool) -> None:
    if view.summary:  # the result in plain words first, then the numbers
        st.markdown(view.summary)
    if view.metrics:  # rows of tiles narrow enough that no label is cut
        per_row = tiles_per_row([label for label, _ in view.metrics],
                                scale=PROJECTOR_TEXT_SCALE if projector else 1.0)
        for start in range(0, len(view.metrics), per_row):
            row = view.metrics[start:start + per_row]
            for col, (label, value) in zip(st.columns(per_row), row, strict=False):
                col.metric(label, value)
    cols = st.columns(len(view.figures)) if len(view.figures) > 1 else [st.container()]
    for col, (name, fig) in zip(cols, view.figures, strict=True):
        with col:
            draw_figure(fig, key=f"learn.{key}.{name}", name=f"{key}-{name}", projector=projector)
    if view.table is not None:
        st.dataframe(view.table, hide_index=True, width="stretch")
    for note in view.notes:
        st.info(note, icon="ℹ️")


def _run_live(run_view, values, label: str):
    """Run a training demo, drawing each finished run as it arrives under a progress bar
    with the time left (from the runs done and the time they took)."""
    bar, live = st.empty(), st.empty()
    runs: dict = {}
    started = time.monotonic()

    def on_progress(done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        left = time_left(fraction, time.monotonic() - started)
        bar.progress(fraction, text=f"Trained {done} of {total} runs · {time_left_text(left)}")

    def on_run(run) -> None:
        runs.setdefault(run.label, []).append(run)
        with live.container():
            st.caption(f"Trained {run.label}, seed {run.seed}…")
            plot(accuracy_figure(runs))

    with st.spinner(label), reporting_progress(on_progress):
        view = run_view(values, on_run=on_run)
    bar.empty()
    live.empty()
    return view


def _training_demo(lesson, values, *, projector: bool, run_view, button: str, slot: str) -> None:
    results = _shared_results()
    signature = (lesson.key, slot, tuple(sorted(values.items())))
    if st.button(button, type="primary", key=f"btn.learn.run.{lesson.key}.{slot}"):
        try:
            results[signature] = _run_live(run_view, values, "Training on digits…")
        except ClrError as exc:
            st.error(shown(exc), icon="🚫")
    view = results.get(signature)
    if view is None:
        st.caption("Runs on digits in a few seconds; each run is drawn as it finishes.")
        return
    _draw_view(view, key=f"{lesson.key}.{slot}", projector=projector)


st.title("🎓 Learn")
_apply_link()
with st.sidebar:
    key = st.radio("Lesson", KEYS, key=default("learn.lesson", KEYS[0]),
                   format_func=lambda k: BY_KEY[k].title)
    projector = st.toggle("Projector", key=default("learn.projector", False),
                          help="Larger text, thicker lines and markers, for a room.")
lesson = BY_KEY[key]
projector_style(projector)
hidden = st.session_state.get("learnlink.hide", set())

st.header(lesson.title)
for problem in st.session_state.get("learnlink.problems", []):
    st.error(f"From the link: {shown(problem)}.", icon="🔗")
text_col, control_col = st.columns([3, 2], gap="large")
with text_col:
    st.markdown(lesson.body)
    st.markdown(f"**Claim.** {lesson.claim.text} — *{lesson.claim.source}*")
    st.markdown(f"**What the demo shows.** {lesson.claim.verdict}")
    if lesson.rules:
        st.markdown("**Rules of thumb**\n" + "\n".join(f"- {r}" for r in lesson.rules))
with control_col:
    for control in lesson.controls:
        if control.key not in hidden:
            draw_control(lesson, control)
    values = {c.key: st.session_state.get(control_key(lesson, c), c.default)
              for c in lesson.controls}
    query = {"lesson": str(KEYS.index(key) + 1), **query_from_values(lesson, values)}
    if hidden:
        query["hide"] = ",".join(sorted(hidden))
    if projector:
        query["projector"] = "1"
    st.query_params.from_dict(query)
    with st.popover("🔗 Copy link", help="A link that opens this lesson with these settings"):
        st.code(lesson_link(query), language=None, wrap_lines=True)
        st.caption("Add hide=name,name to hide controls from the class "
                   f"(here: {', '.join(c.key for c in lesson.controls)}).")

try:
    if lesson.instant:
        _draw_view(lesson.view(values), key=lesson.key, projector=projector)
    else:
        _training_demo(lesson, values, projector=projector, run_view=lesson.view,
                       button="▶ Run it yourself", slot="demo")
    if lesson.key in CLAIM_CHECKS:
        st.subheader("Check the claim on digits")
        _training_demo(lesson, values, projector=projector, run_view=CLAIM_CHECKS[lesson.key],
                       button="▶ Train the windows", slot="claim")
except ClrError as exc:
    st.error(shown(exc), icon="🚫")
