"""Data folders typed by a visitor stay under the roots the operator names: refused by
name, resolved with links and '..', scanned with a bound, and no name outside shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clr_core.errors import ClrError, ConfigError
from clr_core.setup import data, data_roots
from clr_core.setup.configs import RangeTestConfig


@pytest.fixture
def roots(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "pets" / "cats").mkdir(parents=True)
    (root / "pets" / "dogs").mkdir()
    for i in range(3):
        (root / "pets" / "cats" / f"{i}.png").write_bytes(b"x")
        (root / "pets" / "dogs" / f"{i}.png").write_bytes(b"x")
    secret = tmp_path / "secret"
    (secret / "topsecret_class").mkdir(parents=True)
    monkeypatch.setenv("CLR_STUDIO_DATA", str(root))
    monkeypatch.delenv(data_roots.ALLOW_ENV, raising=False)
    return root, secret


@pytest.mark.parametrize("typed", ["/root", "/etc", "../..", "/proc/self", "/usr", "~",
                                   "pets/../../secret", "/", "//etc", "pets/../.."])
def test_a_folder_outside_the_roots_is_refused_by_name(roots, typed, monkeypatch):
    touched = []
    monkeypatch.setattr(os.path, "realpath", lambda *a, **k: touched.append(a) or a[0])
    with pytest.raises(data_roots.FolderRefused, match="outside the folders this server") as e:
        data_roots.confine(typed)
    assert not touched  # judged by name: the disk was not looked at
    for name in ("topsecret", ".ssh", "passwd", "bin", str(roots[0])):
        assert name not in str(e.value)  # not even where the allowed roots are
    status = data.dataset_status("image_folder", typed)
    assert "outside the folders this server" in status
    with pytest.raises(ConfigError, match="outside the folders"):
        RangeTestConfig.from_dict({"dataset": "image_folder", "data_root": typed})
    with pytest.raises(ConfigError, match="outside the folders"):
        data.load_dataset("image_folder", root=typed)
    with pytest.raises(ConfigError, match="outside the folders"):  # torchvision roots too
        data.load_dataset("mnist", root=typed, download=True)


def test_a_link_that_leads_out_is_refused_after_resolving(roots):
    root, secret = roots
    (root / "sneaky").symlink_to(secret)
    with pytest.raises(data_roots.FolderRefused):
        data_roots.confine(str(root / "sneaky"))
    assert "topsecret" not in data.dataset_status("image_folder", "sneaky")


def test_inside_the_roots_relative_and_allow_list(roots, tmp_path, monkeypatch):
    root, secret = roots
    assert data_roots.confine("pets") == (root / "pets").resolve()
    assert data_roots.confine(str(root / "pets" / ".." / "pets")) == (root / "pets").resolve()
    assert data.dataset_status("image_folder", "pets") == "2 class folder(s), 6 file(s) in pets in the data root."
    monkeypatch.setenv(data_roots.ALLOW_ENV, f"{secret}{os.pathsep}/nonexistent")
    assert data_roots.confine(str(secret)) == secret.resolve()


def test_the_scan_is_bounded_and_cached(roots):
    root, _ = roots
    big = root / "big"
    for c in range(3):
        (big / f"c{c}").mkdir(parents=True)
        for i in range(50):
            (big / f"c{c}" / f"{i}.png").write_bytes(b"")
    scan = data_roots.scan_folder(data_roots.confine("big"), max_entries=60)
    assert not scan.complete and scan.files < 60
    first = data_roots.scan_folder(data_roots.confine("big"))
    assert first.complete and first.files == 150
    (big / "c0" / "new.png").write_bytes(b"")
    assert data_roots.scan_folder(data_roots.confine("big")) is first  # cached


def test_errors_from_a_folder_never_list_what_is_in_it(roots):
    root, _ = roots
    for name in (".cache", ".ssh", "notes"):
        (root / "home" / name).mkdir(parents=True)
    with pytest.raises(ClrError) as e:
        data.load_dataset("image_folder", root="home")
    assert ".ssh" not in str(e.value) and ".cache" not in str(e.value)
    assert isinstance(Path(data_roots.allowed_roots()[0]), Path)
