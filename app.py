"""CLR Studio: the Streamlit entry point. Pages live in pages/, logic in clr_core/."""

import streamlit as st

from ui.jobs import check_settings, show_store_notice, warm_up
from ui.nav import build_navigation
from ui.state import keep_widget_state
from ui.text import show_unexpected

st.set_page_config(page_title="CLR Studio", page_icon="📈", layout="wide")
check_settings()
if __name__ == "__main__":  # Streamlit runs this file as __main__; a spawn child re-running
    warm_up()  # it as __mp_main__ must not start a worker while it bootstraps. The job worker
    # imports torch while this first page is drawn.
keep_widget_state()
show_store_notice()
try:
    build_navigation().run()
except Exception as exc:
    # the traceback to the server's log under an id the page shows; raised on, so Streamlit
    # ends the run as failed (its own box names only the type: client.showErrorDetails)
    show_unexpected(exc, "drawing this page")
    raise
