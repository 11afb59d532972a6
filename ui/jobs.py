"""The one job registry and run store of this server, and per-session job bookkeeping.

Held by `st.cache_resource`, so every session shares one registry (one GPU queue) while
each session sees only its own jobs (its owner id lives in the URL, so a reload finds
its running job again)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import streamlit as st

from clr_core.jobs import JobRegistry, JobStatus
from clr_core.store import RunStore

OWNER_PARAM = "sid"


@st.cache_resource
def run_store() -> RunStore:
    return RunStore()


@st.cache_resource
def registry() -> JobRegistry:
    return JobRegistry(store=run_store())


def owner_id() -> str:
    """This browser tab's owner id, kept in the URL so a reload keeps it."""
    owner = st.session_state.get("owner") or st.query_params.get(OWNER_PARAM)
    if not owner:
        owner = uuid.uuid4().hex[:12]
    st.session_state["owner"] = owner
    if st.query_params.get(OWNER_PARAM) != owner:
        st.query_params[OWNER_PARAM] = owner
    return owner


@dataclass
class EventCache:
    """Events of one job read so far; the page asks the registry only for new ones."""

    job_id: str
    offset: int = 0
    events: list[dict] = field(default_factory=list)


def job_events(job_id: str) -> list[dict]:
    """All events of a job, reading only the new ones from the registry."""
    caches: dict[str, EventCache] = st.session_state.setdefault("event_caches", {})
    cache = caches.get(job_id)
    if cache is None:
        cache = caches[job_id] = EventCache(job_id)
    new, cache.offset = registry().events(job_id, cache.offset)
    cache.events.extend(new)
    return cache.events


def current_job(slot: str, kind: str) -> JobStatus | None:
    """The job this page shows: the one remembered in `slot`, else (after a reload) the
    owner's newest job of `kind` still in memory."""
    reg = registry()
    job_id = st.session_state.get(slot)
    if job_id:
        try:
            return reg.status(job_id)
        except Exception:
            st.session_state.pop(slot, None)
    mine = [j for j in reg.list(owner=owner_id()) if j.kind == kind]
    if mine:
        st.session_state[slot] = mine[0].id
        return mine[0]
    return None


def progress_text(status: JobStatus) -> str:
    pct = 100 * status.progress
    took = f" in {status.elapsed_s:.1f} s" if status.elapsed_s is not None else ""
    if status.state == "queued":
        return "Queued: waiting for the device to be free…"
    if status.state == "running":
        eta = f", about {status.eta_s:.0f} s left" if status.eta_s is not None else ""
        return f"Running: {pct:.0f}%{eta}"
    if status.state == "done":
        return f"Done{took}"
    if status.state == "cancelled":
        return f"Cancelled at {pct:.1f}%{took}"
    return f"Failed{took}"
