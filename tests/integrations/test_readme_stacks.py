"""The "Use it with Lightning / Hugging Face" examples of docs/integrations.md (the README's
until issue 30 moved them), run as written (each block in a fresh interpreter, against a
throw-away run store): each records its runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clr_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


def _blocks() -> list[str]:
    text = (ROOT / "docs" / "integrations.md").read_text()
    start = text.index("## Use it with Lightning / Hugging Face")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end != -1 else len(text)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_section_has_one_example_per_stack():
    blocks = _blocks()
    assert len(blocks) == 2
    assert "clr_core.integrations.lightning" in blocks[0]
    assert "clr_core.integrations.huggingface" in blocks[1]


@pytest.mark.parametrize(("index", "labels"), [
    (0, {"my Lightning range test": "range_test", "my Lightning fit": "train"}),
    (1, {"my Hugging Face run": "train"}),
], ids=["lightning", "huggingface"])
def test_the_readme_example_runs_and_records(tmp_path, index, labels):
    db = tmp_path / "runs.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLR_STUDIO_DB": str(db),
           "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _blocks()[index]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = {r.label: r for r in RunStore(db).list_runs()}
    assert {k: r.kind for k, r in runs.items()} == labels
    assert {r.status for r in runs.values()} == {"done"}
    if index == 0:
        assert "max_lr" in done.stdout
    else:
        assert "'lr_scheduler_type': 'cosine'" in done.stdout
