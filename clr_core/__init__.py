"""CLR Studio's library: learning-rate schedules, range tests, training runs, jobs and runs.

Importable and testable without Streamlit; the app's pages only draw what it returns.
The subpackages are the layers, each importing only those below it (the contract in
pyproject.toml, checked by ``lint-imports`` in the test command; see docs/architecture.md):

    cli, lessons             the command line and the Learn page's lessons
    cli_files                the CLI's --schedule and --json files
    range_test, train        the public entry points: the engine, recorded when asked
    jobs                     background jobs and their runners
    runs, setup              the run store and recording | what a config builds
    present                  a result in words and figures (the summary, plots, tables)
    engine                   the training loop, range test, training, events, results
    suggest                  pure (lrs, losses) -> suggested learning rates
    schedules                pure, vectorised learning-rate schedules
    validation, jsonsafe     checks of user input | the one JSON convention
    launch                   where the app is (found by its files, never imported)
    errors                   the exception family

Paths that scripts written against the earlier flat layout import (``clr_core.recommend``,
``clr_core.suggestions``, ``clr_core.store``, ``clr_core.plugins``) resolve to the module
that now holds those names: the same module object, not a copy.

``__all__`` is what users call: the entry points (``range_test.run_range_test``,
``train.run_training``), the schedules, the suggestion rules, the integrations and trackers,
the operator settings and the exception family. Every other module is the app's plumbing:
importable, but private, and free to change.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

__all__ = [
    "__version__",
    "errors",
    "integrations",
    "range_test",
    "schedules",
    "settings",
    "suggest",
    "train",
    "trackers",
]

#: The package's version, as pyproject.toml gives it.
__version__ = "0.1.0"

#: Earlier flat module paths and the module (or package) that holds their names now.
MOVED_MODULES = {
    "clr_core.recommend": "clr_core.suggest.recommend",
    "clr_core.suggestions": "clr_core.suggest",
    "clr_core.store": "clr_core.runs",
    "clr_core.plugins": "clr_core.setup.plugins",
}


class _MovedModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an import of an earlier path with the module that holds its names now."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(MOVED_MODULES[spec.name])
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module):
        # The import system set the alias's spec on the shared module; give it its own back.
        module.__spec__ = module.__spec__.loader_state


if not any(isinstance(f, _MovedModule) for f in sys.meta_path):
    sys.meta_path.append(_MovedModule())
