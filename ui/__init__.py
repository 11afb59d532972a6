"""Streamlit-only helpers shared by the pages (widgets, session state, job polling)."""
