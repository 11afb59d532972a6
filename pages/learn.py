"""Learn: guided lessons from the papers, each with a demo on digits that runs in seconds."""

from __future__ import annotations

import numpy as np
import streamlit as st

from clr_core.errors import ClrError
from clr_core.lessons import LESSONS
from clr_core.plots import Curve, line_figure
from ui.nav import ensure_app_entry
from ui.results import (
    show_range_test,
    show_suggestions,
    show_training_curves,
    show_training_table,
    training_curves,
)
from ui.state import default

ensure_app_entry()

st.title("🎓 Learn")
st.caption("Lessons from Smith's papers and the other source documents. Each demo trains a small "
           "network on scikit-learn's digits on the CPU in a few seconds.")

by_key = {lesson.key: lesson for lesson in LESSONS}
key = st.radio("Lesson", list(by_key), key=default("learn.lesson", LESSONS[0].key),
               format_func=lambda k: by_key[k].title, horizontal=False, label_visibility="collapsed")
lesson = by_key[key]

st.header(lesson.title)
st.markdown(lesson.body)
st.markdown("**Rules of thumb**\n" + "\n".join(f"- {r}" for r in lesson.rules))


@st.cache_data(show_spinner=False, max_entries=16)
def run_demo(lesson_key: str):
    """Demos are seeded, so a result can be cached and shown again instantly."""
    return by_key[lesson_key].demo()


if lesson.demo_kind == "schedules":
    curves = run_demo(lesson.key)
    k = np.arange(len(next(iter(curves.values()))))
    st.plotly_chart(line_figure([Curve(name, k, lrs) for name, lrs in curves.items()],
                                x_title="iteration", y_title="learning rate", uirevision="learn-policies"),
                    width="stretch", key=f"chart.learn.{lesson.key}")
    st.caption("Open the Schedule designer to change the bounds and export any of these.")
else:
    if st.button("Run the demo", type="primary", key=f"btn.learn.run.{lesson.key}"):
        st.session_state[f"learn.ran.{lesson.key}"] = True
    if st.session_state.get(f"learn.ran.{lesson.key}"):
        try:
            with st.spinner("Training on digits…"):
                result = run_demo(lesson.key)
        except ClrError as exc:
            st.error(str(exc), icon="🚫")
        else:
            if lesson.demo_kind == "range_test":
                show_range_test(result["range_test"], key=f"learn.{lesson.key}")
                show_suggestions(result["range_test"])
            else:
                show_training_curves(*training_curves(result), key=f"learn.{lesson.key}")
                show_training_table(result)
