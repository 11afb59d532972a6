"""The "Use it on your own model" example of docs/integrations.md (the README's until issue
30 moved it), run as written: the script records a range test on its own model, and the CLI
line records one on the same factories."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from clr_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


def _section() -> str:
    text = (ROOT / "docs" / "integrations.md").read_text()
    start = text.index("## Use it on your own model")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def test_the_readme_example_records_runs_from_a_script_and_the_cli(tmp_path):
    section = _section()
    script = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    commands = re.search(r"```bash\n(.*?)```", section, re.S).group(1).splitlines()
    (tmp_path / "my_models.py").write_text(script)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLR_STUDIO_DB": str(tmp_path / "runs.db")}
    for line in commands:
        argv = shlex.split(line, comments=True)
        assert argv[0] == "python"
        proc = subprocess.run([sys.executable, *argv[1:]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
    store = RunStore(tmp_path / "runs.db")
    runs = {r.label: r for r in store.list_runs()}
    assert set(runs) == {"my model", "my model, CLI"}
    assert {r.status for r in runs.values()} == {"done"}
    script_run = store.load_run(runs["my model"].id)
    assert script_run.config["model"] == "Sequential"
    assert script_run.result["range_test"]["suggestions"]["valley"]["max_lr"] > 0
    assert store.load_run(runs["my model, CLI"].id).config["model"] == "my_models:make_model"
