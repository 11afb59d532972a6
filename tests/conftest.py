"""Test-wide settings: a throw-away run store and data folder, so tests never touch the
user's and can't see each other's leftovers across sessions."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="clr_studio_tests_"))
os.environ["CLR_STUDIO_DB"] = str(_tmp / "runs.db")
os.environ["CLR_STUDIO_DATA"] = str(_tmp / "data")
# pytest's tmp_path folders hold the tests' image folders: allowed like an operator would
os.environ["CLR_STUDIO_DATA_ROOTS"] = os.path.realpath(tempfile.gettempdir())
# Job workers at the tests' own priority: the suite keeps both cores busy (pytest-xdist), and
# a worker in the idle class below it would wait for a free core, so a job's time limit
# would measure the machine. The tests of the priority itself set these where they look.
os.environ["CLR_STUDIO_WORKER_IDLE"] = "0"
os.environ["CLR_STUDIO_WORKER_NICE"] = "0"

# Property tests judge behaviour, not time (a shared 2-core machine is slow and noisy), and a
# failure prints its blob (@reproduce_failure) so it can be replayed anywhere. Locally
# ("clr", the default) each run draws new examples, so the search goes on; in CI (CI=true)
# the draws are derandomized and no example database is kept, so a run that changed nothing
# a test covers can't turn red: what a local search finds is kept as an @example in the test.
# `pytest --hypothesis-profile=search` looks harder (2000 examples a test), once, by hand.
from hypothesis import settings  # noqa: E402

# Hypothesis loads its own "ci" profile wherever a CI variable is set at all (CI=false too),
# and a profile inherits the one loaded: each starts from Hypothesis' defaults instead.
_defaults = settings.get_profile("default")
settings.register_profile("clr", _defaults, deadline=None, print_blob=True)
settings.register_profile("ci", _defaults, deadline=None, print_blob=True, derandomize=True,
                          database=None)
settings.register_profile("search", settings.get_profile("clr"), max_examples=2000)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "clr")


import pytest  # noqa: E402

from clr_core.settings import clear_settings_cache  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Each test parses the CLR_STUDIO_* settings afresh (get_settings already re-reads a
    changed environment; this also drops what a test parsed, so none leaks into the next)."""
    clear_settings_cache()
    yield
    clear_settings_cache()


@pytest.fixture(autouse=True)
def _no_job_left_over():
    """End and forget the jobs a test left in the app's registry (one per test process,
    shared by every AppTest page; their runs stay in the store). A page opened by the next
    test would otherwise show that job as its person's own (a reloaded tab shows its
    person's newest job: its Start waits, its error is shown) and count a running one
    against the person's jobs at once (``Limits.jobs_per_person``)."""
    yield
    jobs = sys.modules.get("ui.jobs")
    if jobs is None:  # no page ran in this process yet: no registry to end jobs in
        return
    registry = jobs.registry()
    for job in registry.list():
        if not job.is_terminal:
            registry.cancel(job.id)
        if registry.wait(job.id, timeout=120).is_terminal:
            registry.forget(job.id)
