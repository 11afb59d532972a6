"""CLR Studio: the Streamlit entry point. Pages live in pages/, logic in clr_core/."""

import streamlit as st

from ui.jobs import check_settings, show_store_notice
from ui.nav import build_navigation
from ui.state import keep_widget_state

st.set_page_config(page_title="CLR Studio", page_icon="📈", layout="wide")
check_settings()
keep_widget_state()
show_store_notice()
build_navigation().run()
