"""Server folders in a message are named by their role, never by where they lie."""

from __future__ import annotations

import os
import string
import sysconfig
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from clr_core.redact import known_roots, scrub_paths
from clr_core.runs.connection import default_db_path
from clr_core.setup.data_roots import allowed_roots

HOME = str(Path.home())


def test_a_missing_data_set_names_the_data_root_not_its_path(monkeypatch, tmp_path):
    root = tmp_path / "data"
    monkeypatch.setenv("CLR_STUDIO_DATA", str(root))
    msg = f"Dataset not found at {root}/MNIST/raw. Looked in: {root} (data root {root})."
    out = scrub_paths(msg)
    assert out == ("Dataset not found at <data root>/MNIST/raw. Looked in: <data root> "
                   "(data root <data root>).")


def test_the_default_data_root_under_home_is_named_not_home(monkeypatch):
    monkeypatch.delenv("CLR_STUDIO_DATA", raising=False)
    out = scrub_paths(f"FileNotFoundError: {HOME}/.cache/clr_studio/MNIST/raw/train.pt")
    assert out == "FileNotFoundError: <data root>/MNIST/raw/train.pt"


def test_the_run_store_its_folder_and_a_store_passed_by_the_caller(monkeypatch, tmp_path):
    db = tmp_path / "store" / "runs.db"
    monkeypatch.setenv("CLR_STUDIO_DB", str(db))
    busy = f"the run store is busy ({db}: database is locked)"
    assert scrub_paths(busy) == "the run store is busy (<run store>: database is locked)"
    assert scrub_paths(f"{db}-wal missing") == "<run store folder>/runs.db-wal missing"
    other = tmp_path / "elsewhere.sqlite"
    assert scrub_paths(f"cannot open {other}", {other: "<run store>"}) == "cannot open <run store>"
    assert scrub_paths(f"uri file://{db}?mode=ro") == "uri file://<run store>?mode=ro"


def test_python_the_app_tmp_and_home(monkeypatch):
    monkeypatch.delenv("CLR_STUDIO_DATA_ROOTS", raising=False)  # the tests allow tmp
    site = sysconfig.get_paths()["purelib"]
    tb = f'File "{site}/torch/nn/modules/module.py", line 1'
    assert scrub_paths(tb) == 'File "<site-packages>/torch/nn/modules/module.py", line 1'
    app = Path(__file__).resolve().parents[1]
    assert scrub_paths(f"{app}/clr_core/x.py") == "<app>/clr_core/x.py"
    tmp = tempfile.gettempdir()
    assert scrub_paths(f"{tmp}/pytest-of-x/a") == "<tmp>/pytest-of-x/a"
    monkeypatch.setenv("CLR_STUDIO_DATA", "/nonexistent-data-root")
    assert scrub_paths(f"{HOME}/notes.txt") == "~/notes.txt"


def test_a_name_that_only_starts_like_a_root_is_left_alone(monkeypatch, tmp_path):
    root = tmp_path / "ab"
    monkeypatch.setenv("CLR_STUDIO_DATA", str(root))
    for text in (f"{root}c/x", f"{root}.bak", f"/x{root}", f"{root}-old"):
        assert "<data root>" not in scrub_paths(text), text
    assert scrub_paths(f"at {root}.") == "at <data root>."  # a full stop ends the sentence


def test_a_symlinked_root_is_named_by_its_real_path_too(monkeypatch, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.setenv("CLR_STUDIO_DATA", str(link))
    assert scrub_paths(f"{real}/MNIST and {link}/MNIST") == "<data root>/MNIST and <data root>/MNIST"


def test_the_roots_are_the_ones_the_data_and_store_modules_use(monkeypatch, tmp_path):
    """This low layer repeats the defaults of clr_core.setup.data_roots and
    clr_core.runs.connection: held equal here, for set and unset variables."""
    for env in ({}, {"CLR_STUDIO_DATA": str(tmp_path / "d"), "CLR_STUDIO_DB": str(tmp_path / "r.db"),
                     "CLR_STUDIO_DATA_ROOTS": os.pathsep.join([str(tmp_path / "x"), str(tmp_path / "y")]),
                     "XDG_DATA_HOME": str(tmp_path / "xdg")},
                {"XDG_DATA_HOME": str(tmp_path / "xdg")}):
        for name in ("CLR_STUDIO_DATA", "CLR_STUDIO_DB", "CLR_STUDIO_DATA_ROOTS", "XDG_DATA_HOME"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        roots = known_roots()
        assert roots[os.path.abspath(default_db_path())] == "<run store>"
        data = [str(p) for p in allowed_roots()]
        assert roots[data[0]] == "<data root>"
        for i, extra in enumerate(data[1:], start=1):
            assert roots[extra] == f"<allowed data folder {i}>"


_NAME = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=12)


@given(st.lists(_NAME, min_size=1, max_size=4), st.sampled_from(["", ".", ")", "'", ": x"]))
def test_no_known_root_survives_in_a_path_under_it(parts, tail):
    for root in {HOME, tempfile.gettempdir(), sysconfig.get_paths()["purelib"]}:
        out = scrub_paths(f"error at {os.path.join(root, *parts)}{tail}")
        assert out.startswith(("error at <", "error at ~")), out
        assert not out.startswith(f"error at {root}"), out
