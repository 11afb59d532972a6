"""The property tests' settings: random locally so every run searches further, derandomized
in CI (CI=true) so a run that changed nothing a test covers can't fail there; a failure
prints the blob that replays it. What a search finds stays in its test as an @example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

CONFTEST = Path(__file__).with_name("conftest.py")


def test_the_ci_profile_is_derandomized_without_a_database_and_the_local_one_random():
    ci, local = settings.get_profile("ci"), settings.get_profile("clr")
    assert ci.derandomize and ci.database is None and ci.print_blob and ci.deadline is None
    assert not local.derandomize and local.print_blob and local.deadline is None
    assert settings.get_profile("search").max_examples == 2000
    assert not settings.get_profile("search").derandomize


@pytest.mark.parametrize(("ci", "derandomized"), [("true", True), (None, False), ("false", False)])
def test_ci_true_in_the_environment_loads_the_ci_profile(ci, derandomized):
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": ci} if ci else {})
    code = ("import importlib.util, sys; from hypothesis import settings; "
            f"spec = importlib.util.spec_from_file_location('c', {str(CONFTEST)!r}); "
            "spec.loader.exec_module(importlib.util.module_from_spec(spec)); "
            "print(settings.default.derandomize, settings.default.database is None)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(derandomized), str(derandomized)]
