"""The schedules' docstrings carry each family's formula and a doctest with exact small
outputs (optax's style); this runs them, so a formula's example that stops matching the
code fails here. Every registered policy is shown in one of them."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re

import pytest

import clr_core.schedules as schedules
from clr_core.schedules import POLICIES

MODULES = sorted(f"clr_core.schedules.{m.name}" for m in pkgutil.iter_modules(schedules.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_hold(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_every_policy_has_a_formula_and_an_example():
    """Each policy's family module shows it run (``make_schedule("name"``) in a ``>>>`` line
    of its docstring, and the ramp modifier too."""
    shown = set()
    for name in MODULES:
        doc = importlib.import_module(name).__doc__ or ""
        examples = "\n".join(line for line in doc.splitlines() if line.startswith((">>>", "...")))
        shown |= set(re.findall(r'make_schedule\("(\w+)"', examples))
        if "ramp_steps=" in examples:
            shown.add("ramp")
    assert set(POLICIES) | {"ramp"} <= shown, sorted(set(POLICIES) | {"ramp"} - shown)
