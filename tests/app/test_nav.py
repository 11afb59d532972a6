"""Page list invariants the browser relies on."""

from __future__ import annotations

from pathlib import Path

from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[2]


def test_every_url_path_is_its_files_stem_so_deep_links_resolve_on_first_load():
    for page in PAGES:
        assert (ROOT / page.path).is_file()
        assert page.url_path == Path(page.path).stem


def test_exactly_one_default_page_and_it_is_the_designer():
    defaults = [p for p in PAGES if p.default]
    assert [p.path for p in defaults] == ["pages/designer.py"]
