"""The import paths users write keep working: every `clr_core` import in the code of the
README and of docs/*.md, and the flat module paths that scripts written before the layered
layout import."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Earlier flat paths and a name each script would take from them.
FLAT_PATHS = {
    "clr_core.schedules": "make_schedule",
    "clr_core.range_test": "run_range_test",
    "clr_core.train": "run_training",
    "clr_core.recommend": "combine_recommended",
    "clr_core.suggestions": "suggest_all",
    "clr_core.store": "RunStore",
    "clr_core.plugins": "load_plugins",
}


def _readme_imports() -> list[str]:
    """Each `import`/`from ... import` line of the README's and docs' Python blocks that
    names clr_core, and each dotted `clr_core.x.y(...)` reference in their comments, as an
    import statement."""
    text = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))])
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    lines = []
    for block in blocks:
        for line in block.splitlines():
            stripped = line.strip()
            if re.match(r"(from|import) clr_core\b", stripped):
                lines.append(stripped)
            for module, name in re.findall(r"\b(clr_core(?:\.\w+)+)\.(\w+)\(", stripped):
                if not stripped.startswith(("from", "import")):
                    lines.append(f"from {module} import {name}")
    return lines


def _run_fresh(code: str) -> subprocess.CompletedProcess:
    """In a fresh interpreter, so nothing imported by this test session helps."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_the_readme_names_imports_to_check() -> None:
    found = _readme_imports()
    assert any("clr_core.range_test" in line for line in found)
    assert any("clr_core.recommend" in line for line in found)


def test_every_clr_core_import_in_the_readme_works() -> None:
    code = "\n".join(_readme_imports())
    done = _run_fresh(code)
    assert done.returncode == 0, done.stderr


def test_every_flat_path_still_imports_its_names_from_their_one_home() -> None:
    """One fresh interpreter for all of them (each would pay torch's import again)."""
    code = ("import importlib\nfailed = []\n"
            f"for path, name in {sorted(FLAT_PATHS.items())!r}:\n"
            "    try:\n"
            "        obj = getattr(importlib.import_module(path), name)\n"
            "        home = importlib.import_module(obj.__module__)\n"
            "        assert getattr(home, obj.__name__) is obj, f'{name} is a copy'\n"
            "    except Exception as e:\n"
            "        failed.append(f'{path}.{name}: {type(e).__name__}: {e}')\n"
            "print('\\n'.join(failed))\n")
    done = _run_fresh(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", done.stdout


def test_a_moved_module_is_the_module_that_now_holds_it() -> None:
    done = _run_fresh("import clr_core.recommend as old, clr_core.suggest.recommend as new\n"
                      "assert old is new\nassert new.__spec__.name == 'clr_core.suggest.recommend'\n"
                      "import pickle\nassert pickle.loads(pickle.dumps(old.combine_recommended))"
                      " is new.combine_recommended")
    assert done.returncode == 0, done.stderr


def test_an_unknown_flat_path_still_fails_as_python_would() -> None:
    done = _run_fresh("import clr_core.no_such_module")
    assert done.returncode != 0
    assert "ModuleNotFoundError" in done.stderr
