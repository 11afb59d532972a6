"""Data sets load offline, fail with a message that says where and how, and batch
deterministically. No test touches the network."""

import struct
import sys
import urllib.error

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from clr_core.errors import ConfigError, DatasetUnavailable
from clr_core.setup import data, image_data


# --------------------------------------------------------------------------- digits
def test_digits_offline_fixed_split():
    a = data.load_dataset("digits")
    b = data.load_dataset()
    assert a.name == "digits" and a.input_shape == (1, 8, 8) and a.num_classes == 10
    assert a.classes == [str(i) for i in range(10)]
    assert (len(a.train), len(a.val)) == (1437, 360)
    for x, y in ((a.train, b.train), (a.val, b.val)):
        assert torch.equal(x.tensors[0], y.tensors[0]) and torch.equal(x.tensors[1], y.tensors[1])
    x, y = a.train[0]
    assert x.shape == (1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    train_x = a.train.tensors[0]
    assert abs(float(train_x.mean())) < 1e-4 and abs(float(train_x.std()) - 1) < 1e-3
    # stratified: every class has its share (about 20%) in validation
    val_counts = torch.bincount(a.val.tensors[1], minlength=10)
    all_counts = val_counts + torch.bincount(a.train.tensors[1], minlength=10)
    assert torch.all((val_counts - 0.2 * all_counts).abs() <= 1)
    assert data.dataset_status("digits").startswith("Bundled")


def test_digits_val_fraction():
    b = data.load_dataset("digits", val_fraction=0.5)
    assert abs(len(b.val) - 898) <= 1
    with pytest.raises(ConfigError, match="val_fraction"):
        data.load_dataset("digits", val_fraction=1.0)


def test_unknown_dataset():
    with pytest.raises(ConfigError, match="unknown data set"):
        data.load_dataset("imagenet")


# --------------------------------------------------------------------------- torchvision
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "cifar100"])
def test_missing_torchvision_set_names_the_path(tmp_path, name):
    with pytest.raises(DatasetUnavailable) as info:
        data.load_dataset(name, root=tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg
    assert "download=True" in msg and "Download if missing" in msg
    assert "by hand" in msg and "http" in msg
    assert "Not on disk" in data.dataset_status(name, root=tmp_path)
    assert tmp_path.name in data.dataset_status(name, root=tmp_path)  # relative to its root


def test_data_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv(image_data.DATA_ROOT_ENV, str(tmp_path / "envroot"))
    assert image_data.data_root() == tmp_path / "envroot"
    with pytest.raises(DatasetUnavailable, match="envroot"):
        data.load_dataset("mnist")
    monkeypatch.delenv(image_data.DATA_ROOT_ENV)
    if sys.platform.startswith("linux"):  # unset: the XDG cache folder, ~/.cache by default
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert image_data.data_root() == tmp_path / "home" / ".cache" / "clr_studio"
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert image_data.data_root() == tmp_path / "xdg" / "clr_studio"


@pytest.mark.parametrize("name,cls", [("mnist", "MNIST"), ("cifar10", "CIFAR10")])
def test_failed_download_is_dataset_unavailable(tmp_path, monkeypatch, name, cls):
    def offline(self):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(getattr(torchvision.datasets, cls), "download", offline)
    with pytest.raises(DatasetUnavailable) as info:
        data.load_dataset(name, root=tmp_path, download=True)
    msg = str(info.value)
    assert "could not be downloaded" in msg and "name resolution" in msg
    assert str(tmp_path) in msg


def _write_idx(path, array: np.ndarray) -> None:
    """IDX format: two zero bytes, type 0x08 (uint8), ndim, big-endian dims, data."""
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, array.ndim]))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_mnist(tmp_path):
    """A 20 + 10 image MNIST in torchvision's layout, so the on-disk path runs offline."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 10)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return tmp_path


def test_mnist_from_disk(fake_mnist):
    assert data.dataset_status("mnist", root=fake_mnist).startswith("On disk")
    b = data.load_dataset("mnist", root=fake_mnist)
    assert (len(b.train), len(b.val)) == (20, 10)
    assert b.input_shape == (1, 28, 28) and b.num_classes == 10
    x, y = b.train[3]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and int(y) == 3
    raw = torchvision.datasets.MNIST(str(fake_mnist), train=True).data[3].float() / 255
    assert torch.allclose(x[0], (raw - 0.1307) / 0.3081)
    batch = next(iter(data.make_loader(b.train, 8, shuffle=False)))  # batched __getitems__
    assert torch.equal(batch[0][3], x) and batch[1].tolist() == list(range(8))
    small = data.load_dataset("mnist", root=fake_mnist, image_size=14, augment=True)
    assert small.input_shape == (1, 14, 14) and small.train[0][0].shape == (1, 14, 14)
    assert next(iter(data.make_loader(small.train, 4)))[0].shape == (4, 1, 14, 14)


def test_unreadable_files_say_so(fake_mnist):
    (fake_mnist / "MNIST" / "raw" / "t10k-images-idx3-ubyte").write_bytes(b"garbage")
    with pytest.raises(DatasetUnavailable, match="could not be read") as info:
        data.load_dataset("mnist", root=fake_mnist)
    assert str(fake_mnist / "MNIST" / "raw") in str(info.value)


# --------------------------------------------------------------------------- image folder
def _png(path, color, size=(10, 12)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def test_image_folder_split(tmp_path):
    for i in range(5):
        _png(tmp_path / "cats" / f"{i}.png", (200, 10 * i, 0))
        _png(tmp_path / "dogs" / f"{i}.png", (0, 10 * i, 200), size=(7, 9))
    b = data.load_dataset("image_folder", root=tmp_path, image_size=16)
    assert b.classes == ["cats", "dogs"] and b.num_classes == 2
    assert b.input_shape == (3, 16, 16)
    assert len(b.train) + len(b.val) == 10 and len(b.val) == 2
    assert sorted(int(b.val[i][1]) for i in range(len(b.val))) == [0, 1]  # stratified
    x, _ = b.train[0]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32
    again = data.load_dataset("image_folder", root=tmp_path, image_size=16)
    assert list(again.val.indices) == list(b.val.indices)  # seeded split
    assert "2 class folder(s), 10 file(s)" in data.dataset_status("image_folder", tmp_path)


def test_image_folder_train_val_layout(tmp_path):
    for split, n in (("train", 3), ("val", 1)):
        for cls, color in (("a", "red"), ("b", "blue")):
            for i in range(n):
                _png(tmp_path / split / cls / f"{i}.png", color)
    b = data.load_dataset("image_folder", root=tmp_path)  # default size 32
    assert (len(b.train), len(b.val)) == (6, 2) and b.input_shape == (3, 32, 32)


def test_image_folder_missing_or_empty(tmp_path):
    with pytest.raises(DatasetUnavailable, match="does not exist"):
        data.load_dataset("image_folder", root=tmp_path / "nope")
    with pytest.raises(DatasetUnavailable, match="needs a folder"):
        data.load_dataset("image_folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetUnavailable, match="subfolder per class") as info:
        data.load_dataset("image_folder", root=tmp_path / "empty")
    assert f"{tmp_path.name}/empty in allowed folder 1" in str(info.value)  # relative to its root
    (tmp_path / "empty" / "only").mkdir()
    with pytest.raises(DatasetUnavailable):
        data.load_dataset("image_folder", root=tmp_path / "empty")


# --------------------------------------------------------------------------- loaders
def _order(loader):
    return [batch[1].tolist() for batch in loader]


def test_make_loader_is_seeded():
    ds = data.load_dataset("digits").train
    a, b = data.make_loader(ds, 64, seed=1), data.make_loader(ds, 64, seed=1)
    assert _order(a) == _order(b)
    assert _order(a) == _order(b)  # the second epoch too
    assert _order(data.make_loader(ds, 64, seed=2)) != _order(data.make_loader(ds, 64, seed=1))
    plain = data.make_loader(ds, 100, shuffle=False)
    assert _order(plain)[0] == ds.tensors[1][:100].tolist()
    assert len(data.make_loader(ds, 100, drop_last=True)) == len(ds) // 100


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8", None])
def test_make_loader_validates_batch_size(bad):
    ds = data.load_dataset("digits").val
    with pytest.raises(ConfigError, match="batch_size"):
        data.make_loader(ds, bad)


def test_make_loader_batch_larger_than_data():
    ds = data.load_dataset("digits").val
    with pytest.raises(ConfigError, match="no batches"):
        data.make_loader(ds, 10_000, drop_last=True)
    assert len(data.make_loader(ds, 10_000)) == 1


def test_the_text_set_ships_with_python_and_predicts_the_next_character():
    from clr_core.setup.data import dataset_status, load_dataset
    from clr_core.setup.text_data import VOCAB

    b = load_dataset("pydoc_text")
    x, y = b.train.tensors
    assert b.input_shape == (64,) and b.num_classes == len(VOCAB) == 96
    assert x.shape[1] == 64 and torch.equal(x[0, 1:], y[0, :-1])  # shifted by one character
    assert len(b.train) > 5000 and 0 < len(b.val) <= 256
    assert int(x.max()) < 96 and int(x.min()) >= 0
    assert "no download" in dataset_status("pydoc_text")
