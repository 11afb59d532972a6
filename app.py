"""CLR Studio: the Streamlit entry point. Pages live in pages/, logic in clr_core/."""

import streamlit as st

st.set_page_config(page_title="CLR Studio", page_icon="📈", layout="wide")

PAGES = [
    st.Page("pages/designer.py", title="Schedule designer", icon="📐", url_path="designer", default=True),
]

st.navigation(PAGES).run()
