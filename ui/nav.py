"""The app's pages in one list: app.py builds the navigation from it, the overview links it.

Each url_path equals its file's stem: until st.navigation has run, Streamlit resolves a
deep link against the pages/ folder, and any other path shows "Page not found".

The default page (the designer) is the home page, `/`. Streamlit serves a default page
at `/` only, so its own path gets a hidden page that forwards there with the link's query
string: `/designer?policy=...` opens the designer with that schedule, never "Page not
found"."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

__all__ = ["PAGES", "PageInfo", "build_navigation", "ensure_app_entry"]


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    url_path: str
    blurb: str
    default: bool = False


PAGES = (
    PageInfo("pages/designer.py", "Schedule designer", "📐", "designer",
             "Pick a policy, preview LR and momentum, overlay, export.", default=True),
    PageInfo("pages/range_test.py", "Range test", "🔎", "range_test",
             "Sweep the LR, watch the loss live, get suggested bounds."),
    PageInfo("pages/training.py", "Training run", "🏃", "training",
             "Train with your schedule against fixed, decay and Adam."),
    PageInfo("pages/sweeps.py", "Sweeps", "🧹", "sweeps",
             "Range tests across weight decays, batch sizes, momenta or seeds."),
    PageInfo("pages/runs.py", "Runs", "🗂️", "runs",
             "Every saved run: overlay, reopen, rename, delete, download."),
    PageInfo("pages/learn.py", "Learn", "🎓", "learn",
             "Guided lessons from the papers, with live demos on digits."),
    PageInfo("pages/overview.py", "Overview", "📈", "overview",
             "What CLR Studio does, the device in use, recent runs."),
)


_navigation_built = False  # per process: True once app.py has declared the pages


def build_navigation():
    """Declare the pages with st.navigation (app.py calls this on every run)."""
    global _navigation_built
    _navigation_built = True
    pages = [st.Page(p.path, title=p.title, icon=p.icon, default=p.default,
                     url_path=f"{p.url_path}_home" if p.default else p.url_path)
             for p in PAGES]
    home_info = next(p for p in PAGES if p.default)
    home = pages[PAGES.index(home_info)]
    alias = home_info.url_path

    def forward_home() -> None:
        st.switch_page(home, query_params=st.query_params.to_dict())

    forward_home.__name__ = f"forward_{alias}"  # a callable page's identity is its name
    return st.navigation([*pages, st.Page(forward_home, title=home_info.title, url_path=alias,
                                          visibility="hidden")])


def ensure_app_entry() -> None:
    """Every page calls this first. Until app.py has run once in this server process,
    Streamlit serves a deep link from the legacy pages/ folder and runs the page file
    alone (no app.py: no wide layout, no page list, no kept widget state). Declaring the
    navigation switches that mode off; the rerun then goes through app.py."""
    if not _navigation_built:
        build_navigation()
        st.rerun()
