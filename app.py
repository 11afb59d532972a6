"""CLR Studio: the Streamlit entry point. Pages live in pages/, logic in clr_core/."""

import streamlit as st

from ui.state import keep_widget_state

st.set_page_config(page_title="CLR Studio", page_icon="📈", layout="wide")
keep_widget_state()

PAGES = [
    st.Page("pages/designer.py", title="Schedule designer", icon="📐", url_path="designer", default=True),
    st.Page("pages/range_test.py", title="Range test", icon="🔎", url_path="range-test"),
    st.Page("pages/training.py", title="Training run", icon="🏃", url_path="training"),
]

st.navigation(PAGES).run()
