"""Overview: what CLR Studio does, who you are here (local or shared), the device in use,
every page, and recent runs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from clr_core.engine.device import describe_device, pick_device
from clr_core.errors import StoreError
from ui.identity import show_mode
from ui.jobs import run_store
from ui.nav import PAGES, ensure_app_entry
from ui.plugins import show_plugins
from ui.run_labels import label_of
from ui.text import SHOWN_LIMIT, shown, shown_frame, shown_note

ensure_app_entry()

st.title("📈 CLR Studio overview")
st.markdown(
    "Design learning-rate schedules — Smith's cyclical policies, 1cycle with cyclical momentum, "
    "SGDR and the classic decays, and today's recipes (warm-up + cosine or linear decay, WSD, "
    "timm's cosine) — and export them as exact PyTorch, Hugging Face, timm or Lightning code. "
    "Run learning-rate range tests live in the browser to find `base_lr` and `max_lr` for SGD, "
    "Adam, AdamW or schedule-free optimizers, on image classifiers, a ViT or character language "
    "models, with a recommendation that says how sure it is, every finder's suggestion side by "
    "side, the stability limit where the sharpness is measured, and how far each moves between "
    "seeds. Verify the result with a short training against fixed-LR baselines, and sweep "
    "weight decay or batch size as in Smith (2018)."
)

show_mode()
st.info(f"Device in use: **{describe_device(pick_device('auto'))}**", icon="🖥️")

cols = st.columns(3)
for i, page in enumerate(p for p in PAGES if p.path != "pages/overview.py"):
    with cols[i % 3]:
        st.page_link(page.path, label=f"{page.icon} {page.title}")
        st.caption(page.blurb)

show_plugins()

st.subheader("Recent runs")
try:
    runs = run_store().list_runs(limit=10)
except StoreError as exc:  # busy or unreadable: said, not a traceback
    st.warning(shown(exc), icon="⏳")
    runs = []
if not runs:
    st.caption("No runs yet. Start a range test or a training run; it is saved here when it ends.")
else:
    # a static table: its cells wrap, so a long run name or headline is never cut short
    table = pd.DataFrame([{
        "when": dt.datetime.fromtimestamp(r.created_at).strftime("%m-%d %H:%M"),
        "run": label_of(run_store(), r), "status": r.status,
    } for r in runs]).pipe(shown_frame, limit=SHOWN_LIMIT)
    # the app's own sentence, whole: "No reliable recommendation: why, and what to run next"
    # is longer than a name may be, and cut mid-word it loses the advice
    table["headline"] = [shown_note(r.headline or "") for r in runs]
    st.table(table.style.hide(axis="index"))
