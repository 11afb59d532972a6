"""The public surface (issue 30, item 6): ``__all__`` of `clr_core` and of each subpackage
lists what users call, and each name there imports and says what it is.

A module, class or function needs its own docstring (a dataclass's generated
``Name(field, ...)`` line is not one); a constant, which cannot carry one, needs a ``#:``
comment on the line above its assignment, the convention Sphinx's autodoc reads.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["clr_core", *sorted(f"clr_core.{p.parent.name}"
                                for p in (ROOT / "clr_core").glob("*/__init__.py"))]


def _public(package: str) -> list[tuple[str, object]]:
    """Each name of the package's ``__all__`` as ``from package import name`` gives it."""
    module = importlib.import_module(package)
    names = module.__all__
    assert len(names) == len(set(names)), f"{package}.__all__ names one twice"
    found = []
    for name in names:
        obj = getattr(module, name, None)
        if obj is None:  # a submodule not imported by the package itself
            obj = importlib.import_module(f"{package}.{name}")
        found.append((name, obj))
    return found


def _documented_constant(package: str, name: str) -> bool:
    """A ``#:`` comment right above ``name = ...`` or ``name: T = ...`` somewhere in the
    package's own files."""
    folder = ROOT / Path(*package.split("."))
    pattern = re.compile(rf"^#:[^\n]*\n{re.escape(name)}\s*[:=]", re.M)
    files = [folder / "__init__.py"] if package == "clr_core" else folder.rglob("*.py")
    return any(pattern.search(f.read_text(encoding="utf-8")) for f in files)


def _own_doc(obj: object) -> str:
    doc = obj.__doc__ if isinstance(obj, (ModuleType, type)) or callable(obj) else None
    doc = (doc or "").strip()
    if isinstance(obj, type) and doc.startswith(f"{obj.__name__}("):
        return ""  # the dataclass machinery's signature, not a docstring
    return doc


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_imports_and_says_what_it_is(package):
    undocumented = []
    for name, obj in _public(package):
        if isinstance(obj, (ModuleType, type)) or inspect.isroutine(obj) or callable(obj):
            if not _own_doc(obj):
                undocumented.append(f"{name} (no docstring)")
        elif not _documented_constant(package, name):
            undocumented.append(f"{name} (no '#:' comment above its assignment)")
    assert not undocumented, f"{package}: " + ", ".join(undocumented)


def test_the_public_surface_holds_the_names_the_readme_uses():
    """The library lines of the README and of docs/library.md call these; a narrower
    ``__all__`` that dropped one would mark a documented name private."""
    assert {"range_test", "train", "schedules", "suggest"} <= set(
        importlib.import_module("clr_core").__all__)
    assert {"make_schedule", "Schedule", "exports"} <= set(
        importlib.import_module("clr_core.schedules").__all__)
    assert {"combine_recommended", "suggest_all", "schedule_fit"} <= set(
        importlib.import_module("clr_core.suggest").__all__)


def test_the_check_refuses_a_bare_dataclass_and_an_undocumented_constant():
    from dataclasses import dataclass

    @dataclass
    class Bare:
        x: int

    assert _own_doc(Bare) == ""
    assert _own_doc(_public) != ""
    assert not _documented_constant("clr_core.suggest", "MIN_MARGIN_NO_SUCH_NAME")
    assert _documented_constant("clr_core.suggest", "SUGGESTERS")
