"""The README is a five-minute read and the rest lives in docs/ (issue 30, item 6).

The README was split at commit 1affe69: what it said then is kept in
``tests/fixtures/readme_1affe69.md``, and every heading, table row, code line and prose
paragraph of it must still be said, word for word, in README.md or a docs/*.md file. A link
may point somewhere new (its text may not change) and a heading may change level; the few
words a move made wrong are in ``REWORDED``; nothing else. Editing a moved fact on purpose
means editing it in the fixture in the same commit.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BEFORE = ROOT / "tests" / "fixtures" / "readme_1affe69.md"
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")

#: Words the move made wrong, as they were -> as they are: "below" in a section that now
#: lives in another file than the one it pointed at.
REWORDED = {
    "chosen by the suggestion benchmark below;": "chosen by the suggestion benchmark;",
}


def _unlinked(text: str) -> str:
    """``[text](target)`` as ``text``: a moved section's links point elsewhere now, and a
    phrase may become a link."""
    return _LINK.sub(r"\1", text)


def _before() -> str:
    text = BEFORE.read_text(encoding="utf-8")
    for old, new in REWORDED.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return _unlinked(text)


def _units(markdown: str) -> list[tuple[str, str]]:
    """(kind, text) for each heading, table row, code line and prose paragraph, in order."""
    units: list[tuple[str, str]] = []
    paragraph: list[str] = []
    fence = False

    def flush() -> None:
        if paragraph:
            units.append(("prose", " ".join(" ".join(paragraph).split())))
            paragraph.clear()

    for line in markdown.splitlines():
        if line.startswith("```"):
            flush()
            fence = not fence
        elif fence:
            if line.strip():
                units.append(("code", line.rstrip()))
        elif line.startswith("#"):
            flush()
            units.append(("heading", line.lstrip("#").strip()))
        elif line.startswith("|"):
            flush()
            units.append(("row", line.rstrip()))
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.strip())
    flush()
    return units


def _now() -> dict[str, set[str] | str]:
    """What README.md and docs/*.md say now: heading texts, table rows and code lines as
    sets, prose as one whitespace-collapsed text (a paragraph may be rewrapped)."""
    headings: set[str] = set()
    rows: set[str] = set()
    code: set[str] = set()
    prose: list[str] = []
    for path in [README, *DOCS]:
        for kind, text in _units(_unlinked(path.read_text(encoding="utf-8"))):
            {"heading": headings, "row": rows, "code": code}.get(kind, set()).add(text)
            if kind == "prose":
                prose.append(text)
    return {"heading": headings, "row": rows, "code": code, "prose": "\n".join(prose)}


def test_nothing_the_readme_said_before_the_split_is_lost():
    now = _now()
    missing = [f"{kind}: {text[:120]}"
               for kind, text in _units(_before())
               if text not in now[kind]]
    assert not missing, "said before the split, now nowhere:\n" + "\n".join(missing)


def test_the_check_notices_a_lost_table_row(tmp_path):
    """The check reads tables and prose, not only headings: one row or sentence dropped is
    reported."""
    before = _units(BEFORE.read_text(encoding="utf-8"))
    row = next(text for kind, text in before if kind == "row" and "CLR_STUDIO_DB" in text)
    assert ("row", row) in before
    edited = _units(BEFORE.read_text(encoding="utf-8").replace(row + "\n", ""))
    assert ("row", row) not in edited
    prose = next(text for kind, text in before if kind == "prose" and "winner's curse" in text)
    assert ("prose", prose) not in _units(BEFORE.read_text(encoding="utf-8")
                                          .replace("(the winner's curse)", "(luck)"))


def test_the_readme_is_short_and_links_every_doc():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    linked = set(re.findall(r"\]\((docs/[\w./-]+\.md)\)", text))
    assert {f"docs/{p.name}" for p in DOCS} <= linked


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_and_image_resolves(path):
    """Each relative link or image in README.md and docs/ names a file that exists, and an
    ``#anchor`` one of that file's headings (GitHub's slugs)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        assert dest.exists(), f"{path.name}: {target} names no file"
        if anchor:
            slugs = {_slug(h) for h in re.findall(r"^#+ (.*)$", re.sub(
                r"```.*?```", "", dest.read_text(encoding="utf-8"), flags=re.S), flags=re.M)}
            assert anchor in slugs, f"{path.name}: {target}: no such heading in {dest.name}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_screenshots_are_small_and_1280_wide():
    from PIL import Image  # Pillow comes with streamlit; only this test reads images

    text = README.read_text(encoding="utf-8")
    shots = re.findall(r"!\[[^\]]+\]\((docs/img/[\w.-]+\.png)\)", text)
    assert {"docs/img/range_test.png", "docs/img/designer.png"} <= set(shots)
    for shot in shots:
        path = ROOT / shot
        assert path.stat().st_size <= 250_000, f"{shot}: {path.stat().st_size} bytes"
        with Image.open(path) as image:
            assert image.width == 1280


def test_the_readme_library_example_runs():
    """The ten lines under "The library in ten lines" run as written, on a small model and
    loader standing in for "your model, your loader": the summary names the recommendation,
    the figure is the page's, and the scheduler drives the optimizer to the recommended peak."""
    import torch
    from torch import nn

    from clr_core.present.summary import RangeTestSummary

    section = README.read_text().split("## The library in ten lines", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    torch.manual_seed(0)
    x, y = torch.randn(512, 10), torch.randint(0, 3, (512,))
    scope = {"model": nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3)),
             "loader": torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                                   batch_size=32)}
    exec(compile(code, "README.md", "exec"), scope)
    result, rec, scheduler = scope["result"], scope["rec"], scope["scheduler"]
    summary = result.summary()
    assert isinstance(summary, RangeTestSummary) and summary.recommendation is rec
    assert any(t.name and "recommended" in t.name for t in result.plot().data)
    lrs = []
    for _ in range(10_000):
        lrs.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    assert max(lrs) == pytest.approx(rec.max_lr, rel=1e-3)


def test_the_readme_confirm_example_runs():
    """The Confirm example under "How far to trust the recommendation" runs as written on a
    small model (its budget cut from 1,000 to 120 steps to keep the test short): the pick is
    a peak that was trained at the full budget, and it cost the trainings it says."""
    import torch
    from torch import nn

    from clr_core.range_test import run_range_test

    section = README.read_text().split("## How far to trust the recommendation", 1)[1]
    code = re.search(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S).group(1)
    assert "budget=1000" in code
    torch.manual_seed(0)
    x, y = torch.randn(640, 10), torch.randint(0, 3, (640,))
    data = torch.utils.data.TensorDataset
    loader = torch.utils.data.DataLoader(data(x[:512], y[:512]), batch_size=32)
    val_loader = torch.utils.data.DataLoader(data(x[512:], y[512:]), batch_size=64)

    def make_model():
        return nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))

    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=0.9)
    result = run_range_test(model, optimizer, nn.CrossEntropyLoss(), loader, end_lr=10,
                            num_iter=60)
    scope = {"torch": torch, "make_model": make_model, "result": result, "loader": loader,
             "val_loader": val_loader}
    exec(compile(code.replace("budget=1000", "budget=120"), "README.md", "exec"), scope)
    confirmed = scope["confirmed"]
    full = [t.peak for t in confirmed.trials if t.fraction == 1.0]
    assert confirmed.best_peak in full
    assert confirmed.cost_in_trainings == pytest.approx(4.0, abs=0.05)
