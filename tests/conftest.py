"""Test-wide settings: a throw-away run store and data folder, so tests never touch the
user's and can't see each other's leftovers across sessions."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="clr_studio_tests_"))
os.environ["CLR_STUDIO_DB"] = str(_tmp / "runs.db")
os.environ["CLR_STUDIO_DATA"] = str(_tmp / "data")
# pytest's tmp_path folders hold the tests' image folders: allowed like an operator would
os.environ["CLR_STUDIO_DATA_ROOTS"] = os.path.realpath(tempfile.gettempdir())

# A shared 2-core CI machine is slow and noisy: property tests judge behaviour, not time.
from hypothesis import settings  # noqa: E402

settings.register_profile("clr", deadline=None, print_blob=True)
settings.load_profile("clr")


import pytest  # noqa: E402

from clr_core.settings import clear_settings_cache  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Each test parses the CLR_STUDIO_* settings afresh (get_settings already re-reads a
    changed environment; this also drops what a test parsed, so none leaks into the next)."""
    clear_settings_cache()
    yield
    clear_settings_cache()
