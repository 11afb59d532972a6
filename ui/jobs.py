"""The one job registry and run store of this server, and per-session job bookkeeping.

Held by `st.cache_resource`, so every session shares one registry (one GPU queue) while
each person sees only their own jobs: the owner is who the server says the visitor is
(`ui.identity`; never the URL), so a reload or a second tab finds their running job.
Jobs run in worker processes (``CLR_STUDIO_EXECUTOR``, see clr_core.jobs.executors), so
the pages stay responsive while they train."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from clr_core.engine.events import EventTable
from clr_core.errors import ClrError, JobError, StoreError
from clr_core.jobs.executors.choose import EarlyExecutor
from clr_core.jobs.registry import JobRegistry
from clr_core.jobs.state import JobStatus
from clr_core.jsonsafe import json_safe
from clr_core.runs.store import RunStore
from clr_core.settings import SettingsError, env_name, get_settings
from ui import identity
from ui.text import shown

__all__ = [
    "NOT_READ",
    "POLL_S",
    "current_job",
    "ADMIN_ENV",
    "admin_mode",
    "check_settings",
    "is_running",
    "may_edit",
    "job_series",
    "job_slot",
    "live_job",
    "owner_id",
    "progress_text",
    "registry",
    "run_store",
    "show_store_notice",
    "start_cancel",
    "submit",
    "time_left_text",
    "warm_up",
]

logger = logging.getLogger(__name__)

SERIES_CACHED = 4  # jobs whose streamed columns a session keeps (the pages show one each)


def check_settings() -> None:
    """Stop the page with one message when an operator setting (``CLR_STUDIO_*``) holds a
    value it does not take: the variable, its value and what it takes, never a traceback.
    Checked before anything else on every run (the settings are parsed once, so it costs
    a lookup), so no page half-draws with a setting it cannot use."""
    try:
        get_settings()
    except SettingsError as exc:
        st.error(shown(f"CLR Studio cannot start: {exc}. The server's operator fixes "
                               "the variable and starts the server again."),
                 icon="⚙️")
        st.stop()


@st.cache_resource
def _open_store() -> RunStore:
    return RunStore()


def run_store() -> RunStore:
    """The server's run store; one that cannot even be opened is a message on the page
    (and is tried again on the next run), never a traceback."""
    try:
        return _open_store()
    except StoreError as exc:
        st.error(f"The run store cannot be opened: {shown(exc)}", icon="🗄️")
        st.stop()


run_store.clear = _open_store.clear  # type: ignore[attr-defined]  # as a cached resource


@st.cache_resource
def _early_executor() -> EarlyExecutor:
    return EarlyExecutor()


def warm_up() -> None:
    """Start the job worker as the server's first page is drawn (app.py, every run; a
    lookup once done): it imports torch and the engine meanwhile, so the first range test
    streams at once instead of after those imports. The registry, made later, takes it.
    A worker that cannot start here is only logged: the first job tries again and says why."""
    try:
        _early_executor().start()
    except (ClrError, OSError) as exc:
        logger.warning("the job worker could not be started ahead of the first job: %s", exc)


@st.cache_resource
def registry() -> JobRegistry:
    # imported on the first job: the engine's runners load torch (seconds on a loaded
    # server), which the home page, drawn through app.py before any job, never needs
    from clr_core.jobs.engine_jobs import engine_registry

    return engine_registry(store=run_store(), executor=_early_executor().take())


def show_store_notice() -> None:
    """Say so when the store file found at start could not be read and was set aside."""
    notice = run_store().notice
    if notice:
        st.warning(shown(notice), icon="🗄️")


#: Set to 1 by a server's operator: every visitor may rename and delete every run.
ADMIN_ENV = env_name("admin")


def admin_mode() -> bool:
    return get_settings().admin


def may_edit(store: RunStore, run_id: int) -> bool:
    """Whether this visitor may rename or delete a run: in local mode, always; in shared
    mode, the person who made it, or anyone in admin mode (others view and overlay it)."""
    if admin_mode():
        return True
    try:
        return identity.manages(store.owner_of(run_id))
    except StoreError:
        return False


def owner_id() -> str | None:
    """The owner of this visitor's jobs: who the server says they are (`ui.identity`);
    None for an anonymous visitor of a shared server, who starts no job."""
    return identity.current().owner


@dataclass
class SeriesCache:
    """A job's streamed events folded into columns as they arrive (`EventTable`), and how
    far into its event source this session has read."""

    offset: int = 0
    table: EventTable = field(default_factory=EventTable)


def job_series(job_id: str) -> EventTable:
    """A job's events as columns by (event kind, curve label), reading only the events
    that are new since the last poll."""
    return cached_series(job_id, lambda since: registry().events(job_id, since))


def cached_series(key: str, read: Callable[[int], tuple[list, int]]) -> EventTable:
    """`job_series` for any append-only event source: `read(offset) -> (new, offset)`
    (a job in this server, or a run another process records to the store)."""
    caches: dict[str, SeriesCache] = st.session_state.setdefault("series_caches", {})
    cache = caches.pop(key, None) or SeriesCache()
    caches[key] = cache  # newest last; finished jobs' columns leave with the oldest
    while len(caches) > SERIES_CACHED:
        caches.pop(next(iter(caches)))
    new, cache.offset = read(cache.offset)
    for event in new:
        cache.table.add(event)
    return cache.table


def current_job(slot: str, kind: str) -> JobStatus | None:
    """The job this page shows: the one remembered in `slot`, else (after a reload) the
    owner's newest job of `kind` still in memory."""
    reg = registry()
    job_id = st.session_state.get(slot)
    if job_id:
        try:
            return reg.status(job_id)
        except JobError:  # forgotten by the registry (e.g. the server restarted)
            st.session_state.pop(slot, None)
    owner = owner_id()
    mine = [j for j in reg.list(owner=owner) if j.kind == kind] if owner else []
    if mine:
        st.session_state[slot] = mine[0].id
        return mine[0]
    return None


def time_left_text(seconds: float | None) -> str:
    """An estimate of the time left (`clr_core.jobs.state.time_left`) as a person reads it:
    seconds under a minute and a half, then minutes, then hours and minutes; said to be an
    estimate, since it assumes the rest goes at the pace so far."""
    if seconds is None or not math.isfinite(seconds):
        return "estimating the time left…"
    if seconds < 90:
        return f"about {max(1, round(seconds))} s left"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60} min left"


def progress_text(status: JobStatus) -> str:
    pct = 100 * status.progress
    took = f" in {status.elapsed_s:.1f} s" if status.elapsed_s is not None else ""
    if status.state == "queued":
        return "Queued: waiting for the device to be free…"
    if status.state == "running":
        return f"Running: {pct:.0f}% · {time_left_text(status.eta_s)}"
    unsaved = " — not saved to the run store" if status.save_failed else ""
    if status.state == "done":
        return f"Done{took}{unsaved}"
    if status.state == "cancelled":
        return f"Cancelled at {pct:.1f}%{took}{unsaved}"
    return f"Failed{took}{unsaved}"


POLL_S = 0.5


def job_slot(prefix: str) -> str:
    """Where a page remembers its job id in session state."""
    return f"{prefix}.job"


#: ``job=`` not given: the function asks the registry itself. A page that polls its job
#: once per rerun (`current_job`) passes that snapshot down instead, so every part of the
#: page draws the same state and the registry is asked once.
NOT_READ: Any = object()


def is_running(prefix: str, kind: str, job: JobStatus | None = NOT_READ) -> bool:
    status = current_job(job_slot(prefix), kind) if job is NOT_READ else job
    return status is not None and not status.is_terminal


def start_cancel(prefix: str, kind: str, config: dict | None, *, label: str, device: str | None,
                 start_label: str, job: JobStatus | None = NOT_READ) -> None:
    """Start and Cancel buttons of a page's job. Cancel works by callback, outside the
    polling fragment, so it answers at once. ``job``: the page's snapshot of its job."""
    if not identity.current().may_act:  # a shared server's anonymous visitor: view only
        identity.explain_read_only(key=prefix)
        return
    running = is_running(prefix, kind, job)
    slot = job_slot(prefix)
    # Start waits while the person's job runs; but a click made while this tab showed no job
    # of its own is honoured even if this same rerun has just found one another tab of the
    # same person started (two tabs pressing Start at once both start).
    started_here = st.session_state.get(f"{slot}.started_here") == st.session_state.get(slot)
    clicked = bool(st.session_state.get(f"btn.{prefix}.start"))
    busy_here = running and (started_here or not clicked)
    b1, b2 = st.columns([3, 2])  # room for "Start range test" in a sidebar
    if b1.button(start_label, type="primary", disabled=config is None or busy_here,
                 key=f"btn.{prefix}.start", width="stretch"):
        try:
            submit(prefix, kind, config, label=label, device=device)
        except JobError as exc:  # a limit per person, a shut-down registry: said, not raised
            st.error(shown(exc), icon="🚦")
        else:
            st.rerun()
    b2.button("Cancel", disabled=not running, key=f"btn.{prefix}.cancel", width="stretch",
              on_click=lambda: registry().cancel(st.session_state[slot]))


def submit(prefix: str, kind: str, config: dict, *, label: str, device: str | None) -> str:
    """Start a job for this visitor; JobError when they may not (not signed in on a shared
    server) or a limit per person refuses it."""
    owner = owner_id()
    if owner is None:
        raise JobError("Sign in to start jobs: this is a shared server, and anonymous "
                       "visitors can only view runs.")
    job_id = registry().submit(kind, config, owner=owner, device=device or "cpu", label=label)
    st.session_state[job_slot(prefix)] = job_id
    st.session_state[f"{job_slot(prefix)}.started_here"] = job_id
    return job_id


def live_job(prefix: str, kind: str, *, noun: str, empty_hint: str,
             draw: Callable[[JobStatus], None], job: JobStatus | None = NOT_READ) -> None:
    """Poll the page's job in a fragment while it runs: progress, error, and `draw(job)`.
    When the job ends the whole page reruns once, to stop polling and show final results.
    ``job``: the page's snapshot of this rerun, drawn as it is; the fragment asks the
    registry again only on its own reruns (every `POLL_S` while the job runs)."""
    if job is NOT_READ:
        job = current_job(job_slot(prefix), kind)
    running = is_running(prefix, kind, job)
    snapshot = [job]  # the page's, for the fragment's first run in this page run

    @st.fragment(run_every=POLL_S if running else None)
    def view() -> None:
        job = snapshot.pop() if snapshot else current_job(job_slot(prefix), kind)
        if job is None:
            st.info(empty_hint, icon="👈")
            return
        st.progress(min(job.progress, 1.0), text=progress_text(job))
        if job.state == "failed":
            st.error(f"The {noun} failed: {shown(job.error)}", icon="🚫")
        if job.is_terminal and job.save_failed:
            unsaved(prefix, job)
        draw(job)
        if running and job.is_terminal:
            st.rerun()

    view()


def unsaved(prefix: str, job: JobStatus) -> None:
    """A finished job the store refused: say why, keep the result downloadable, retry."""
    st.warning(f"This run could not be saved to the run store ({shown(job.save_error)}). Its result "
               "is kept here until the server stops: download it, or retry once the store is "
               "writable again (it is retried when the next job ends, too).", icon="💾")
    c1, c2 = st.columns(2)
    c1.download_button("Download result (JSON)",
                       json.dumps(json_safe(job.result), indent=1, allow_nan=False),
                       f"{job.kind}_{job.id[:8]}.json", "application/json",
                       key=f"btn.{prefix}.unsaved_json", width="stretch")
    if c2.button("Retry saving", key=f"btn.{prefix}.retry_save", width="stretch"):
        if registry().retry_save(job.id):
            st.rerun()
        st.error("Still not saved: the run store refused it again.", icon="💾")
