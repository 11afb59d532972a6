"""The architecture is enforced, not described: the import contract in pyproject.toml holds and
catches what it is there to catch, modules stay small, and imports sit at the top of a module
(except optional dependencies, and heavy ones that only some paths use, loaded when used)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# one worker runs this file (pytest-xdist --dist loadgroup): its module fixtures start once
pytestmark = pytest.mark.xdist_group("layers")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "clr_core"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: The imports a function may make, and why. Optional dependencies; and heavy ones that a
#: top-level import would make every importer pay for (the designer's cold start, each worker
#: process, the CLI) while only some paths use them. Anything else goes at the top.
DEFERRED = {
    "ray": "optional: the Ray executor only",
    "kaleido": "optional: figure downloads only",
    "transformers": "optional: the Hugging Face export only",
    # clr_core.integrations.{lightning,huggingface} import their stack at the top of their own
    # module (only their users load them); schedulefree is loaded by its two optimizers only
    "schedulefree": "optional: the schedule-free optimizers (a baseline, lesson 9) only",
    "torch": "about 2 s to import; the schedule designer and its previews never need it",
    "torchvision": "about 2 s to import; only its data sets, image folders and ResNet-18",
    "sklearn": "about 1 s to import; only when digits or a split is first loaded",
    "pandas": "about 1 s to import; only tables need it, not the designer's first chart",
    "clr_core.schedules.torch_adapter": "Schedule.to_torch: loads torch (see above)",
}
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


@pytest.fixture(scope="module")
def lint_available() -> None:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} is missing: install requirements-dev.txt (import-linter)")


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "clr_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _prepend(path: Path, line: str) -> None:
    """Add an import right after the module's docstring and future import."""
    text = path.read_text()
    anchor = "from __future__ import annotations\n"
    assert anchor in text, path
    path.write_text(text.replace(anchor, anchor + line + "\n", 1))


def test_the_layer_contract_holds(lint_available) -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(lint_available, tmp_path) -> None:
    root = _copy(tmp_path)
    _prepend(root / "clr_core/engine/loop.py", "import clr_core.runs.store  # noqa")
    done = _lint(root)
    assert done.returncode != 0
    assert "clr_core.engine.loop -> clr_core.runs.store" in done.stdout


def test_a_circle_between_siblings_breaks_the_contract(lint_available, tmp_path) -> None:
    root = _copy(tmp_path)
    # registry imports types; the reverse closes a circle inside one layer
    _prepend(root / "clr_core/suggest/types.py", "import clr_core.suggest.registry  # noqa")
    done = _lint(root)
    assert done.returncode != 0
    assert "No circle" in done.stdout and "BROKEN" in done.stdout


@pytest.mark.parametrize("app_module", ["streamlit", "ui"])
def test_the_library_never_imports_the_app(lint_available, tmp_path, app_module) -> None:
    root = _copy(tmp_path)
    _prepend(root / "clr_core/present/plots.py", f"import {app_module}  # noqa")
    done = _lint(root)
    assert done.returncode != 0
    assert f"clr_core.present.plots -> {app_module}" in done.stdout


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_the_line_limit(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def _late_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    found += [(node.lineno, a.name) for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    found.append((node.lineno, node.module or "."))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_inside_functions_are_deferred_on_purpose_and_say_why(path: Path) -> None:
    lines = path.read_text().splitlines()
    for lineno, module in _late_imports(path):
        allowed = any(module == d or module.startswith(d + ".") for d in DEFERRED)
        assert allowed, f"{path.name}:{lineno} imports {module} inside a function"
        here = "".join(lines[max(0, lineno - 3):lineno])  # the line, or a comment just above
        assert "#" in here, f"{path.name}:{lineno}: say why {module} is imported late"


def test_the_designer_loads_without_torch() -> None:
    """The home page's cold start: what the designer imports never loads torch or torchvision."""
    code = ("import sys\n"
            "import clr_core.schedules, clr_core.schedules.rules, clr_core.schedules.exports\n"
            "import clr_core.schedules.presets, clr_core.present.plots\n"
            "import ui.designer_link, ui.designer_state, ui.schedule_form, ui.nav\n"
            "heavy = sorted(m for m in ('torch', 'torchvision', 'sklearn') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_subpackage_says_what_it_holds_and_may_import() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc) > 80, f"{init.relative_to(ROOT)} needs a docstring"
        if init.parent != PACKAGE and init.parent.name != "executors":
            assert "import" in doc.lower(), f"{init.relative_to(ROOT)}: say what it may import"
