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
